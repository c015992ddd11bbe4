"""The check stage's result: one build, the rules that ran on it, and what they found, ranked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

from .model import Build
from .model.findings import Finding, Severity
from .rank import rank
from .rules import load_all, run_all


@dataclass
class Analysis:
    """One build and what is wrong with it, most likely root cause first."""

    build: Build
    findings: List[Finding] = field(default_factory=list)
    # The rules that ran (all, or those --rules selected): reporters list these, not the registry.
    rules_run: Tuple[str, ...] = ()

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
    """Run the rules (all, or the given IDs) on an assembled build and rank what they find."""
    selected = list(rules) if rules else None
    ran = tuple(rule_id for rule_id in load_all() if selected is None or rule_id in selected)
    return Analysis(build, rank(run_all(build, ran), build.symptoms), ran)
