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

from .model.findings import Finding
from .model.symptoms import Symptom
from .rules import load_all

LOG_FAMILY = "logs"  # rules/logs.py: log-only hypotheses, subject = (symptom id, ...)


def _with_symptoms(finding: Finding, symptoms: List[Symptom]) -> Finding:
    """Attach the observed log lines that the finding's rule explains."""
    rule = load_all().get(finding.rule)
    seen = [s for s in symptoms if rule is not None and s.id in rule.explains]
    if not seen:
        return finding
    return replace(finding, observed=tuple(dict.fromkeys((*finding.observed, *seen))))


def _explanations(findings: List[Finding]) -> Dict[str, set]:
    """Symptom ID -> files the configuration (non-log) findings explaining it already fix."""
    rules = load_all()
    covered: Dict[str, set] = {}
    for finding in findings:
        rule = rules.get(finding.rule)
        if rule is None or rule.family == LOG_FAMILY:
            continue
        for symptom in finding.observed:
            covered.setdefault(symptom.id, set()).update(f.file for f in finding.fixes if f.file)
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
    return (
        not finding.observed,  # explains what the user saw
        -finding.effective_severity.weight,
        -finding.rank,
        str(location.file or ""),
        location.line or 0,
        finding.rule,
        finding.message,
    )


def rank(findings: Iterable[Finding], symptoms: Optional[List[Symptom]] = None) -> List[Finding]:
    symptoms = symptoms or []
    attached = [_with_symptoms(f, symptoms) for f in findings]
    covered = _explanations(attached)
    kept = [f for f in attached if not _is_folded(f, covered)]
    unique, seen = [], set()
    for finding in sorted(kept, key=_key):
        identity = (finding.rule, finding.message, str(finding.location))
        if identity not in seen:
            seen.add(identity)
            unique.append(finding)
    return unique
