"""Every offered edit is checked: applied to a copy of the model, the rules run again.

A fix with edits is *mechanical* only when, on the simulated build, the
finding it cures is gone and no new error appeared. Otherwise it is shown as
advice naming the conflict ("growing `mcuboot_primary` to 0x80000 would
overlap `settings_storage`"); when the new finding's own fix, combined with
this one, passes the same check, that combination is offered as well.

Edits that pmdoctor cannot check stay advice too: a size that is not whole
erase blocks of the partition's flash, a file outside the application, a
partition deployed devices depend on when ``--baseline`` names that layout.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ..analysis import Analysis, check
from ..model import Build, Layout
from ..model.edits import Action, Edit, EditKind, StaticEdit
from ..model.findings import Finding, Fix, Severity
from ..rules import run_all
from .field import deployed_conflict, field_warning, renames_opened_partition
from .simulate import SimulationError, simulate

# Each check re-runs every rule: a bound keeps a hostile input with thousands of fixes inside the
# time budget (a real build offers a handful). The clock is a safety net only.
MAX_CHECKS = 40
CHECK_SECONDS = 1.0
_INSIDE_SLOT = re.compile(r"(_pad|_app|_image)$")
Key = Tuple[str, Optional[str], Optional[str], Tuple[str, ...]]


def finding_key(finding: Finding) -> Key:
    """What identifies a finding across two runs (messages quote values that the edit changes)."""
    subject = finding.subject or (finding.message,)
    return (finding.rule, finding.image, finding.domain, tuple(subject))


@dataclass
class Outcome:
    """What re-running the rules on a fix's edits showed: did it cure, and what it broke."""

    passed: bool
    conflict: Optional[str] = None
    new_errors: Tuple[Finding, ...] = ()


def checked_analysis(build: Build, rules: Optional[Iterable[str]] = None) -> Analysis:
    """``analysis.check`` followed by the check of every fix it offers."""
    return verify(check(build, rules))


def verify(analysis: Analysis) -> Analysis:
    """Check each fix's edits in place: every Fix becomes checked mechanical, or advice with a conflict."""
    checker = _Checker(analysis.build, analysis.rules_run, analysis.findings)
    for finding in analysis.findings:
        fixes: List[Fix] = []
        for fix in finding.fixes:
            fixes.extend(checker.judge(finding, fix))
        finding.fixes = _unique(fixes)
    return analysis


def _unique(fixes: List[Fix]) -> List[Fix]:
    seen: Set[tuple] = set()
    kept = []
    for fix in fixes:
        key = (fix.description, fix.edits, fix.snippet)
        if key not in seen:
            seen.add(key)
            kept.append(fix)
    return kept


class _Checker:
    def __init__(self, build: Build, rules: Sequence[str], findings: Sequence[Finding]) -> None:
        self.build = build
        self.rules = tuple(rules)
        # Ranking folds some findings into others (a log line into the rule that explains it); the
        # re-run is not ranked, so "new" is judged against the unranked findings too.
        self.ranked: Set[Key] = {finding_key(f) for f in findings}
        self.unranked: Optional[Set[Key]] = None  # run once, when the first fix with edits is checked
        self.cache: Dict[Tuple[Edit, ...], List[Finding]] = {}
        self.runs = 0
        self.started = time.monotonic()

    def judge(self, finding: Finding, fix: Fix) -> List[Fix]:
        if not fix.edits:
            return [fix]
        edits = fix.edits
        warning = field_warning(self.build, edits)
        blocked = self.blocked(edits)
        if blocked:
            return [replace(fix, checked=False, conflict=blocked, field_warning=warning)]
        outcome = self.outcome(finding, edits)
        if outcome.passed:
            return [replace(fix, checked=True, conflict=None, field_warning=warning)]
        advice = replace(fix, checked=False, conflict=outcome.conflict, field_warning=warning)
        combined = self.combination(finding, fix, outcome)
        return [advice] if combined is None else [advice, combined]

    def blocked(self, edits: Tuple[Edit, ...]) -> Optional[str]:
        """Why these edits are not for applying, before any simulation."""
        for edit in edits:
            if edit.target.outside_source:
                return f"{edit.target.file} is outside the application: {edit.target.convention}"
        unaligned = _unaligned(self.build, edits)
        if unaligned:
            return unaligned
        return (
            renames_opened_partition(self.build, edits)
            or _separates_header(self.build, edits)
            or deployed_conflict(self.build, edits)
        )

    def rerun(self, edits: Tuple[Edit, ...]) -> List[Finding]:
        try:
            known = self.cache.get(edits)
        except TypeError:  # an edit holding a list: not hashable, so not remembered
            return list(run_all(simulate(self.build, edits), self.rules))
        if known is None:
            known = self.cache[edits] = list(run_all(simulate(self.build, edits), self.rules))
        return known

    def outcome(self, finding: Finding, edits: Tuple[Edit, ...]) -> Outcome:
        if self.runs >= MAX_CHECKS or time.monotonic() - self.started > CHECK_SECONDS:
            return Outcome(False, "not checked: too many fixes in one run; apply the first ones, run again")
        self.runs += 1
        try:
            after = self.rerun(edits)
        except SimulationError as error:
            return Outcome(False, f"pmdoctor could not apply it to its model: {error}")
        except Exception as error:  # a rule that trips over the simulated model must not end the check
            return Outcome(False, f"pmdoctor could not check it ({type(error).__name__})")
        if self.unranked is None:
            self.unranked = {finding_key(f) for f in run_all(self.build, self.rules)}
        before = self.ranked | self.unranked
        target = finding_key(finding)
        remains = any(finding_key(f) == target for f in after)
        new_errors = tuple(
            f for f in after if f.effective_severity is Severity.ERROR and finding_key(f) not in before
        )
        if new_errors:
            return Outcome(False, _conflict(new_errors), new_errors)
        if remains and all(edit.kind is EditKind.KCONFIG for edit in edits):
            return Outcome(
                False,
                "pmdoctor cannot tell from its model what this does to the rebuilt layout: "
                "confirm with `west build -p` and run pmdoctor again",
            )
        if remains:
            return Outcome(False, "re-running the rules on the edited layout still reports it")
        return Outcome(True)

    def combination(self, finding: Finding, fix: Fix, outcome: Outcome) -> Optional[Fix]:
        """This fix plus the fix of the error it causes, when that pair passes the check."""
        for new in outcome.new_errors:
            for other in new.fixes:
                if not other.edits or self.blocked(other.edits):
                    continue
                edits = tuple(other.edits) + tuple(e for e in fix.edits if e not in other.edits)
                if self.blocked(edits) or not self.outcome(finding, edits).passed:
                    continue
                description = f"{fix.description} — together with: {other.description}"
                return Fix(
                    description, edits=edits, checked=True, field_warning=field_warning(self.build, edits)
                )
        return None


def _conflict(new_errors: Sequence[Finding]) -> str:
    first = new_errors[0]
    more = f" (and {len(new_errors) - 1} more)" if len(new_errors) > 1 else ""
    what = _first_sentence(str(first.message))
    return f"applied, it would cause {first.rule}: {what}{more}; resolve that first"


def _first_sentence(message: str) -> str:
    """Enough of a finding's message to name the conflict on one line."""
    sentence = re.split(r"(?<=[.;])\s", message, maxsplit=1)[0].rstrip(".;")
    return sentence if len(sentence) <= 160 else sentence[:157].rstrip() + "…"


def _separates_header(build: Build, edits: Iterable[Edit]) -> Optional[str]:
    """A move of the image that starts where a ``*_pad`` ends, without the pad: the header is lost."""
    edits = list(edits)
    moved = {e.partition for e in edits if isinstance(e, StaticEdit) and e.key == "address"}
    for edit in edits:
        if not isinstance(edit, StaticEdit) or edit.key != "address" or not isinstance(edit.value, int):
            continue
        for layout in _layouts(build, edit.domain):
            part = layout.get(edit.partition)
            if part is None or part.address is None:
                continue
            for pad in layout.partitions.values():
                if pad.name.endswith("_pad") and pad.end == part.address and pad.name not in moved:
                    return (
                        f"moving `{edit.partition}` to 0x{edit.value:x} separates it from its header in "
                        f"`{pad.name}` (which ends at 0x{pad.end:x}); move the pad with it"
                    )
    return None


def _unaligned(build: Build, edits: Iterable[Edit]) -> Optional[str]:
    """A static address or size that is not whole erase blocks of the partition's flash."""
    for edit in edits:
        # A pad and the image after it sit inside a slot: only the slot is erased as a whole.
        if not isinstance(edit, StaticEdit) or _INSIDE_SLOT.search(edit.partition):
            continue
        values = [(edit.key, edit.value)] if edit.action is Action.SET else []
        if edit.action is Action.ADD:
            values = list(edit.entries)
        region_name = dict(edit.entries).get("region") or _region_of(build, edit)
        block = _erase_block(build, edit.domain, region_name)
        for key, value in values:
            if (
                key in ("address", "size", "end_address")
                and isinstance(value, int)
                and block
                and value % block
                and value != _current_value(build, edit, key)  # a copy of what the build has is no change
            ):
                return f"`{edit.partition}` {key} 0x{value:x} is not whole erase blocks (0x{block:x})"
    return None


def _current_value(build: Build, edit: StaticEdit, key: str) -> Optional[int]:
    """The partition's ``key`` as the build has it (a static file created from partitions.yml copies it)."""
    for layout in _layouts(build, edit.domain):
        part = layout.get(edit.partition)
        if part is not None:
            return {"address": part.address, "size": part.size, "end_address": part.end}.get(key)
    return None


def _layouts(build: Build, domain: Optional[str]) -> List[Layout]:
    found = [s.layout for s in build.static_files if s.domain == domain and s.layout is not None]
    return found + [layout for layout in build.layouts if layout.domain == domain]


def _region_of(build: Build, edit: StaticEdit) -> str:
    for layout in _layouts(build, edit.domain):
        part = layout.get(edit.partition)
        if part is not None:
            return part.region
    return "flash_primary"


def _erase_block(build: Build, domain: Optional[str], region_name: str) -> Optional[int]:
    for layout in _layouts(build, domain):
        region = layout.regions.get(region_name)
        if region is not None and region.erase_block:
            return region.erase_block
    return None
