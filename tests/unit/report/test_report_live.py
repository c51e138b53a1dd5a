"""LiveView: the seed's timeline lines exactly, throttled TTY redraws, sparse CI progress."""

from __future__ import annotations

import io
import re
import time

from chaoslab.report import LiveView

LINE = re.compile(r"^\d\d:\d\d:\d\d - \d\d\d$")


def _probe(t: float, status: int | None) -> dict:
    return {"t": t, "status": status, "error": None if status else "timeout", "probe": True}


def test_probe_records_print_as_seed_timeline() -> None:
    out = io.StringIO()
    view = LiveView(out)
    t0 = 1781731047.0
    for i, status in enumerate([200, 502, None, 200]):
        view.request(_probe(t0 + 2 * i, status))
    view.request({"t": t0, "status": 200, "probe": False})  # workload traffic is not printed
    lines = out.getvalue().splitlines()
    assert all(LINE.match(x) for x in lines), lines
    expected = [time.strftime("%H:%M:%S", time.localtime(t0 + 2 * i)) for i in range(4)]
    assert lines == [f"{expected[0]} - 200", f"{expected[1]} - 502", f"{expected[2]} - 000", f"{expected[3]} - 200"]


def test_non_tty_progress_is_sparse() -> None:
    out = io.StringIO()
    view = LiveView(out, tty=False, progress_every=10.0)
    for i in range(300):  # 30 s of ticks at 10/s
        view.tick(
            {
                "phase": "injection",
                "elapsed": i / 10,
                "total": 60,
                "requests": i * 2,
                "errors": i // 10,
                "error_rate": 0.05,
            }
        )
    lines = out.getvalue().splitlines()
    assert len(lines) == 3  # at 0, 10 and 20 s
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert "injection" in lines[0] and "rolling 5.0 %" in lines[0]


def test_phase_restarts_progress_and_prints_heading() -> None:
    out = io.StringIO()
    view = LiveView(out, tty=False)
    view.tick({"phase": "baseline", "elapsed": 1.0})
    view.phase("injection", "FIS experiment EXP123")
    view.tick({"phase": "injection", "elapsed": 2.0})
    lines = out.getvalue().splitlines()
    assert lines[1] == "== injection: FIS experiment EXP123"
    assert len(lines) == 3


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_tty_redraws_one_line_throttled_and_keeps_timeline_above() -> None:
    out = io.StringIO()
    clock = _Clock()
    view = LiveView(out, tty=True, redraw_every=0.25, clock=clock)
    for i in range(10):  # ten ticks within 0.1 s: one redraw
        clock.now = i * 0.01
        view.tick({"phase": "injection", "elapsed": 5.0 + i, "requests": i})
    assert out.getvalue().count("\r\x1b[2K") == 1
    clock.now = 1.0
    view.tick({"phase": "injection", "elapsed": 20.0, "requests": 99})
    view.request(_probe(1781731047.0, 502))
    view.close()
    text = out.getvalue()
    assert "\n" in text and text.count("\n") == 1  # only the timeline line is permanent
    last_line = text.split("\n")[0].split("\x1b[2K")[-1]
    assert LINE.match(last_line)
    assert text.endswith("\r\x1b[2K")  # close() leaves a clean line
