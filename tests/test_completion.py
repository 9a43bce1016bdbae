"""Shell completion scripts are generated from the parser and work in a real bash."""

import shutil
import subprocess
import sys

import pytest

from nnlint.cli import build_parser
from nnlint.completion import script


def test_scripts_mention_every_check_option_and_rule_codes() -> None:
    parser = build_parser()
    for shell in ("bash", "zsh", "fish"):
        text = script(shell, parser)
        for option in ("--format", "--fix", "--diff", "--select", "--ignore"):
            assert option.lstrip("-") in text, (shell, option)
        assert "NN101" in text


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_completes_options_formats_and_codes() -> None:
    generated = subprocess.run([sys.executable, "-m", "nnlint", "completion", "bash"], capture_output=True,
                               text=True, check=True).stdout

    def complete(*words: str) -> list[str]:
        words_text = " ".join(f"'{w}'" for w in ("nnlint", *words))
        program = (
            f"{generated}\nCOMP_WORDS=({words_text}); COMP_CWORD={len(words)}; _nnlint; "
            'printf "%s\\n" "${COMPREPLY[@]}"'
        )
        return subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True).stdout.split()

    assert "check" in complete("ch")
    assert "--format" in complete("check", "--fo")
    assert complete("check", "--format", "s") == ["sarif"]
    assert "NN101" in complete("check", "--select", "NN1")
    assert "NN402" in complete("rule", "NN40")
