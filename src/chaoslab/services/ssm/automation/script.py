"""`aws:executeScript`: the step's Python script in a subprocess of its own — a fresh
interpreter in a scratch directory, with an environment that points AWS SDKs at the lab with
the execution role's temporary keys and holds nothing of the lab's own — whose `Handler(events, context)` return value is the step's
`Payload` (what it prints is the step's log). The process is killed when the step is cancelled or times out."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from typing import Any

from chaoslab.services.ssm.automation.runner import StepFailure

RUNTIMES = ("python3.8", "python3.9", "python3.10", "python3.11", "python3.12", "python3.13")
LIMIT_SECONDS = 600  # Automation's own cap on an executeScript step

# Runs inside the subprocess: read the script and payload from stdin, call the handler with the
# script's own prints sent to stderr (its log), and write only the result, as JSON, to stdout.
_WRAPPER = """
import json, sys
given = json.load(sys.stdin)
result_out, sys.stdout = sys.stdout, sys.stderr
namespace = {"__name__": "__chaoslab_script__"}
exec(compile(given["script"], "script", "exec"), namespace)
result = namespace[given["handler"]](given["payload"], {"automation": "chaoslab"})
json.dump(result, result_out, default=str)
"""


async def run_script(
    runtime: str, handler: str, script: str, payload: Any, env: dict[str, str], limit: float = LIMIT_SECONDS
) -> dict[str, Any]:
    """{"Payload": the handler's result}; a raising script fails the step with its error."""
    if runtime not in RUNTIMES:
        raise StepFailure(f"Runtime {runtime} is not supported (use one of {', '.join(RUNTIMES)}).")
    given = {"script": script, "handler": handler.rsplit(".", 1)[-1], "payload": payload}
    with tempfile.TemporaryDirectory(prefix="chaoslab-script-") as scratch:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            "-c",
            _WRAPPER,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=scratch,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": scratch, **env},
            start_new_session=True,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(json.dumps(given).encode()), limit)
        except (TimeoutError, asyncio.CancelledError):
            proc.kill()
            await proc.wait()
            raise
        if proc.returncode != 0:
            lines = err.decode(errors="replace").strip().splitlines()
            raise StepFailure(f"The script failed: {lines[-1] if lines else f'exit code {proc.returncode}'}")
        try:
            result = json.loads(out)
        except ValueError:
            raise StepFailure("The script's handler did not return a JSON-serialisable value.") from None
        return {"Payload": result, "Logs": err.decode(errors="replace")}
