"""Sleeping until a moment on the monotonic clock with Linux's timerfd, for the open-loop schedule.

asyncio's timers wake through epoll's timeout, which counts whole milliseconds rounded up, so a
send due in 0.3 ms would leave up to a millisecond late; spinning the last stretch instead keeps
a core busy between sends, which on a shared machine also makes the scheduler run us later. A
timerfd fires at its nanosecond deadline (plus the kernel's ~50 µs timer slack) and wakes the
loop through the same epoll, so the schedule neither oversleeps nor spins.

Waking an idle process is slower than the timer: on a VM a vCPU that halted between sends took
0.3 ms p50 and over 1 ms p99 to run again (100 sends/s). So the timer is set early by a lead
learned from recent wake-ups (a decaying maximum of how late they were, at most half the wait
and `LEAD_MAX_S`) and the last stretch is spun: a short spin per send, not a busy core.
"""

from __future__ import annotations

import asyncio
import ctypes
import math
import os
import time

CLOCK_MONOTONIC = 1  # the clock of time.monotonic() (and of asyncio's loop.time()) on Linux
TFD_NONBLOCK = os.O_NONBLOCK
TFD_CLOEXEC = os.O_CLOEXEC
TFD_TIMER_ABSTIME = 1
LEAD_MAX_S = 0.0005  # never spin longer than this per wake-up
LEAD_DECAY_S = 0.000002  # per wake-up: after 250 quiet ones the lead has shrunk by 0.5 ms


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class Waker:
    """One timerfd on the running loop; `until(t)` returns at monotonic time t."""

    def __init__(self, libc: ctypes.CDLL, fd: int) -> None:
        self._libc = libc
        self.fd = fd
        self._loop = asyncio.get_running_loop()
        self._waiter: asyncio.Future[None] | None = None
        self.lead = 0.0  # how much earlier than asked the timer is set (see the module's docstring)
        self._loop.add_reader(fd, self._fired)

    @classmethod
    def create(cls) -> Waker | None:
        """A waker, or None where there is no timerfd (not Linux): the caller spins instead."""
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
        except (OSError, AttributeError):
            return None
        return cls(libc, fd) if fd >= 0 else None

    async def until(self, deadline: float) -> None:
        """Return at `deadline` (monotonic seconds), not before."""
        lead = min(self.lead, max(0.0, deadline - time.monotonic()) / 2)
        alarm = deadline - lead
        await self._fire_at(alarm)
        now = time.monotonic()
        self.lead = min(LEAD_MAX_S, max(now - alarm, self.lead - LEAD_DECAY_S))
        while now < deadline:
            now = time.monotonic()

    async def _fire_at(self, deadline: float) -> None:
        frac, whole = math.modf(deadline)
        spec = _Itimerspec(_Timespec(0, 0), _Timespec(int(whole), int(frac * 1e9)))
        if self._libc.timerfd_settime(self.fd, TFD_TIMER_ABSTIME, ctypes.byref(spec), None) != 0:
            raise OSError(ctypes.get_errno(), "timerfd_settime")
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _fired(self) -> None:
        try:
            os.read(self.fd, 8)  # the expiry count; reading it re-arms the readiness
        except BlockingIOError:
            return
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def close(self) -> None:
        self._loop.remove_reader(self.fd)
        os.close(self.fd)
