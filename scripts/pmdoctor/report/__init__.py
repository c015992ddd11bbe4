"""Reporters: render analyses. They format; they never diagnose."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional

if TYPE_CHECKING:  # pragma: no cover - a reporter is imported only when its format is chosen
    from ..analysis import Analysis
    from .stream import Stream

# Every format, without importing a reporter (the CLI lists them in --help).
FORMATS = ("auto", "concise", "github", "html", "json", "junit", "markdown", "sarif", "text")
# `auto` is no reporter: the command picks github, or text, where the report is written.
AUTO = "auto"


@dataclass(frozen=True)
class RenderOptions:
    """How a report is rendered (the same for every format)."""

    color: bool = False
    cwd: Optional[Path] = None
    verbose: bool = False
    # How the user ran pmdoctor, so hints name a command that works for them.
    command: str = "pmdoctor"
    # SARIF URIs are relative to this (the repository root for code scanning).
    sarif_root: Optional[Path] = None
    # Columns the text report wraps to and the layout map may use (None: the terminal's width,
    # at least 80, on a terminal; 100 for a report not read on one).
    width: Optional[int] = None


Renderer = Callable[[List["Analysis"], RenderOptions], str]

# The module of each format's reporter.
_MODULES = {
    "text": "text",
    "concise": "concise",
    "json": "json_report",
    "sarif": "sarif",
    "markdown": "markdown",
    "github": "github",
    "junit": "junit",
    "html": "html",
    # Not a --format choice: `pmdoctor map` and `triage --map` render the text report as the map.
    "map": "map",
}


def renderer(fmt: str) -> Renderer:
    """The renderer of one format, importing only its module (KeyError for an unknown format)."""
    return import_module(f"{__name__}.{_MODULES[fmt]}").render


# Reports that are no --format: the module and name of their stream.
_EXTRA_STREAMS = {"step-summary": ("github", "STEP_SUMMARY")}


def streamer(fmt: str) -> Optional[Stream]:
    """The format piece by piece (None when it renders only whole documents)."""
    module, name = _EXTRA_STREAMS.get(fmt, (_MODULES.get(fmt, fmt), "STREAM"))
    return getattr(import_module(f"{__name__}.{module}"), name, None)


def renderers() -> Dict[str, Renderer]:
    """Every renderer (imports every reporter: a run needs only :func:`renderer`)."""
    return {fmt: renderer(fmt) for fmt in _MODULES}
