"""Sleeping until a moment on the monotonic clock with Linux's timerfd, for the open-loop schedule.

asyncio's timers wake through epoll's timeout, which counts whole milliseconds rounded up, so a
send due in 0.3 ms would leave up to a millisecond late; spinning the last stretch instead keeps
a core busy between sends, which on a shared machine also makes the scheduler run us later. A
timerfd fires at its nanosecond deadline (plus the kernel's ~50 µs timer slack) and wakes the
loop through the same epoll, so the schedule neither oversleeps nor spins.
"""

from __future__ import annotations

import asyncio
import ctypes
import math
import os

CLOCK_MONOTONIC = 1  # the clock of time.monotonic() and asyncio's loop.time() on Linux
TFD_NONBLOCK = os.O_NONBLOCK
TFD_CLOEXEC = os.O_CLOEXEC
TFD_TIMER_ABSTIME = 1


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
