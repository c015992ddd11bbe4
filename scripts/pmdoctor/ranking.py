"""Order findings so the most likely root cause comes first.

Three things decide, in this order:

1. whether the finding explains a symptom the user actually saw (a log line
   given with ``--log`` or attached to a triage); such findings also get the
   log line as evidence;
2. severity;
3. the rule's rank: how far upstream its problem usually is (a missing
   driver explains the unreachable slot that explains the MCUmgr error).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, List, Optional

from .findings import Finding
from .rules import load_all
from .symptoms import Symptom

SYMPTOM_BOOST = 1000


def _with_symptoms(finding: Finding, symptoms: List[Symptom]) -> Finding:
    rule = load_all().get(finding.rule)
    if rule is None or not rule.explains:
        return finding
    seen = [s for s in symptoms if s.id in rule.explains]
    if not seen:
        return finding
    evidence = list(finding.evidence)
    for symptom in seen:
        quoted = f"explains {symptom.source}: {symptom.text.strip()}"
        if quoted not in evidence:
            evidence.append(quoted)
    return replace(finding, rank=finding.rank + SYMPTOM_BOOST, evidence=evidence)


def _key(finding: Finding) -> tuple:
    location = finding.location
    explains_symptom = finding.rank >= SYMPTOM_BOOST
    return (
        not explains_symptom,
        -finding.effective_severity.weight,
        -finding.rank,
        str(location.file or ""),
        location.line or 0,
        finding.rule,
        finding.message,
    )


def rank(findings: Iterable[Finding], symptoms: Optional[List[Symptom]] = None) -> List[Finding]:
    boosted = [_with_symptoms(f, symptoms or []) for f in findings]
    unique, seen = [], set()
    for finding in sorted(boosted, key=_key):
        identity = (finding.rule, finding.message, str(finding.location))
        if identity not in seen:
            seen.add(identity)
            unique.append(finding)
    return unique
