"""The library entry point: analyse build directories and attachments without any CLI.

>>> from pmdoctor.api import analyze
>>> result = analyze("build")
>>> [f.rule for f in result.findings]
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional, Union

from .analysis import Analysis, check
from .assemble import load_build, triage_build
from .fixes.verify import checked_analysis

__all__ = ["Analysis", "analyze", "check", "load_build", "triage", "triage_build"]


def analyze(build_dir: Union[str, Path], rules: Optional[Iterable[str]] = None) -> Analysis:
    """Load a build directory and run the rules on it."""
    return checked_analysis(load_build(Path(build_dir)), rules)


def triage(*paths: Union[str, Path], soc: Optional[str] = None, board: Optional[str] = None) -> Analysis:
    """Diagnose loose attachments (files and folders in any mix), as ``pmdoctor triage`` does."""
    return checked_analysis(triage_build([Path(p) for p in paths], soc, board))
