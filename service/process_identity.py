"""Whether a pid named in a ready file is still the process that wrote it.

A ready file outlives its process when that process is killed; the system may then give its pid to
an unrelated process. That one was created after the file was written, so its creation time tells.
"""

from __future__ import annotations

import psutil


def process_that_wrote(pid: int, written_at: float) -> psutil.Process | None:
    """The process `pid` if it is alive and older than `written_at`, else None."""
    try:
        process = psutil.Process(pid)
        if process.create_time() <= written_at and process.status() != psutil.STATUS_ZOMBIE:
            return process
    except psutil.Error:
        pass
    return None
