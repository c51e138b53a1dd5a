"""A volume's I/O server: a FUSE passthrough from a mount point to a backing directory, where
every operation first passes the volume's `Gate` (runtime/volume_control.py). So a paused volume
really blocks the program that reads or writes it, in the kernel, as a stalled disk does, and a
slow one really makes each operation slower.

Run by the lab, one process per volume, in the foreground:
``python -m chaoslab.runtime.volume_server BACKING MOUNTPOINT CONTROL``. It ends (and the kernel
unmounts) on SIGTERM; after a crash `runtime/volume.py` unmounts what is left.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import Any

import mfusepy as fuse

from chaoslab.runtime.volume_control import Gate, Op

_STAT_KEYS = ("st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size", "st_uid", "st_blocks")
_STAT_NS = {"st_atime": "st_atime_ns", "st_ctime": "st_ctime_ns", "st_mtime": "st_mtime_ns"}
_STATVFS_KEYS = (
    "f_bavail",
    "f_bfree",
    "f_blocks",
    "f_bsize",
    "f_favail",
    "f_ffree",
    "f_files",
    "f_flag",
    "f_frsize",
    "f_namemax",
)


class Passthrough(fuse.Operations):
    """Every file operation done on the backing directory, after the gate; errors pass through
    as the errno they raised. Files a caller creates become the caller's (the server runs as root)."""

    use_ns = True

    def __init__(self, backing: Path, gate: Gate) -> None:
        self.root = str(backing)
        self.gate = gate

    def _path(self, path: str) -> str:
        return self.root + path

    def _hold(self, op: Op) -> None:
        self.gate.wait(op)

    def _own(self, path: str) -> None:
        uid, gid, _pid = fuse.fuse_get_context()
        if os.geteuid() == 0:
            os.lchown(path, uid, gid)

    # metadata (read side) ----------------------------------------------------------------
    def access(self, path: str, amode: int) -> int:
        self._hold("read")
        if not os.access(self._path(path), amode):
            raise fuse.FuseOSError(errno.EACCES)
        return 0

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        self._hold("read")
        st = os.lstat(self._path(path))
        attrs = {key: getattr(st, _STAT_NS.get(key, key)) for key in _STAT_KEYS}
        return attrs

    def readdir(self, path: str, fh: int) -> list[str]:
        self._hold("read")
        return [".", "..", *os.listdir(self._path(path))]

    def readlink(self, path: str) -> str:
        self._hold("read")
        return os.readlink(self._path(path))

    def statfs(self, path: str) -> dict[str, int]:
        st = os.statvfs(self._path(path))
        return {key: getattr(st, key) for key in _STATVFS_KEYS}

    # data --------------------------------------------------------------------------------
    def open(self, path: str, flags: int) -> int:
        self._hold("read")
        return os.open(self._path(path), flags)

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        self._hold("write")
        full = self._path(path)
        fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        self._own(full)
        return fd

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        self._hold("read")
        return os.pread(fh, size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        self._hold("write")
        return os.pwrite(fh, data, offset)

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        self._hold("write")
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self._path(path), length)
        return 0

    def flush(self, path: str, fh: int) -> int:
        return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        self._hold("write")
        if datasync:
            os.fdatasync(fh)
        else:
            os.fsync(fh)
        return 0

    def release(self, path: str, fh: int) -> int:
        os.close(fh)
        return 0

    # namespace (write side) --------------------------------------------------------------
    def mkdir(self, path: str, mode: int) -> int:
        self._hold("write")
        full = self._path(path)
        os.mkdir(full, mode)
        self._own(full)
        return 0

    def rmdir(self, path: str) -> int:
        self._hold("write")
        os.rmdir(self._path(path))
        return 0

    def unlink(self, path: str) -> int:
        self._hold("write")
        os.unlink(self._path(path))
        return 0

    def rename(self, old: str, new: str) -> int:
        self._hold("write")
        os.rename(self._path(old), self._path(new))
        return 0

    def symlink(self, target: str, source: str) -> int:
        self._hold("write")
        full = self._path(target)
        os.symlink(source, full)
        self._own(full)
        return 0

    def link(self, target: str, source: str) -> int:
        self._hold("write")
        os.link(self._path(source), self._path(target))
        return 0

    def chmod(self, path: str, mode: int) -> int:
        self._hold("write")
        os.chmod(self._path(path), mode)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        self._hold("write")
        os.lchown(self._path(path), uid, gid)
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        self._hold("write")
        if times is None:
            os.utime(self._path(path), follow_symlinks=False)
        else:
            os.utime(self._path(path), ns=times, follow_symlinks=False)
        return 0


def main(argv: list[str]) -> int:
    # Absolute: libfuse changes the working directory to / once mounted.
    backing, mountpoint, control = (Path(a).resolve() for a in argv)
    # allow_other: the unit's programs may run as another user; default_permissions: the kernel
    # checks each caller against the files' modes, as on a local disk.
    fuse.FUSE(
        Passthrough(backing, Gate(control)),
        str(mountpoint),
        foreground=True,
        allow_other=os.geteuid() == 0,
        default_permissions=True,
        fsname="chaoslab-volume",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
