"""Reporters: render analyses. They format; they never diagnose."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional

if TYPE_CHECKING:  # pragma: no cover - a reporter is imported only when its format is chosen
    from ..analysis import Analysis

# Every format, without importing a reporter (the CLI lists them in --help).
FORMATS = ("github", "json", "junit", "markdown", "sarif", "text")


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    cwd: Optional[Path] = None
    verbose: bool = False
    # How the user ran pmdoctor, so hints name a command that works for them.
    command: str = "pmdoctor"
    # SARIF URIs are relative to this (the repository root for code scanning).
    sarif_root: Optional[Path] = None


Renderer = Callable[[List["Analysis"], RenderOptions], str]


# The module of each format's reporter.
_MODULES = {
    "text": "text",
    "json": "json_report",
    "sarif": "sarif",
    "markdown": "markdown",
    "github": "github",
    "junit": "junit",
}


def renderer(fmt: str) -> Renderer:
    """The renderer of one format, importing only its module (KeyError for an unknown format)."""
    return import_module(f"{__name__}.{_MODULES[fmt]}").render


def renderers() -> Dict[str, Renderer]:
    """Every renderer (imports every reporter: a run needs only :func:`renderer`)."""
    return {fmt: renderer(fmt) for fmt in _MODULES}
