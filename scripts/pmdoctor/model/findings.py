"""What rules produce: findings with severity, location, evidence and fixes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Callable, List, Optional, Tuple, Union

from . import UNKNOWN, Named, Source
from .edits import Edit, snippet_text
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


Part = Union[str, Source, PurePath]


class Text(str):
    """Words with file references in them, which each reporter shows its own way.

    Rules write ``Text("mcuboot_secondary: 0x0-0xe0000 (", part.source, ")")``
    instead of baking a path into a string: the text report then shows the
    file relative to the current directory, SARIF relative to the repository,
    a forum reply relative to the thread's folder (never this machine's
    absolute paths). As a plain ``str`` it reads with file names only
    (``partitions.yml:53``), so it still compares and searches like the
    string it replaces.
    """

    parts: Tuple[Part, ...]

    def __new__(cls, *parts: Part) -> Text:
        flat: List[Part] = []
        for part in parts:
            if isinstance(part, Text):
                flat.extend(part.parts)
            elif isinstance(part, (Source, PurePath)) or (isinstance(part, str) and part):
                flat.append(part)
        text = super().__new__(cls, "".join(_short(part) for part in flat))
        text.parts = tuple(flat)
        return text

    def render(self, show: Callable[[Source], str]) -> str:
        """The text with each file reference shown by ``show``."""
        return "".join(_as_source(part, show) for part in self.parts)

    def __reduce__(self):  # copies and pickles keep the parts
        return (Text, self.parts)

    # Joined with plain strings it stays a Text (str + Text calls __radd__ first: a subclass).
    def __add__(self, other: object) -> Text:
        return Text(self, other) if isinstance(other, str) else NotImplemented

    def __radd__(self, other: object) -> Text:
        return Text(other, self) if isinstance(other, str) else NotImplemented

    @staticmethod
    def join(separator: str, items) -> str:
        """``separator.join(items)`` that keeps the file references of Text items."""
        items = list(items)
        if not any(isinstance(item, Text) for item in items):
            return separator.join(items)
        parts: List[Part] = []
        for index, item in enumerate(items):
            if index:
                parts.append(separator)
            parts.append(item)
        return Text(*parts)


def _short(part: Part) -> str:
    if isinstance(part, str):
        return part
    source = part if isinstance(part, Source) else Source(Path(part))
    if source.file is None:
        return "<unknown>"
    name = PurePath(source.file).name
    return f"{name}:{source.line}" if source.line else name


def _as_source(part: Part, show: Callable[[Source], str]) -> str:
    if isinstance(part, str):
        return part
    return show(part if isinstance(part, Source) else Source(Path(part)))


def shown(value: str, show: Callable[[Source], str]) -> str:
    """A message, evidence line or fix text as one reporter shows it (plain strings as they are)."""
    return value.render(show) if isinstance(value, Text) else value


@dataclass(frozen=True)
class Fix:
    """A cure for a finding: words for a person and, when pmdoctor knows the exact change, edits.

    A fix with ``edits`` is mechanical once the fix checker has applied them
    to a copy of the build's model and re-run the rules (``checked``): the
    finding went away and no new error came. A fix without edits, or whose
    check failed, is advice; ``conflict`` then names what stood in the way
    ("growing `mcuboot_primary` would overlap `settings_storage`").
    ``field_warning`` is the one line that tells what the change does to
    devices already deployed (a moved slot breaks DFU from the old firmware).

    ``file`` and ``snippet`` are what reports showed before edits existed;
    with edits they default to the first edit's file and the edits' text.
    """

    description: str
    file: Optional[Path] = None
    snippet: Optional[str] = None
    edits: Tuple[Edit, ...] = ()
    checked: Optional[bool] = None  # None: not (yet) checked
    conflict: Optional[str] = None
    field_warning: Optional[str] = None

    def __post_init__(self) -> None:
        if not self.edits:
            return
        object.__setattr__(self, "edits", tuple(self.edits))
        if self.file is None:
            object.__setattr__(self, "file", self.edits[0].target.file)
        if self.snippet is None:
            same_file = tuple(edit for edit in self.edits if edit.target.file == self.file)
            object.__setattr__(self, "snippet", snippet_text(same_file))

    @property
    def mechanical(self) -> bool:
        """pmdoctor may apply it: it has edits and they passed their check."""
        return bool(self.edits) and self.checked is True


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
