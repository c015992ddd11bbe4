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

Every step is one pass over the findings (and one over the log lines per rule
that explains any), then one sort: ten thousand log lines and findings rank as
fast as ten.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Dict, Iterable, List, Optional, Tuple

from .model.findings import Finding
from .model.symptoms import Symptom
from .rules import Rule, load_all

LOG_FAMILY = "logs"  # rules/logs.py: log-only hypotheses, subject = (symptom id, ...)


class _Observed:
    """The log lines each rule explains, picked from the logs once per rule, in log order."""

    def __init__(self, rules: Dict[str, Rule], symptoms: List[Symptom]):
        self.rules = rules
        self.symptoms = symptoms
        self.by_rule: Dict[str, Tuple[Symptom, ...]] = {}

    def of(self, rule_id: str) -> Tuple[Symptom, ...]:
        if rule_id not in self.by_rule:
            rule = self.rules.get(rule_id)
            explains = set(rule.explains) if rule is not None else set()
            self.by_rule[rule_id] = tuple(dict.fromkeys(s for s in self.symptoms if s.id in explains))
        return self.by_rule[rule_id]


def _with_symptoms(finding: Finding, observed: _Observed) -> Finding:
    """Attach the observed log lines that the finding's rule explains."""
    seen = observed.of(finding.rule)
    if not seen:
        return finding
    if not finding.observed:  # the usual case: the lines are already told apart, once per rule
        return replace(finding, observed=seen)
    return replace(finding, observed=tuple(dict.fromkeys((*finding.observed, *seen))))


def _explanations(findings: List[Finding], rules: Dict[str, Rule]) -> Dict[str, set]:
    """Symptom ID -> files the configuration (non-log) findings explaining it already fix."""
    covered: Dict[str, set] = {}
    for finding in findings:
        rule = rules.get(finding.rule)
        if rule is None or rule.family == LOG_FAMILY:
            continue
        files = {f.file for f in finding.fixes if f.file}
        for symptom_id in {symptom.id for symptom in finding.observed}:
            covered.setdefault(symptom_id, set()).update(files)
    return covered


def _is_folded(finding: Finding, covered: Dict[str, set], rules: Dict[str, Rule]) -> bool:
    """A log-only hypothesis adds nothing once causes explain its symptom and fix its files."""
    rule = rules.get(finding.rule)
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
    rules = load_all()
    observed = _Observed(rules, symptoms or [])
    attached = [_with_symptoms(f, observed) for f in findings]
    covered = _explanations(attached, rules)
    kept = [f for f in attached if not _is_folded(f, covered, rules)]
    unique, seen = [], set()
    for finding in sorted(kept, key=_key):
        identity = (finding.rule, finding.message, str(finding.location))
        if identity not in seen:
            seen.add(identity)
            unique.append(finding)
    return unique
