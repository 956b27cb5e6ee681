"""Secrets in the data directory (the signing key, the admin token): files only their owner can read.

`read_or_create_private(path, make)` returns the file's content, creating it first if it is
missing: mode 0600 from the start, written whole under a temporary name and then
hard-linked into place, so no process ever reads a partial file, and when processes race
to create it the first link wins and all of them read that one content. An existing file
that others can read is refused: a secret that leaked once is not one to keep using.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from service.errors import ServiceError

MODE = 0o600


class PrivateFileExposed(ServiceError):
    """A secret's file is readable (or writable) by others than its owner."""


def read_or_create_private(path: Path, make: Callable[[], bytes]) -> bytes:
    path = Path(path)
    if not path.exists():
        _create(path, make())
    fd = os.open(path, os.O_RDONLY)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)  # of the file read below, not of whatever the name is now
        if mode & 0o077:
            raise PrivateFileExposed(f"{path} is accessible to others (mode {mode:04o}); it must be mode 0600: "
                                     f"chmod 600 {path}, or delete it to make a new one")
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _create(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Unique per creator (threads of one process too), so racing creators never share a file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)  # whole on disk before the name points at it
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # atomic, and fails if the file exists: the first creator wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
