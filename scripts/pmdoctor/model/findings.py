"""What rules produce: findings with severity, location, evidence and fixes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from . import UNKNOWN, Named, Source
from .symptoms import Symptom


class Severity(Named):
    ERROR = "error"  # will break the build, boot or DFU
    WARNING = "warning"  # likely wrong or fragile
    NOTE = "note"  # worth knowing

    @property
    def weight(self) -> int:
        return {"error": 3, "warning": 2, "note": 1}[self.value]

    def at_least(self, other: Severity) -> bool:
        return self.weight >= other.weight


@dataclass(frozen=True)
class Fix:
    """A concrete change: which file to edit and what to put there."""

    description: str
    file: Optional[Path] = None
    snippet: Optional[str] = None


@dataclass
class Finding:
    """One diagnosis. Rules fill message/location/evidence/fixes; the runner stamps the rule."""

    message: str
    location: Source = UNKNOWN
    image: Optional[str] = None
    domain: Optional[str] = None
    evidence: List[str] = field(default_factory=list)
    fixes: List[Fix] = field(default_factory=list)
    # Set by a rule only when it differs from the rule's default severity.
    severity: Optional[Severity] = None
    # Filled by the runner from the rule.
    rule: str = ""
    name: str = ""
    # Higher comes first among findings of equal severity (see ranking.py).
    rank: int = 0
    # Stable identity of the subject (partition names ...) for SARIF fingerprints.
    subject: Tuple[str, ...] = ()
    # Log lines this finding explains (set by ranking, rendered by reporters).
    observed: Tuple[Symptom, ...] = ()

    @property
    def effective_severity(self) -> Severity:
        return self.severity or Severity.ERROR


def where_seen(symptom: Symptom) -> str:
    """``console.log:5``: short, for evidence lines (the finding's location has the full path)."""
    source = symptom.source
    name = source.file.name if source.file is not None else "log"
    return f"{name}:{source.line}" if source.line else name
