"""Folder walking: Python files and notebooks, minus always-skipped folders and
.gitignore-style excludes (own, nested, and parents' up to the repository root)."""

from __future__ import annotations

from pathlib import Path

from nnlint.walk import IgnoreRules, collect_files


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n", encoding="utf-8")


def found(root: Path, *args: Path) -> list[str]:
    files, missing = collect_files(list(args) or [root])
    assert not missing
    return sorted(p.resolve().relative_to(root.resolve()).as_posix() for p in files)


def test_skips_usual_non_source_folders(tmp_path: Path) -> None:
    touch(
        tmp_path,
        "train.py", "stubs.pyi", "nb.ipynb", "README.md", "setup.cfg",
        ".git/hooks/x.py", ".venv/lib/site.py", "venv/a.py", "node_modules/pkg/x.py", "build/lib/x.py",
        "dist/x.py", "__pycache__/x.py", "pkg.egg-info/x.py", ".tox/x.py", "src/pkg/mod.py",
    )
    assert found(tmp_path) == ["nb.ipynb", "src/pkg/mod.py", "stubs.pyi", "train.py"]


def test_gitignore_patterns(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text(
        "# comment\n"
        "generated_*.py\n"
        "/top_only.py\n"
        "data/\n"
        "docs/**/conf.py\n"
        "**/scratch\n"
        "logs/*.py\n"
        "!logs/keep.py\n"
        "\\#weird.py\n",
        encoding="utf-8",
    )
    touch(
        tmp_path,
        "generated_a.py", "src/generated_b.py", "keep.py",
        "top_only.py", "src/top_only.py",
        "data/x.py", "src/data/y.py",
        "docs/conf.py", "docs/a/b/conf.py", "docs/a/other.py",
        "scratch/s.py", "a/b/scratch/s.py",
        "logs/drop.py", "logs/keep.py", "logs/sub/deep.py",
        "#weird.py",
    )
    assert found(tmp_path) == [
        "docs/a/other.py", "keep.py", "logs/keep.py", "logs/sub/deep.py", "src/top_only.py",
    ]


def test_nested_gitignore_overrides_and_is_scoped(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.gen.py\n", encoding="utf-8")
    touch(tmp_path, "a.gen.py", "sub/b.gen.py", "sub/c.py", "sub/d.py", "other/d.py")
    (tmp_path / "sub" / ".gitignore").write_text("!b.gen.py\nd.py\n", encoding="utf-8")
    assert found(tmp_path) == ["other/d.py", "sub/b.gen.py", "sub/c.py"]


def test_parent_gitignore_applies_up_to_the_repository_root(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".gitignore").write_text("src/gen/\n*_pb2.py\n", encoding="utf-8")
    touch(repo, "src/ok.py", "src/gen/x.py", "src/msg_pb2.py")
    assert found(tmp_path, repo / "src") == ["repo/src/ok.py"]
    # Above the repository root nothing is read.
    (tmp_path / ".gitignore").write_text("*.py\n", encoding="utf-8")
    assert found(tmp_path, repo / "src") == ["repo/src/ok.py"]


def test_explicit_files_are_always_checked_and_deduplicated(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("ignored.py\n", encoding="utf-8")
    touch(tmp_path, "ignored.py", "script", "a.py")
    files, missing = collect_files([tmp_path / "ignored.py", tmp_path / "script", tmp_path, tmp_path / "a.py"])
    assert [p.name for p in files] == ["ignored.py", "script", "a.py"]
    _, missing = collect_files([tmp_path / "nope.py"])
    assert missing == [str(tmp_path / "nope.py")]


def test_an_explicit_skipped_folder_is_walked(tmp_path: Path) -> None:
    touch(tmp_path, "build/gen.py")
    assert found(tmp_path, tmp_path / "build") == ["build/gen.py"]


def test_ignore_rules_unit() -> None:
    rules = IgnoreRules(Path("/r"), ["*.py", "!keep.py", "dir/", "a/**/b", "trailing   "])
    assert rules.ignored(Path("/r/x/y.py"), False)
    assert not rules.ignored(Path("/r/keep.py"), False)
    assert rules.ignored(Path("/r/q/dir"), True) and not rules.ignored(Path("/r/q/dir"), False)
    assert rules.ignored(Path("/r/a/b"), True) and rules.ignored(Path("/r/a/x/y/b"), False)
    assert rules.ignored(Path("/r/trailing"), False)
    assert not rules.ignored(Path("/elsewhere/x.py"), False)


def test_symlink_loops_do_not_hang(tmp_path: Path) -> None:
    touch(tmp_path, "pkg/a.py")
    (tmp_path / "pkg" / "loop").symlink_to(tmp_path, target_is_directory=True)
    assert found(tmp_path) == ["pkg/a.py"]


def test_folder_globs_read_as_git_does(tmp_path: Path) -> None:
    """`a/**` ignores what is inside `a`, not `a` itself, so a later `!` can re-include;
    `x/**/` ignores the folders inside `x` but not its files; `*/` ignores every folder."""
    (tmp_path / ".gitignore").write_text("a/**\n!a/keep.py\nx/**/\n", encoding="utf-8")
    touch(tmp_path, "a/drop.py", "a/keep.py", "x/top.py", "x/sub/deep.py", "y/z.py")
    assert found(tmp_path) == ["a/keep.py", "x/top.py", "y/z.py"]
    rules = IgnoreRules(Path("/r"), ["*/"])
    assert rules.ignored(Path("/r/q"), True) and not rules.ignored(Path("/r/q.py"), False)


def test_a_folder_named_on_the_command_line_is_walked_even_if_a_parent_ignores_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".gitignore").write_text("generated/\n", encoding="utf-8")
    touch(repo, "generated/a.py", "src/b.py")
    assert found(tmp_path, repo) == ["repo/src/b.py"]
    assert found(tmp_path, repo / "generated") == ["repo/generated/a.py"]
