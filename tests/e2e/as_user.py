"""A user at a shell: the installed `hanbit-drill` on PATH, a fresh directory, default options."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from doc_examples import ROOT


def user_env() -> dict[str, str]:
    """The user's shell: this interpreter's scripts first on PATH (where `pip install -e .` put the
    command), an 80-column terminal, and nothing of pytest's working directory."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def shell(command: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """`command` as typed at a bash prompt in `cwd`; stdout and stderr together, as a terminal shows them."""
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=user_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)


def fresh_checkout(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "scenarios.yaml", path / "scenarios.yaml")
    return path
