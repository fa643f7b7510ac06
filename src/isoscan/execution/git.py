"""The git commit a suite's checkout is at: stored with each session, recorded with each
recorded run, and compared when a run recorded elsewhere (``bisect --from``) is replayed."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_head(cwd: Path) -> str | None:
    """``git rev-parse HEAD`` in ``cwd``; None outside a git checkout or without git."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
