"""How reports show a path: the one place that decides."""

from __future__ import annotations

from pathlib import Path, PurePath, PureWindowsPath
from typing import Optional


def display_path(path: Optional[PurePath], cwd: Optional[Path] = None) -> str:
    """Relative to the cwd when below it, so messages and SARIF stay short and stable."""
    if path is None:
        return ""
    if isinstance(path, PureWindowsPath):
        return str(path)
    if not Path(path).is_absolute():
        return str(path)
    try:
        return str(Path(path).relative_to(cwd or Path.cwd()))
    except ValueError:
        return str(path)
