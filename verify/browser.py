"""Headless Chromium for checking and picturing the HTML report (Debian's `chromium`).

Each call gets its own throwaway profile directory and no network features, so
it neither touches the user's profile nor reaches out anywhere.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common.errors import TargetError

_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--hide-scrollbars", "--disable-extensions", "--mute-audio",
)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass(frozen=True)
class BrowserRun:
    stdout: str
    stderr: str


class HeadlessChromium:
    def __init__(self, binary: str | None = None, timeout_s: float = 120.0) -> None:
        found = binary or find_chromium()
        if found is None:
            raise TargetError("chromium is not installed (apt-get install chromium)")
        self.binary = found
        self.timeout_s = timeout_s

    def _run(self, *args: str) -> BrowserRun:
        with tempfile.TemporaryDirectory(prefix="hanbit-chromium-") as profile:
            cmd = [self.binary, *_FLAGS, f"--user-data-dir={profile}", *args]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout_s, check=False)
            except subprocess.TimeoutExpired as exc:
                raise TargetError(f"chromium did not finish within {self.timeout_s:.0f} s") from exc
        if done.returncode != 0:
            raise TargetError(f"chromium exited with {done.returncode}: {done.stderr[-500:]}")
        return BrowserRun(done.stdout, done.stderr)

    def dump_dom(self, page: Path) -> BrowserRun:
        """The DOM after the page loaded and rendered, serialized by the browser itself."""
        return self._run("--dump-dom", "--enable-logging=stderr", "--v=0", Path(page).resolve().as_uri())

    def screenshot(self, page: Path, png: Path, width: int = 1100, height: int = 2600) -> Path:
        png = Path(png).resolve()
        png.parent.mkdir(parents=True, exist_ok=True)
        png.unlink(missing_ok=True)
        self._run(f"--screenshot={png}", f"--window-size={width},{height}", Path(page).resolve().as_uri())
        if not png.exists():
            raise TargetError(f"chromium wrote no screenshot to {png}")
        return png


def png_size(png: Path) -> tuple[int, int]:
    """Width and height from the PNG header."""
    head = Path(png).read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{png} is not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    return width, height
