"""Units of the server that need no client: the typed diagnostic data, the client
capabilities, file URIs read by pygls, and the "disable for this line" edit written with
the engine's suppression grammar."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as t
from pygls.uris import to_fs_path

from nnlint.engine import parse_suppressions, suppression_comments
from nnlint.findings import Finding, Related, Severity, Span
from nnlint.source import SourceFile
from nnlint.server import convert, crossfile
from nnlint.server.capabilities import ClientCapabilities
from nnlint.server.convert import DiagnosticData, FastPositionCodec, FixData
from nnlint.server.features.code_actions import disable_edit


def _range(line: int, start: int, end: int) -> t.Range:
    return t.Range(start=t.Position(line=line, character=start), end=t.Position(line=line, character=end))


def _diagnostic() -> t.Diagnostic:
    finding = Finding(
        "NN203",
        "the message",
        Severity.WARNING,
        Span(3, 4, 3, 9),
        related=[Related(Span(1, 0, 1, 5), "the note")],
    )
    lines = ["a = 1\n", "b = 2\n", "    call()\n", "    more()\n"]
    return convert.finding_to_diagnostic(finding, "file:///x.py", FastPositionCodec(), lines, 7, None, 2)


def test_diagnostic_data_round_trips_through_json() -> None:
    fix = FixData("Add it", (t.TextEdit(range=_range(2, 9, 9), new_text=", x"),))
    data = DiagnosticData(version=3, index=1, fix=fix, notebook_result=5)
    wire = data.to_json()
    assert wire == {
        "version": 3,
        "index": 1,
        "fix": {
            "title": "Add it",
            "edits": [{"range": {"start": {"line": 2, "character": 9}, "end": {"line": 2, "character": 9}}, "newText": ", x"}],
        },
        "notebookResult": 5,
    }
    assert DiagnosticData.from_json(wire) == data
    assert "notebookResult" not in DiagnosticData(version=3).to_json()  # text documents do not carry it


@pytest.mark.parametrize(
    "wire",
    [None, [], "x", {"version": True, "index": "0"}, {"fix": {"title": "t"}}, {"fix": {"title": "t", "edits": [{}]}}],
)
def test_malformed_data_from_a_client_reads_as_empty_fields(wire: object) -> None:
    data = DiagnosticData.from_json(wire)
    assert data.version is None and data.index is None and data.fix is None


def test_without_fix_and_shift_keep_every_other_field() -> None:
    diagnostic = _diagnostic()
    assert DiagnosticData.of(diagnostic).fix is None and DiagnosticData.of(diagnostic).index == 2
    with_fix = convert.with_data(
        diagnostic, DiagnosticData(7, 2, FixData("t", (t.TextEdit(range=_range(2, 0, 0), new_text="x"),)))
    )
    stripped = convert.without_fix(with_fix)
    assert DiagnosticData.of(stripped) == DiagnosticData(7, 2)
    assert (stripped.message, stripped.code, stripped.range) == (diagnostic.message, diagnostic.code, diagnostic.range)
    moved = convert.shift(with_fix, first_line=2, delta=3)
    assert moved.range == _range(5, 4, 9)
    assert moved.related_information[0].location.range == _range(0, 0, 5)  # before the change: not moved
    assert moved.related_information[0].message == "the note"
    assert (moved.data, moved.code_description, moved.severity) == (with_fix.data, with_fix.code_description, with_fix.severity)


def test_client_capabilities_are_resolved_once_into_flags() -> None:
    assert ClientCapabilities.resolve(t.ClientCapabilities()) == ClientCapabilities()
    caps = t.ClientCapabilities(
        workspace=t.WorkspaceClientCapabilities(
            configuration=True,
            workspace_edit=t.WorkspaceEditClientCapabilities(document_changes=True),
            diagnostics=t.DiagnosticWorkspaceClientCapabilities(refresh_support=True),
            code_lens=t.CodeLensWorkspaceClientCapabilities(refresh_support=False),
            did_change_watched_files=t.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True),
        ),
        text_document=t.TextDocumentClientCapabilities(
            diagnostic=t.DiagnosticClientCapabilities(),
            hover=t.HoverClientCapabilities(content_format=[t.MarkupKind.PlainText]),
        ),
    )
    assert ClientCapabilities.resolve(caps) == ClientCapabilities(
        pull_diagnostics=True,
        diagnostic_refresh=True,
        code_lens_refresh=False,
        workspace_configuration=True,
        document_changes=True,
        watched_files_registration=True,
        hover_markdown=False,
    )


@pytest.mark.parametrize(
    "uri",
    ["file:///home/me/a%20b/train.py", "file:///c%3A/x/y.py", "file:///C:/x/y.py", "file://server/share/x.py"],
)
def test_file_uris_are_read_by_pygls(uri: str) -> None:
    """The server reads a file URI as pygls does (its documents' `.path` too): a Windows
    drive letter (VS Code sends `file:///c%3A/...`) becomes `c:/...`, not `/c:/...`."""
    assert crossfile.fs_path(uri) == Path(to_fs_path(uri))


def test_a_windows_drive_letter_uri_is_not_read_as_a_posix_root() -> None:
    assert str(crossfile.fs_path("file:///c%3A/x/y.py")).replace("\\", "/") == "c:/x/y.py"
    assert crossfile.fs_path("untitled:Untitled-1") is None


@pytest.mark.parametrize(
    ("line", "code", "expected"),
    [
        ("x = f(y)\n", "NN203", "x = f(y)  # nnlint: disable=NN203\n"),
        ("x = f(y)  # nnlint: disable=NN101\n", "NN203", "x = f(y)  # nnlint: disable=NN101,NN203\n"),
        ("x = f(y)  # nnlint:Disable = NN101 , nn102  # why\n", "NN203", "x = f(y)  # nnlint:Disable = NN101 , nn102,NN203  # why\n"),
        ("x = f(y)  # noqa: NN101\n", "NN203", "x = f(y)  # noqa: NN101  # nnlint: disable=NN203\n"),
        ("x = f(y)  # nnlint: disable-file=NN101\n", "NN203", "x = f(y)  # nnlint: disable-file=NN101  # nnlint: disable=NN203\n"),
        ("x = f(y)  # nnlint: disable=nn203\n", "NN203", None),
        ("x = f(y) + \\\n", "NN203", None),
    ],
)
def test_disable_edit_extends_the_comment_the_engine_reads(line: str, code: str, expected: str | None) -> None:
    line = line.rstrip("\n")  # as convert.split_lines gives them
    expected = expected.rstrip("\n") if expected is not None else None
    edit = disable_edit(FastPositionCodec(), [line], 0, code)
    if expected is None:
        assert edit is None
        return
    assert edit is not None
    column = edit.range.start.character
    fixed = line[:column] + edit.new_text + line[column:]
    assert fixed == expected
    # and the engine now hides the code on that line
    assert parse_suppressions(SourceFile(fixed)).hides(Finding(code, "m", Severity.WARNING, Span(1, 0, 1, 1)))


def test_suppression_comments_give_each_code_its_columns() -> None:
    line = "y = g(x)  # noqa: NN999, nn203  # nnlint: disable-file=NN1\n"
    comments = suppression_comments(line)
    assert [(c.kind, c.bare) for c in comments] == [("noqa", False), ("disable-file", False)]
    assert [(code, line[start:end]) for code, start, end in comments[0].codes] == [("NN999", "NN999"), ("NN203", "nn203")]
    assert suppression_comments("z = 1  # noqa\n")[0].bare
    assert suppression_comments("z = 1\n") == []


def test_related_line_links_point_at_the_line_or_at_the_cell() -> None:
    from nnlint.server.features.hover import line_link

    assert line_link("file:///home/me/train.py", 12) == "file:///home/me/train.py#L12"
    cell = "vscode-notebook-cell:/home/me/nb.ipynb#W2sZmlsZQ%3D%3D"
    assert line_link(cell, 3) == cell  # the fragment names the cell; a second one would break the link
