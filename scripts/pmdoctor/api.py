"""The library entry point: analyse build directories without any CLI.

>>> from pmdoctor.api import analyze
>>> result = analyze("build")
>>> [f.rule for f in result.findings]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Union

from .build import load_build
from .findings import Finding, Severity
from .model import Build
from .ranking import rank
from .rules import run_all


@dataclass
class Analysis:
    """One build and what is wrong with it, most likely root cause first."""

    build: Build
    findings: List[Finding] = field(default_factory=list)

    @property
    def summary(self) -> Dict[str, int]:
        counts = {severity.value: 0 for severity in Severity}
        for finding in self.findings:
            counts[finding.effective_severity.value] += 1
        return counts

    def worst(self) -> Optional[Severity]:
        severities = [f.effective_severity for f in self.findings]
        return max(severities, key=lambda s: s.weight) if severities else None


def check(build: Build, rules: Optional[Iterable[str]] = None) -> Analysis:
    """Run the rules on an already loaded build."""
    return Analysis(build, rank(run_all(build, rules), build.symptoms))


def analyze(build_dir: Union[str, Path], rules: Optional[Iterable[str]] = None) -> Analysis:
    """Load a build directory and run the rules on it."""
    return check(load_build(Path(build_dir)), rules)
