"""The rule registry.

A rule is a generator function decorated with :func:`rule`. Its docstring is
its documentation, in four sections (*What it does*, *Why it matters*,
*Example*, *How to fix*), plus *Severity* before the fix when a finding's
severity depends on the case; ``--explain``, ``--list-rules``, the rule
reference and SARIF all render that one text.

Rule modules register themselves on import; :data:`FAMILIES` lists them so
that importing this package loads every rule. A large family is a package
with one module per rule (``rules/external_flash/ext_flash_driver_missing.py``)
and a ``_common`` module for what only its rules share; what several
families share lives in ``rules/_shared``. Families never import each other.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass, replace
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from ..model import Build
from ..model.findings import Finding, Severity
from ..model.symptoms import SYMPTOMS

Check = Callable[[Build], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """One registered rule: its ID, name, default severity and check."""

    id: str
    name: str
    severity: Severity
    check: Check
    family: str
    # Root causes rank above their consequences: 0 = plain, higher = earlier.
    rank: int = 0
    # Symptom IDs (symptoms.SYMPTOMS) this rule's findings can explain.
    explains: Tuple[str, ...] = ()

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.check.__doc__ or "")

    @property
    def summary(self) -> str:
        """The first sentence of *What it does*."""
        for section, text in self.sections():
            if section == "What it does":
                paragraph = " ".join(text.split("\n\n")[0].split())
                return re.split(r"(?<=[.:])\s+(?=[A-Z])", paragraph, maxsplit=1)[0].rstrip(".:")
        return self.name

    @property
    def severity_varies(self) -> bool:
        """The docstring has a *Severity* section: findings may be below (or above) the default."""
        return any(section == "Severity" for section, _ in self.sections())

    def sections(self) -> List[tuple]:
        """The docstring split into (heading, body) pairs."""
        sections: List[tuple] = []
        heading: Optional[str] = None
        body: List[str] = []
        for line in self.doc.splitlines():
            if line.startswith("## "):
                if heading is not None:
                    sections.append((heading, "\n".join(body).strip()))
                heading, body = line[3:].strip(), []
            else:
                body.append(line)
        if heading is not None:
            sections.append((heading, "\n".join(body).strip()))
        return sections


REGISTRY: Dict[str, Rule] = {}

FAMILIES = (
    "input",
    "layout",
    "slots",
    "static_config",
    "mcuboot",
    "external_flash",
    "logs",
    "protection",
    "multicore",
    "tfm",
    "storage",
    "devicetree_partitions",
)


def rule(
    rule_id: str,
    name: str,
    severity: Severity,
    rank: int = 0,
    explains: Tuple[str, ...] = (),
) -> Callable[[Check], Check]:
    """Register a check function as a rule."""

    def register(check: Check) -> Check:
        if rule_id in REGISTRY:
            raise ValueError(f"rule {rule_id} registered twice")
        unknown = set(explains) - set(SYMPTOMS)
        if unknown:
            raise ValueError(f"rule {rule_id} explains unknown symptoms {sorted(unknown)}")
        # pmdoctor.rules.<family> or pmdoctor.rules.<family>.<one rule of it>
        family = check.__module__.split(".")[2]
        REGISTRY[rule_id] = Rule(rule_id, name, severity, check, family, rank, tuple(explains))
        return check

    return register


def load_all() -> Dict[str, Rule]:
    for family in FAMILIES:
        importlib.import_module(f"{__name__}.{family}")
    return dict(sorted(REGISTRY.items()))


def find(id_or_name: str) -> Optional[Rule]:
    rules = load_all()
    key = id_or_name.strip()
    if key.upper() in rules:
        return rules[key.upper()]
    for candidate in rules.values():
        if candidate.name == key.lower():
            return candidate
    return None


# No one reads thousands of findings of one rule: past this many, one more finding counts the rest.
MAX_FINDINGS_PER_RULE = 100


def run_all(build: Build, selected: Optional[Iterable[str]] = None) -> Iterator[Finding]:
    """Run every (or every selected) rule on a build, stamping rule data on findings."""
    wanted = set(selected) if selected else None
    for candidate in load_all().values():
        if wanted is not None and candidate.id not in wanted:
            continue
        more, worst = 0, None
        for count, finding in enumerate(candidate.check(build)):
            severity = finding.severity or candidate.severity
            if count < MAX_FINDINGS_PER_RULE:
                stamp = {"rule": candidate.id, "name": candidate.name, "severity": severity}
                yield replace(finding, **stamp, rank=finding.rank or candidate.rank)
                continue
            more += 1
            if worst is None or severity.at_least(worst):
                worst = severity
        if more:
            yield Finding(
                message=f"{more} more {candidate.name} findings are not listed one by one "
                f"(the first {MAX_FINDINGS_PER_RULE} are); fix those and run again",
                rule=candidate.id,
                name=candidate.name,
                severity=worst,
                rank=candidate.rank,
                subject=("more findings", str(more)),
            )
