"""Order findings so the most likely root cause comes first.

Three things decide, in this order:

1. whether the finding explains a symptom the user actually saw (a log line
   given with ``--log`` or attached to a triage); such findings carry those
   log lines (``Finding.observed``), and the log-only hypothesis
   for that symptom (rules PMD80x) is folded into them: the cause carries its
   consequence instead of both being listed;
2. severity;
3. the rule's rank: how far upstream its problem usually is (a missing
   driver explains the unreachable slot that explains the MCUmgr error).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Dict, Iterable, List, Optional

from .findings import Finding
from .rules import load_all
from .symptoms import Symptom

SYMPTOM_BOOST = 1000
LOG_FAMILY = "logs"  # rules/logs.py: log-only hypotheses, subject = (symptom id, ...)


def _with_symptoms(finding: Finding, symptoms: List[Symptom]) -> Finding:
    rule = load_all().get(finding.rule)
    if rule is None or not rule.explains:
        return finding
    seen = [s for s in symptoms if s.id in rule.explains]
    if not seen:
        return finding
    observed = tuple(dict.fromkeys((*finding.observed, *seen)))
    return replace(finding, rank=finding.rank + SYMPTOM_BOOST, observed=observed)


def _explanations(findings: List[Finding], symptoms: List[Symptom]) -> Dict[str, set]:
    """Symptom ID -> files the configuration (non-log) findings explaining it already fix."""
    observed = {s.id for s in symptoms}
    rules = load_all()
    covered: Dict[str, set] = {}
    for finding in findings:
        rule = rules.get(finding.rule)
        if rule is None or rule.family == LOG_FAMILY:
            continue
        for symptom in set(rule.explains) & observed:
            covered.setdefault(symptom, set()).update(f.file for f in finding.fixes if f.file)
    return covered


def _is_folded(finding: Finding, covered: Dict[str, set]) -> bool:
    """A log-only hypothesis adds nothing once causes explain its symptom and fix its files."""
    rule = load_all().get(finding.rule)
    symptom = finding.subject[0] if finding.subject else None
    if rule is None or rule.family != LOG_FAMILY or symptom not in covered:
        return False
    return all(fix.file in covered[symptom] for fix in finding.fixes if fix.file)


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
    symptoms = symptoms or []
    boosted = [_with_symptoms(f, symptoms) for f in findings]
    covered = _explanations(boosted, symptoms)
    boosted = [f for f in boosted if not _is_folded(f, covered)]
    unique, seen = [], set()
    for finding in sorted(boosted, key=_key):
        identity = (finding.rule, finding.message, str(finding.location))
        if identity not in seen:
            seen.add(identity)
            unique.append(finding)
    return unique
