"""How reports show a path: the one place that decides.

Rules never bake a path into a message: they leave a
:class:`~pmdoctor.model.findings.Text` whose file references each report
shows its own way, through a shower made here (relative to the current
directory in text, JSON and JUnit; to the repository in SARIF and GitHub;
to the thread's folder in a forum reply).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath, PureWindowsPath
from typing import Callable, Optional

from ..model import Source


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


def near_path(path: Optional[PurePath], cwd: Optional[Path] = None) -> str:
    """For people (text, concise): as :func:`display_path`, and also ``../name`` for a file beside
    the current directory, so that run inside a build directory the application's ``../prj.conf``
    reads as a path that works from there. Anything further up stays absolute."""
    shown = display_path(path, cwd)
    if path is None or not Path(shown).is_absolute():
        return shown
    try:
        relative = os.path.relpath(shown, cwd or Path.cwd())
    except ValueError:  # another drive
        return shown
    parts = Path(relative).parts
    return relative if parts[:1] == (os.pardir,) and os.pardir not in parts[1:] else shown


def source_shower(display: Callable[[PurePath], str]) -> Callable[[Source], str]:
    """How one report shows a file reference in a message: the path as ``display`` gives it, and the line."""

    def show(source: Source) -> str:
        if source.file is None:
            return "<unknown>"
        name = display(source.file)
        return f"{name}:{source.line}" if source.line else name

    return show


def relative_shower(cwd: Optional[Path]) -> Callable[[Source], str]:
    """File references relative to the current directory (text, JSON, JUnit)."""
    return source_shower(lambda path: display_path(path, cwd))


def near_shower(cwd: Optional[Path]) -> Callable[[Source], str]:
    """File references as :func:`near_path` shows them (text, concise)."""
    return source_shower(lambda path: near_path(path, cwd))
