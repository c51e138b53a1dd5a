"""`chaoslab completion bash|zsh` prints a script generated from the parser: it parses, and it
completes the commands the parser has today."""

from __future__ import annotations

import subprocess

from chaoslab.cli import completion_script


def _complete(script: str, words: list[str]) -> list[str]:
    program = f"""{script}
COMP_WORDS=({" ".join(words)}); COMP_CWORD={len(words) - 1}
_shtab_chaoslab; printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_bash_completes_commands_and_their_choices() -> None:
    script = completion_script("bash")
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)
    assert _complete(script, ["chaoslab", "va"]) == ["validate"]
    assert _complete(script, ["chaoslab", "im"]) == ["import"]
    assert set(_complete(script, ["chaoslab", "completion", ""])) == {"bash", "zsh"}


def test_zsh_script_declares_itself_for_chaoslab() -> None:
    script = completion_script("zsh")
    assert script.startswith("#compdef chaoslab")
    assert "validate" in script and "import" in script
