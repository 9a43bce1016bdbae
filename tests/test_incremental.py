"""`nnlint.incremental`: the spliced tree equals a full parse, over many random edits of
real files (the ecosystem trees, the corpus, the examples), and the parser falls back
(None) whenever it cannot be sure."""

from __future__ import annotations

import ast
import random
import warnings
from pathlib import Path

import pytest
from helpers import real_files

from nnlint.incremental import IncrementalParser, split_lines

ROOT = Path(__file__).resolve().parents[1]


def full_parse(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes in the real files
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def dump(tree: ast.AST) -> str:
    return ast.dump(tree, include_attributes=True)


SNIPPETS = [
    "x = 1\n", "    y = 2\n", "def f():\n", "    return 3\n", "(\n", ")\n", '"""\n', "'''\n", "\\\n",
    "@decorator\n", "class C:\n", "\n", "# comment\n", "    # indented comment\n", "if x:\n", "else:\n",
    "a = 1; b = 2\n", "z = [1,\n", "     2]\n", "from __future__ import annotations\n", "\tx = 1\n",
    "print('é')\r\n", "lambda: (yield)\n", "match x:\n", "    case 1:\n", "        pass\n",
]


def random_edit(lines: list[str], rng: random.Random) -> list[str]:
    """One edit as an editor makes them: a character typed or deleted, a line inserted,
    deleted, duplicated, moved or re-indented, a block pasted."""
    lines = list(lines)
    at = rng.randrange(len(lines) + 1)
    kind = rng.randrange(9)
    if kind == 0 and at < len(lines):  # type or delete a character
        line = lines[at]
        column = rng.randrange(len(line)) if line else 0
        if rng.random() < 0.5 and line.rstrip("\r\n"):
            lines[at] = line[:column] + line[column + 1 :] if line[column:column + 1] not in "\r\n" else line
        else:
            lines[at] = line[:column] + rng.choice("abx1 (:)[]'\"#\\,.=") + line[column:]
    elif kind == 1:  # insert a snippet
        lines.insert(at, rng.choice(SNIPPETS))
    elif kind == 2 and lines:  # delete a range of lines
        del lines[at : at + rng.randint(1, 4)]
    elif kind == 3 and lines:  # duplicate a line elsewhere
        lines.insert(at, lines[rng.randrange(len(lines))])
    elif kind == 4 and at < len(lines):  # indent or dedent
        line = lines[at]
        lines[at] = "    " + line if rng.random() < 0.5 or not line.startswith("    ") else line[4:]
    elif kind == 5 and lines:  # paste a block from elsewhere in the file
        begin = rng.randrange(len(lines))
        lines[at:at] = lines[begin : begin + rng.randint(1, 12)]
    elif kind == 6 and at + 1 < len(lines):  # join two lines
        lines[at : at + 2] = [lines[at].rstrip("\r\n") + " " + lines[at + 1]]
    elif kind == 7 and at < len(lines):  # Enter in the middle of a line
        line = lines[at]
        column = rng.randrange(len(line.rstrip("\r\n")) + 1)
        lines[at : at + 1] = [line[:column] + "\n", line[column:]]
    else:  # replace a line by another line of the file
        if lines and at < len(lines):
            lines[at] = lines[rng.randrange(len(lines))]
    return lines


def check_session(text: str, rng: random.Random, steps: int) -> tuple[int, int]:
    """Edit `text` `steps` times as the server sees it: the parser keeps the last text that
    parsed; every answer must equal a full parse. (incremental answers, fallbacks on a
    text that parses)."""
    parser = IncrementalParser()
    tree = full_parse(text)
    if tree is None:
        return 0, 0
    parser.remember(text, tree)
    good = split_lines(text)
    current = good
    hits = misses = 0
    for _ in range(steps):
        # edit the current text (broken or not), or go back to the last good one (undo)
        base = current if rng.random() < 0.5 else good
        current = random_edit(base, rng) if base else [rng.choice(SNIPPETS)]
        new_text = "".join(current)
        expected = full_parse(new_text)
        got = parser.parse(new_text)
        if got is not None:
            assert expected is not None, f"incremental tree for a text that does not parse:\n{new_text}"
            assert dump(got) == dump(expected), f"incremental tree differs from a full parse:\n{new_text}"
            hits += 1
        elif expected is not None:  # a fallback for a text that parses
            misses += 1
            parser.remember(new_text, expected)
        if expected is not None:
            good = current
    return hits, misses


@pytest.mark.parametrize("seed", range(4))
def test_random_edits_of_real_files_equal_a_full_parse(seed: int) -> None:
    rng = random.Random(seed)
    hits = misses = 0
    files = real_files(60, seed)
    assert files, "no Python files to edit"
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        h, m = check_session(text, rng, 25)
        hits, misses = hits + h, misses + m
    # the point of it: most edits of real files that parse are spliced, not parsed in full
    print(f"spliced {hits}, parsed in full {misses}")
    assert hits > 2 * misses


def test_unchanged_text_returns_the_same_tree() -> None:
    text = "import torch\n\nx = torch.zeros(3)\n"
    parser = IncrementalParser()
    tree = ast.parse(text)
    parser.remember(text, tree)
    assert parser.parse(text) is tree


def test_statements_outside_the_edit_are_reused_and_shifted() -> None:
    text = "a = 1\n\ndef f():\n    return 2\n\nb = 3\nc = 4\n"
    parser = IncrementalParser()
    tree = ast.parse(text)
    parser.remember(text, tree)
    edited = text.replace("    return 2\n", "    x = 5\n    return x\n")
    got = parser.parse(edited)
    assert got is not None and dump(got) == dump(ast.parse(edited))
    assert got.body[0] is tree.body[0]  # before the edit: the very node
    assert got.body[-1] is tree.body[-1] and got.body[-1].lineno == 8  # after it: moved down a line
    assert parser.last is not None and parser.last.parsed == 1


def test_an_indented_line_after_a_block_joins_that_block() -> None:
    text = "if x:\n    a()\n\n\nb()\n"
    parser = IncrementalParser()
    parser.remember(text, ast.parse(text))
    edited = "if x:\n    a()\n\n    c()\nb()\n"
    got = parser.parse(edited)
    assert got is not None and dump(got) == dump(ast.parse(edited))


def test_falls_back_when_the_region_does_not_parse_alone() -> None:
    text = "a = 1\nb = 2\nc = 3\nd = 4\n"
    parser = IncrementalParser()
    parser.remember(text, ast.parse(text))
    # the string opened on line 2 closes on line 4: fine as a whole, not as a region
    edited = 'a = 1\nb = """\nc = 3\nd = """\n'
    assert parser.parse(edited) is None
    assert parser.parse("a = 1\nb = (\nc = 3\nd = 4\n") is None


def test_grammar_changing_future_import_is_never_spliced() -> None:
    text = "from __future__ import barry_as_FLUFL\nx = 1\ny = 2\n"
    parser = IncrementalParser()
    parser.remember(text, ast.parse(text))
    assert parser.parse(text.replace("y = 2", "y = 3")) is None


def test_crlf_lines() -> None:
    text = "a = 1\r\n\r\ndef f():\r\n    return 2\r\n\r\nb = 3\r\n"
    parser = IncrementalParser()
    parser.remember(text, ast.parse(text))
    edited = text.replace("b = 3", "b = 4\r\nc = 5")
    got = parser.parse(edited)
    assert got is not None and dump(got) == dump(ast.parse(edited))


def analysis_files() -> list[Path]:
    """Training code with findings: the examples, the corpus cases, some ecosystem files."""
    found = sorted((ROOT / "examples").glob("*.py"))
    corpus = Path("/work/shared/corpus/cases")
    if corpus.is_dir():
        found += sorted(corpus.glob("*.py"))[:15]
    found += [path for path in real_files(200, 7) if "train" in path.name][:10]
    return found


def test_findings_on_spliced_trees_equal_a_full_analysis() -> None:
    """The analysis of a spliced tree (reused nodes carry what the previous analyses cached
    on them, shifted line numbers) reports exactly what a full analysis reports."""
    from nnlint.config import Settings
    from nnlint.engine import check_source

    settings = Settings()
    rng = random.Random(13)
    spliced = compared = 0
    for path in analysis_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        tree = full_parse(text)
        if tree is None:
            continue
        parser = IncrementalParser()
        first = check_source(text, str(path), settings, verify_fixes=False, tree=tree)
        parser.remember(text, tree)
        assert first.findings == check_source(text, str(path), settings, verify_fixes=False).findings
        lines = split_lines(text)
        for _ in range(6):
            edited = random_edit(lines, rng)
            new_text = "".join(edited)
            got = parser.parse(new_text)
            if got is None:
                whole = full_parse(new_text)
                if whole is not None:
                    parser.remember(new_text, whole)
                    lines = edited
                continue
            lines = edited
            spliced += 1
            incremental = check_source(new_text, str(path), settings, verify_fixes=False, tree=got)
            full = check_source(new_text, str(path), settings, verify_fixes=False)
            assert incremental.findings == full.findings, f"{path}: findings differ after an edit"
            compared += len(full.findings)
    assert spliced > 20 and compared > 50  # edits of code that has findings
