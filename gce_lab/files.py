"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` (``os.replace``).

    Write the file to the yielded path inside the ``with`` block. If the block raises, the
    temporary file is removed and ``path`` is left as it was. The new file is flushed to disk
    before it replaces the old one. Parent folders are created; the file is readable by all
    (0644), like one written by ``open``.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as handle:  # on disk before it replaces the old file (a crash, a full disk)
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as err:  # a full disk, a folder gone: name the file, not the temporary one
        Path(tmp).unlink(missing_ok=True)
        raise OSError(err.errno, f"{target} could not be written: {err.strerror or err}") from err
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
