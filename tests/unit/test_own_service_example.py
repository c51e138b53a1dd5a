"""examples/own-service deploys server.py through its launch template's user data: the heredoc in
stack.yaml must be server.py verbatim, or the README's "run it on its own" runs another program."""

from __future__ import annotations

from pathlib import Path

from chaoslab.stack import load_stack

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "own-service"


def test_the_user_data_writes_server_py_as_it_is_in_the_folder() -> None:
    (template,) = load_stack(EXAMPLE / "stack.yaml")["launch_templates"]
    script = template["user_data"]
    assert script.startswith("#!")
    heredoc = script.split("<<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0] + "\n"
    assert heredoc == (EXAMPLE / "server.py").read_text()
