"""Order findings so the most likely root cause comes first.

Severity decides first; within a severity, a rule's rank says how far
upstream its problem usually is (an unreadable file or a broken container
explains the overlaps and misalignments computed from it).
"""

from __future__ import annotations

from typing import List

from .findings import Finding


def _key(finding: Finding) -> tuple:
    location = finding.location
    return (
        -finding.effective_severity.weight,
        -finding.rank,
        str(location.file or ""),
        location.line or 0,
        finding.rule,
        finding.message,
    )


def rank(findings: List[Finding]) -> List[Finding]:
    unique, seen = [], set()
    for finding in sorted(findings, key=_key):
        identity = (finding.rule, finding.message, str(finding.location))
        if identity not in seen:
            seen.add(identity)
            unique.append(finding)
    return unique
