"""The whole file or nothing: how rsd replaces a file it writes in one piece.

Owns the one rule every small file rsd writes follows (state files, summaries, profiles from `rsd init`, a rotated
refresh token, the cached parser tables): the bytes go to a hidden temporary file beside the target
(`.NAME.XXXX.rsd-tmp`, so a reader sees the old file or the new one, never half of one), are flushed to disk, take
the target's mode (a new file is private: 0600), and are renamed over it; any failure removes the temporary file and
re-raises. A symlink is followed: its target is replaced. Streaming outputs (rsd/sinks/files.py, Parquet) name their
temporary files the same way. A temporary file's name carries the writing process's id, so that a run killed with
SIGKILL (which no handler sees) leaves no litter for long: the next write of the same target removes the temporary
files of processes that no longer exist. Imports nothing of rsd.
"""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from typing import IO, Iterator

TMP_SUFFIX = ".rsd-tmp"


def temp_beside(path: str) -> tuple[int, str]:
    """A new private (0600) temporary file in `path`'s folder, `.NAME.PID.XXXX.rsd-tmp`: (descriptor, name). The
    temporary files a killed process left for the same target are removed first."""
    import tempfile  # on use: start-up of commands that write nothing stays small

    directory = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    sweep_stale(directory, name)
    return tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=TMP_SUFFIX, dir=directory)


def sweep_stale(directory: str, name: str) -> list[str]:
    """Remove `.NAME.PID.*.rsd-tmp` in `directory` whose process is gone; the paths removed."""
    import glob

    removed = []
    for tmp in glob.glob(os.path.join(glob.escape(directory), f".{glob.escape(name)}.*{TMP_SUFFIX}")):
        pid = os.path.basename(tmp)[len(name) + 2:].split(".", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            os.unlink(tmp)
            removed.append(tmp)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, another user's
        return True
    return True


@contextmanager
def replacing(path: str | os.PathLike[str], *, fsync: bool = True) -> Iterator[IO[bytes]]:
    """`with replacing(p) as f: f.write(b"...")`: `p` holds exactly what was written once the block ends without an
    exception, and is untouched otherwise."""
    target = os.path.realpath(os.fspath(path))
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None  # mkstemp's 0600
    fd, tmp = temp_beside(target)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_atomically(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Replace `path`'s content with `data` (text is written as UTF-8), the whole file or nothing."""
    with replacing(path) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
