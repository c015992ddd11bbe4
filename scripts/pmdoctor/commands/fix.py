"""``pmdoctor fix``: show (or, with ``--write``, make) the checked edits of the findings' fixes.

Only what a fix marks mechanical (:attr:`~pmdoctor.model.findings.Fix.mechanical`:
it has edits and they passed their re-check) is applied, and only into the
user's sources: never into a file under the build directory (generated), never
into one outside the application (an SDK board file). A fix that moves or
resizes a partition devices in the field depend on (``field_warning``) waits
for ``--allow-layout-change``. Everything else is listed as advice.

Without ``--write`` the command prints the unified diff of every change it
would make; with it, each file is replaced atomically after a backup, and a
file that changed since it was read is refused. Then the build is analysed
again with the edited sources, and what only a new build can confirm
(Kconfig fragments, overlays, the regenerated ``partitions.yml``) is named.

Exit codes: 0 nothing to do, or everything applied; 1 something left (a diff
not written, advice, a refused or failed edit, a new error after the edit);
2 usage or input error.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Dict, List, Optional, Sequence, Set, Tuple

from ..analysis import Analysis
from ..assemble import load_build
from ..baseline import BaselineError, load_baseline
from ..fixes.apply import EditError, FileChange, apply_edits, plan_file, read_source
from ..fixes.verify import checked_analysis as _checked  # every fix marked mechanical or advice
from ..fixes.verify import finding_key as _key  # one identity of a finding across two analyses
from ..fixes.write import WriteRefused, file_digest, replace_edited
from ..inputs.locate import NoBuildDirectory
from ..model import Build
from ..model.edits import Edit, EditKind, KconfigEdit, StaticEdit
from ..model.findings import Finding, Fix, Severity, shown
from ..report._neutral import block_lines, one_line
from ..report.paths import display_path, relative_shower
from .common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Context, UsageError, build_dirs, selected_rules


@dataclass(frozen=True)
class FixOptions:
    build_dirs: Sequence[str] = ()  # -d, as typed
    rules: Sequence[str] = ()  # --rule (repeatable, or comma-separated) and --rules
    write: bool = False  # --write
    backup_dir: Optional[str] = None  # --backup-dir
    allow_layout_change: bool = False  # --allow-layout-change
    baseline: Optional[str] = None  # --baseline: the layout in the field
    format: Optional[str] = None  # only text


@dataclass
class Offer:
    """One fix of one finding, and what ``fix`` does with it."""

    finding: Finding
    fix: Fix
    # None: applied (or to be); else why not, in words ("advice: …", "needs --allow-layout-change")
    held: Optional[str] = None

    @property
    def rule(self) -> str:
        return f"{self.finding.rule} {self.finding.name}".strip()


@dataclass
class Outcome:
    """One build's plan: the offers, the file changes that carry the applied ones, what went wrong."""

    directory: Path
    source_dir: Optional[Path] = None  # the application, where backups take their relative names
    offers: List[Offer] = field(default_factory=list)
    changes: List[FileChange] = field(default_factory=list)
    written: List[Tuple[FileChange, Optional[Path]]] = field(default_factory=list)
    refused: List[str] = field(default_factory=list)

    @property
    def applied(self) -> List[Offer]:
        return [offer for offer in self.offers if offer.held is None]

    @property
    def held(self) -> List[Offer]:
        return [offer for offer in self.offers if offer.held is not None]


def run_fix(options: FixOptions, ctx: Context) -> int:
    if (options.format or "text") != "text":
        ctx.stderr.write(f"pmdoctor: fix prints a diff and a summary (text), not {options.format}\n")
        return EXIT_USAGE
    try:
        selected = selected_rules(",".join(options.rules)) if options.rules else None
        directories = build_dirs(options.build_dirs, ctx)
        baselines = load_baseline(ctx.cwd / options.baseline) if options.baseline else []
    except (UsageError, NoBuildDirectory, BaselineError) as error:
        ctx.stderr.write(f"pmdoctor: {one_line(error)}\n")
        return EXIT_USAGE
    backup_dir = Path(ctx.cwd, options.backup_dir) if options.backup_dir else None
    left = False
    for directory in directories:
        analysis = _analyse(directory, selected, baselines, ctx)
        outcome = plan(analysis, options.allow_layout_change)
        ctx.stdout.write(render_plan(outcome, options, ctx))
        if options.write and any(change.changed for change in outcome.changes):
            write(outcome, backup_dir)
            after = _analyse(directory, selected, baselines, ctx)
            ctx.stdout.write(render_written(outcome, analysis, after, ctx))
            remaining = {_key(finding) for finding in after.findings}
            # An alternative left as advice does not count when another fix of its finding was applied.
            applied = {_key(offer.finding) for offer in outcome.applied}
            still_held = [
                offer
                for offer in outcome.held
                if _key(offer.finding) in remaining and _key(offer.finding) not in applied
            ]
            new = [f for f in _new_errors(analysis, after) if not _in_build_output(f, after)]
            left = left or bool(outcome.refused or still_held or new)
        else:
            pending = any(change.changed for change in outcome.changes) and not options.write
            left = left or bool(pending or outcome.held or outcome.refused)
    return EXIT_FINDINGS if left else EXIT_OK


def _analyse(directory: Path, selected: Optional[List[str]], baselines: list, ctx: Context) -> Analysis:
    build = load_build(directory, ctx.environment)
    build.baselines = baselines
    return _checked(build, selected)


# ------------------------------------------------------------------------------------------ planning


def _under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (OSError, ValueError):
        return False


def _why_held(fix: Fix, build: Build, allow_layout_change: bool) -> Optional[str]:
    """Why a fix is not applied (None: it is)."""
    build_dir = build.path
    if not fix.mechanical:
        if not fix.edits:
            return "advice: no edit pmdoctor can make"
        if fix.checked is False:
            conflict = f" ({fix.conflict})" if fix.conflict else ""
            return f"advice: its edit did not pass the re-check{conflict}"
        return "advice: its edit was not checked"
    for edit in fix.edits:
        file = Path(edit.target.file)
        # A build copied from another machine names sources that are not here (C:/Users/…):
        # such a path must never be created relative to the current directory.
        if not build.source_available or not file.is_absolute():
            return f"advice: the application sources ({file.parent}) are not on this machine"
        if edit.target.exists and not file.is_file():
            return f"advice: {file.name} is not there any more; run pmdoctor on a fresh build"
        if _under(edit.target.file, build_dir):
            return f"advice: {edit.target.file.name} is generated under the build directory"
        if edit.target.outside_source:
            return f"advice: {edit.target.file.name} is outside the application ({edit.target.convention})"
    if fix.field_warning and not allow_layout_change:
        return "moves a partition devices in the field use: needs --allow-layout-change"
    return None


def plan(analysis: Analysis, allow_layout_change: bool) -> Outcome:
    """Which fixes are applied, and the text of every file they change."""
    outcome = Outcome(analysis.build.path, analysis.build.source_dir)
    for finding in analysis.findings:
        for fix in finding.fixes:
            held = _why_held(fix, analysis.build, allow_layout_change)
            outcome.offers.append(Offer(finding, fix, held))
    # A fix whose edits do not fit its files is held whole, so no fix is half applied.
    texts: Dict[Path, str] = {}
    for offer in outcome.applied:
        try:
            for path, edits in _by_file(offer.fix.edits, offer.rule).items():
                if path not in texts:
                    texts[path] = read_source(path)[0] or ""
                apply_edits(texts[path], edits)
        except (EditError, OSError) as error:
            message = error.strerror if isinstance(error, OSError) else str(error)
            offer.held = f"cannot be applied: {path.name}: {message}"
    while True:  # until every file takes all the edits of the fixes still applied
        outcome.changes, clash = _plan_files(outcome.applied)
        if clash is None:
            return outcome
        path, error = clash
        for offer in outcome.applied:  # two fixes that each fit, but not together: hold both, whole
            if path in _by_file(offer.fix.edits, offer.rule):
                offer.held = f"cannot be applied with the other fixes to {path.name}: {error}"


def _plan_files(offers: List[Offer]) -> Tuple[List[FileChange], Optional[Tuple[Path, str]]]:
    edits_by_file: Dict[Path, List[Tuple[Edit, str]]] = {}
    for offer in offers:
        for path, edits in _by_file(offer.fix.edits, offer.rule).items():
            known = edits_by_file.setdefault(path, [])
            known.extend(pair for pair in edits if pair[0] not in {edit for edit, _ in known})
    changes = []
    for path, edits in edits_by_file.items():
        disagreement = _disagreement([edit for edit, _ in edits])
        if disagreement:
            return [], (path, disagreement)
        try:
            changes.append(plan_file(path, edits))
        except EditError as error:
            return [], (path, str(error))
    return changes, None


def _disagreement(edits: Sequence[Edit]) -> Optional[str]:
    """Two different edits of one key or symbol, or a partition added or removed while another
    edit changes it: applied in turn, the last would silently win."""
    by_subject: Dict[Tuple, Edit] = {}
    whole: Dict[str, Edit] = {}  # partition -> the edit that adds or removes it
    keyed: Set[str] = set()  # partitions some edit sets a key of
    for edit in edits:
        if isinstance(edit, KconfigEdit):
            subject: Tuple = (edit.symbol,)
        elif isinstance(edit, StaticEdit) and edit.key is None:
            if whole.setdefault(edit.partition, edit) != edit or edit.partition in keyed:
                return f"two fixes change `{edit.partition}` differently"
            continue
        elif isinstance(edit, StaticEdit):
            if edit.partition in whole:
                return f"two fixes change `{edit.partition}` differently"
            keyed.add(edit.partition)
            subject = (edit.partition, edit.key)
        else:
            continue  # overlay additions only add
        if by_subject.setdefault(subject, edit) != edit:
            return f"two fixes change `{' '.join(subject)}` differently"
    return None


def _by_file(edits: Sequence[Edit], rule: str) -> Dict[Path, List[Tuple[Edit, str]]]:
    files: Dict[Path, List[Tuple[Edit, str]]] = {}
    for edit in edits:
        files.setdefault(Path(edit.target.file), []).append((edit, rule))
    return files


# ------------------------------------------------------------------------------------------ writing


def write(outcome: Outcome, backup_dir: Optional[Path]) -> None:
    """Write every changed file; none when any of them changed since it was read."""
    changed = [change for change in outcome.changes if change.changed]
    stale = []
    for change in changed:
        try:
            current = change.path.read_bytes() if change.path.exists() else None
        except OSError:
            current = b""
        if file_digest(current) != change.read_digest:
            stale.append(f"{change.path}: it changed since pmdoctor read it; nothing written, run fix again")
    if stale:
        outcome.refused.extend(stale)
        return
    for change in changed:
        relative = _relative(change.path, outcome.source_dir)
        try:
            backup = replace_edited(change.path, change.after, change.read_digest, backup_dir, relative)
        except WriteRefused as refusal:
            outcome.refused.append(str(refusal))
            continue
        except OSError as error:
            outcome.refused.append(f"cannot write {change.path}: {error.strerror or error}")
            continue
        outcome.written.append((change, backup))


def _relative(path: Path, source_dir: Optional[Path]) -> Optional[PurePath]:
    """The file's path inside the application, so a backup folder keeps files of one name apart."""
    if source_dir is None:
        return None
    try:
        return path.resolve().relative_to(Path(source_dir).resolve())
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------------------------------ text


def _show(path: Path, ctx: Context) -> str:
    return one_line(display_path(path, ctx.cwd))


def _diff(change: FileChange, ctx: Context) -> List[str]:
    name = _show(change.path, ctx)
    before = (change.before or "").splitlines(keepends=True)
    after = change.after.splitlines(keepends=True)
    old = "/dev/null" if change.before is None else f"a/{name}"
    lines = []
    for line in difflib.unified_diff(before, after, old, f"b/{name}"):
        lines.extend(block_lines(line.rstrip("\r\n")) or [""])
    return lines


def _offer_line(offer: Offer, ctx: Context) -> str:
    show = relative_shower(ctx.cwd)
    return f"  {offer.rule}: {one_line(shown(offer.finding.message, show))}"


def render_plan(outcome: Outcome, options: FixOptions, ctx: Context) -> str:
    out = [f"pmdoctor fix: {_show(outcome.directory, ctx)}"]
    changed = [change for change in outcome.changes if change.changed]
    for change in changed:
        out.append("")
        out.extend(_diff(change, ctx))
    applied = outcome.applied
    if applied:
        verb = "Applying" if options.write else "Would apply"
        out += ["", f"{verb} {len(applied)} fix{'es' if len(applied) != 1 else ''}:"]
        for offer in applied:
            out.append(_offer_line(offer, ctx))
            targets = {(edit.target.file, edit.target.convention): None for edit in offer.fix.edits}
            for file, convention in targets:
                out.append(f"    {_show(file, ctx)} ({one_line(convention)})")
            if offer.fix.field_warning:
                out.append(f"    ! {one_line(offer.fix.field_warning)}")
        if not changed:
            out.append("  (already in your files: nothing to change)")
    held = outcome.held
    if held:
        out += ["", f"Not applied ({len(held)}):"]
        for offer in held:
            out.append(_offer_line(offer, ctx))
            out.append(f"    {one_line(offer.held)}")
            out.append(f"    fix: {one_line(shown(offer.fix.description, relative_shower(ctx.cwd)))}")
            if offer.fix.field_warning:
                out.append(f"    ! {one_line(offer.fix.field_warning)}")
    if not outcome.offers:
        out.append("Nothing to fix: no finding has a fix.")
    for refusal in outcome.refused:
        out.append(f"Refused: {one_line(refusal)}")
    if changed and not options.write:
        out += ["", f"Run `{ctx.command} fix --write` (with the same options) to make these changes."]
    return "\n".join(out) + "\n"


def _new_errors(before: Analysis, after: Analysis) -> List[Finding]:
    known = {_key(finding) for finding in before.findings}
    return [
        finding
        for finding in after.findings
        if finding.effective_severity.at_least(Severity.ERROR) and _key(finding) not in known
    ]


def _in_build_output(finding: Finding, analysis: Analysis) -> bool:
    """A finding read from a file the build generated (partitions.yml, .config, zephyr.dts)."""
    located = finding.location.file if finding.location is not None else None
    if located is None:
        return False
    try:
        Path(located).resolve().relative_to(Path(analysis.build.path).resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def render_written(outcome: Outcome, before: Analysis, after: Analysis, ctx: Context) -> str:
    out = [""]
    for change, backup in outcome.written:
        saved = f" (backup {_show(backup, ctx)})" if backup else " (created)"
        out.append(f"Wrote {_show(change.path, ctx)}{saved}")
    for refusal in outcome.refused:
        out.append(f"Refused: {one_line(refusal)}")
    written = {change.path for change, _ in outcome.written}
    remaining = {_key(finding) for finding in after.findings}
    show = relative_shower(ctx.cwd)
    rebuild: Set[str] = set()
    for offer in outcome.applied:
        files = {Path(edit.target.file) for edit in offer.fix.edits}
        if not files & written:
            continue
        rebuild.update(_show(path, ctx) for path in files)
        message = one_line(shown(offer.finding.message, show))
        if all(edit.kind is EditKind.STATIC for edit in offer.fix.edits):
            # pmdoctor reads the static layout from the sources: this one it can check now.
            state = "still reported" if _key(offer.finding) in remaining else "gone"
            out.append(f"Re-checked from your sources: {offer.finding.rule} is {state}: {message}")
        else:
            out.append(f"Needs a new build to confirm: {offer.finding.rule}: {message}")
    applied = {_key(offer.finding) for offer in outcome.applied}
    gone = sorted(
        {
            offer.finding.rule
            for offer in outcome.held
            if _key(offer.finding) not in remaining and _key(offer.finding) not in applied
        }
    )
    if gone:
        out.append(f"Gone with these edits too: {', '.join(gone)}")
    stale = []
    for finding in _new_errors(before, after):
        if _in_build_output(finding, after):
            stale.append(finding.rule)
            continue
        out.append(f"New after the edit: {finding.rule} {one_line(shown(finding.message, show))}")
    if stale:
        # The build's generated files still describe the old sources until the next build.
        out.append(
            "Until the next build, the old partitions.yml/.config still show: "
            + ", ".join(sorted(set(stale)))
        )
    if rebuild:
        out.append(
            f"Confirm with `west build -p`, then `{ctx.command}`: "
            f"the changes to {', '.join(sorted(rebuild))} "
            "take effect in a pristine build (it regenerates partitions.yml, .config and zephyr.dts)"
        )
    return "\n".join(out) + "\n"
