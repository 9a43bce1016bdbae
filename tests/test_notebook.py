"""Notebooks: IPython masking, cell mapping, the CLI on .ipynb files, --fix on notebook JSON."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from nnlint.config import Settings
from nnlint.notebook import NotebookProgram, check_notebook_text, mask_ipython

SETUP = [
    "!pip install torch\n",
    "import torch\n",
    "import torch.nn as nn\n",
    "import torch.nn.functional as F\n",
    "%matplotlib inline\n",
    "model = nn.Linear(4, 2)\n",
    "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n",
    "loader = [(torch.randn(8, 4), torch.randint(0, 2, (8,)))]",
]
LOOP = [
    "for x, y in loader:\n",
    "    out = model(x)\n",
    "    loss = F.cross_entropy(F.softmax(out, dim=1), y)\n",
    "    loss.backward()\n",
    "    optimizer.step()\n",
]


def cell(kind: str, source: object, **extra: object) -> dict:
    data = {"cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        data.update({"execution_count": None, "outputs": []})
    data.update(extra)
    return data


def notebook(*cells: dict) -> dict:
    return {
        "cells": list(cells),
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write(path: Path, nb: dict, indent: int = 1, newline: bool = True) -> str:
    text = json.dumps(nb, indent=indent, ensure_ascii=False) + ("\n" if newline else "")
    path.write_text(text, encoding="utf-8")
    return text


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nnlint", "check", *args], capture_output=True, text=True, timeout=60)


OUTPUTS = [{"output_type": "stream", "name": "stdout", "text": ["hello\n"]}]


def standard(tmp_path: Path, **kw: object) -> tuple[Path, str]:
    nb = notebook(
        cell("markdown", ["# Training\n", "Some text\n"]),
        cell("code", SETUP, execution_count=1, outputs=OUTPUTS),
        cell("code", "%%bash\necho hi\nls -la\n"),
        cell("code", LOOP, metadata={"tags": ["train"]}),
    )
    path = tmp_path / "nb.ipynb"
    return path, write(path, nb, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------ masking
def test_masking_keeps_other_lines_byte_identical() -> None:
    source = "x = 1\n%timeit f(x)\n!ls -la\nfiles = !ls\nmodel?\n??model\n  y = x  # what?\n"
    masked, lines = mask_ipython(source)
    out = masked.split("\n")
    assert out[0] == "x = 1"
    assert out[6] == "  y = x  # what?"  # a comment ending in ? is not help
    assert lines == frozenset({2, 3, 4, 5, 6})
    assert out[3] == "files = None"


def test_masking_respects_strings_and_brackets() -> None:
    source = 'doc = """\n!not a shell line\n%nor a magic\n"""\nz = (1\n     % 2)\n!echo hi\n'
    masked, lines = mask_ipython(source)
    assert lines == frozenset({7})
    assert masked.split("\n")[:6] == source.split("\n")[:6]
    ast.parse(masked)


def test_cell_magics_python_body_kept_other_bodies_masked() -> None:
    masked, lines = mask_ipython("%%time\nfor i in range(3):\n    print(i)\n")
    assert lines == frozenset({1})
    assert "for i in range(3):" in masked
    masked, lines = mask_ipython("%%bash\nfor i in 1 2; do echo $i; done\n")
    assert lines == frozenset({1, 2})
    ast.parse(masked)


def test_indented_magic_keeps_the_block_valid() -> None:
    masked, _ = mask_ipython("if True:\n    %time x = 1\n")
    ast.parse(masked)


# ------------------------------------------------------------------ program API
def test_program_maps_positions_both_ways() -> None:
    program = NotebookProgram.from_cells(
        [("a", "markdown", "# hi"), ("b", "code", "import torch\nx = 1"), ("c", "code", "y = 2\nz = 3\n")]
    )
    assert program.text == "import torch\nx = 1\ny = 2\nz = 3\n"
    assert program.to_cell(3, 4) == ("c", 1, 4)
    assert program.to_cell(2, 0) == ("b", 2, 0)
    assert program.from_cell("c", 2, 1) == (4, 1)
    assert program.from_cell("a", 1, 0) is None
    assert program.cell("c").position == 3


def test_program_analyses_cells_together_and_groups_findings() -> None:
    cells = [("setup", "code", "".join(SETUP)), ("md", "markdown", "text"), ("loop", "code", "".join(LOOP))]
    program = NotebookProgram.from_cells(cells)
    findings = program.check(Settings())
    by_code = {f.code: f for f in findings}
    assert set(by_code) == {"NN101", "NN301"}  # NN101 needs the optimizer from the first cell
    nn101 = by_code["NN101"]
    assert (nn101.cell, nn101.cell_id, nn101.span.line) == (3, "loop", 4)
    assert "line 5" in nn101.message and "loop at line 1" in nn101.message
    assert any(r.span.line == 7 and "(cell 1)" in r.message for r in nn101.related)
    grouped = NotebookProgram.from_cells(cells).findings_by_cell(
        __import__("nnlint.engine", fromlist=["x"]).check_source(program.text).findings
    )
    assert grouped["setup"] == [] and sorted(f.code for f in grouped["loop"]) == ["NN101", "NN301"]


def test_syntax_error_stays_in_its_cell() -> None:
    program = NotebookProgram.from_cells([("a", "code", "def f(:\n    pass\n"), ("b", "code", "".join(SETUP) + "\n" + "".join(LOOP))])
    findings = program.check(Settings())
    errors = [f for f in findings if f.code == "NN000"]
    assert len(errors) == 1 and errors[0].cell == 1 and errors[0].span.line == 1
    assert {"NN101", "NN301"} <= {f.code for f in findings}


# --------------------------------------------------------------------- CLI
def test_cli_json_has_cell_and_cell_relative_lines(tmp_path: Path) -> None:
    path, _ = standard(tmp_path)
    result = run_cli("--format", "json", str(path))
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    by_code = {d["code"]: d for d in data}
    assert set(by_code) == {"NN101", "NN301"}
    assert by_code["NN301"]["cell"] == 4 and by_code["NN301"]["line"] == 3 and by_code["NN301"]["column"] == 12
    assert by_code["NN101"]["cell"] == 4 and by_code["NN101"]["line"] == 4
    edit = by_code["NN301"]["fix"]["edits"][0]
    assert (edit["line"], edit["end_line"], edit["new_text"]) == (3, 3, "out")


def test_cli_text_format_names_the_cell(tmp_path: Path) -> None:
    path, _ = standard(tmp_path)
    result = run_cli(str(path))
    assert f"{path}:cell 4:3:12: NN301" in result.stdout
    assert f"{path}:cell 4:4:5: NN101" in result.stdout


def test_cli_fix_rewrites_only_sources(tmp_path: Path) -> None:
    path, before = standard(tmp_path)
    result = run_cli("--fix", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    after = path.read_text(encoding="utf-8")
    old, new = json.loads(before), json.loads(after)
    assert new["cells"][3]["source"] == [
        "for x, y in loader:\n",
        "    optimizer.zero_grad()\n",
        "    out = model(x)\n",
        "    loss = F.cross_entropy(out, y)\n",
        "    loss.backward()\n",
        "    optimizer.step()\n",
    ]
    for index in (0, 1, 2):
        assert new["cells"][index] == old["cells"][index]
    assert new["cells"][3]["metadata"] == {"tags": ["train"]} and new["metadata"] == old["metadata"]
    # same style as nbformat: indent=1, trailing newline, nothing else moved
    assert after == json.dumps(new, indent=1, ensure_ascii=False) + "\n"
    assert run_cli(str(path)).returncode == 0


@pytest.mark.parametrize("indent,newline", [(2, False), (4, True)])
def test_cli_fix_keeps_indent_and_final_newline(tmp_path: Path, indent: int, newline: bool) -> None:
    path, _ = standard(tmp_path, indent=indent, newline=newline)
    assert run_cli("--fix", str(path)).returncode == 0
    after = path.read_text(encoding="utf-8")
    assert after == json.dumps(json.loads(after), indent=indent, ensure_ascii=False) + ("\n" if newline else "")


def test_cli_fix_with_string_source(tmp_path: Path) -> None:
    nb = notebook(cell("code", "".join(SETUP) + "\n" + "".join(LOOP)))
    path = tmp_path / "s.ipynb"
    write(path, nb)
    assert run_cli("--fix", str(path)).returncode == 0
    source = json.loads(path.read_text())["cells"][0]["source"]
    assert isinstance(source, str) and "optimizer.zero_grad()" in source and "F.softmax" not in source


def test_cli_diff_writes_nothing(tmp_path: Path) -> None:
    path, before = standard(tmp_path)
    result = run_cli("--diff", str(path))
    assert result.returncode == 1
    assert '+    "    optimizer.zero_grad()\\n",' in result.stdout
    assert path.read_text(encoding="utf-8") == before


def test_fix_spanning_two_cells_is_dropped() -> None:
    # The NN101 fix inserts into the loop's cell; pretend its edits reach the previous cell.
    from nnlint.findings import Edit, Fix, Span

    program = NotebookProgram.from_cells([("a", "code", "x = 1\n"), ("b", "code", "y = 2\n")])
    fix = Fix("t", (Edit(Span(1, 0, 1, 1), "z"), Edit(Span(2, 0, 2, 1), "w")))
    assert program.map_fix(fix) is None
    single = program.map_fix(Fix("t", (Edit(Span(2, 0, 2, 1), "w"),)))
    assert single is not None and single[1].edits[0].span.line == 1 and single[1].cell_id == "b"


def test_fix_never_touches_a_masked_magic_line() -> None:
    from nnlint.findings import Edit, Fix, Span

    program = NotebookProgram.from_cells([("a", "code", "!ls\nx = 1\n")])
    assert program.map_fix(Fix("t", (Edit(Span(1, 0, 1, 3), "pass"),))) is None


def test_invalid_notebook_json_is_nn000(tmp_path: Path) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_text("{not json", encoding="utf-8")
    result = run_cli("--format", "json", str(path))
    data = json.loads(result.stdout)
    assert data[0]["code"] == "NN000" and "not a valid notebook" in data[0]["message"]


def test_non_python_kernel_is_skipped() -> None:
    nb = notebook(cell("code", "".join(SETUP) + "\n" + "".join(LOOP)))
    nb["metadata"] = {"kernelspec": {"language": "R", "name": "ir"}}
    findings, _, _ = check_notebook_text(json.dumps(nb), "r.ipynb", Settings())
    assert findings == []


def test_overfit_lens_and_edit_land_in_the_loop_cell() -> None:
    from nnlint.fixes import apply_edits
    from nnlint.overfit import MARKER_START

    cells = [("setup", "code", "".join(SETUP)), ("md", "markdown", "text"), ("loop", "code", "".join(LOOP))]
    program = NotebookProgram.from_cells(cells)
    ((cell_id, line, title, args),) = program.overfit_lenses()
    assert (cell_id, line, title) == ("loop", 1, "Overfit one batch first")
    assert args["optimizer"] == "optimizer" and args["loader"] == "loader"
    where, edit = program.overfit_edit(args["line"])  # type: ignore[misc, arg-type]
    assert where == "loop" and edit.span.line == 1
    new_cell = apply_edits("".join(LOOP), [edit])
    assert new_cell.startswith(MARKER_START) and new_cell.endswith("".join(LOOP))
    again = NotebookProgram.from_cells([cells[0], cells[1], ("loop", "code", new_cell)])
    assert again.overfit_lenses() == []
    assert not [f for f in again.check(Settings(select=("NN501",)))]


def test_fix_keeps_crlf_notebook_json(tmp_path: Path) -> None:
    path, before = standard(tmp_path)
    path.write_bytes(before.replace("\n", "\r\n").encode("utf-8"))
    assert run_cli("--fix", str(path)).returncode == 0
    after = path.read_bytes().decode("utf-8")
    assert "\n" not in after.replace("\r\n", "")
    assert "optimizer.zero_grad()" in after
    assert json.loads(after)["cells"][1] == json.loads(before)["cells"][1]
