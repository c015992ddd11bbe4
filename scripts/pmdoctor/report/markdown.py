"""``--format markdown``: a reply ready to paste into a forum thread (DevZone, GitHub).

What was looked at, the findings most likely root cause first with their
evidence lines quoted, each fix as a code block for the file the user edits
(in the user's era, as the rules wrote it), and what to attach next.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from .. import __version__
from ..analysis import Analysis
from ..model import Build
from ..model.findings import Finding, Fix, shown
from . import RenderOptions
from ._edits import note_lines, other_files
from ._neutral import block_lines, md_code, md_fence, md_text
from .paths import display_path, source_shower
from .stream import Failure, Piece, Stream, Totals, first_rule, severity_counts, whole
from .text import summary_line

_LANGUAGES = {
    ".conf": "ini",
    ".yml": "yaml",
    ".yaml": "yaml",
    ".overlay": "dts",
    ".dts": "dts",
    ".dtsi": "dts",
}


@dataclass(frozen=True)
class _Options:
    cwd: Optional[Path]
    anchor: Optional[Path]  # the folder holding the build directory or the attachments
    source: Optional[Path] = None  # the application's source folder, when the build names it


def _name(path: Optional[Path], options: _Options) -> str:
    """Relative to the cwd, else to the folder holding the build or attachments: a forum reply
    must not carry this machine's absolute paths (a file elsewhere is named by its file name)."""
    if path is None:
        return ""
    shown = display_path(path, options.cwd)
    if not Path(shown).is_absolute():
        return shown
    # The user's own project (from their CMakeCache) reads best as they know it: sysbuild/mcuboot.conf.
    for folder in (options.source, options.anchor):
        if folder is not None and Path(path).is_relative_to(folder):
            return Path(path).relative_to(folder).as_posix()
    return Path(path).name


def _words(value: str, options: _Options) -> str:
    """A message, evidence line, fix or note with its file references as the reply names files."""
    return shown(value, source_shower(lambda path: _name(path, options)))


def _scrub(text: str, options: _Options) -> str:
    """Free text (notes) with this machine's folders removed from the paths it names."""
    for folder in (options.cwd, options.anchor):
        if folder is not None and str(folder) not in ("/", "."):
            text = text.replace(str(folder).rstrip("/\\") + "/", "")
    return text


def _looked_at(build: Build, options: _Options) -> List[str]:
    target = build.board or "board unknown"
    if build.soc:
        target += f" ({build.soc})"
    if build.ncs_version:
        version = f"NCS v{build.ncs_version}"
    elif build.zephyr_version:
        version = f"Zephyr v{build.zephyr_version} (NCS version unknown)"
    else:
        version = "NCS version unknown"
    images = ", ".join(image.name for image in build.images) or "none"
    looked = f"{target} · {build.era.value} era · {version} · images: {images}"
    out = [f"**What I looked at** — {md_text(looked)}", ""]
    if build.inputs:
        out += ["| file | taken as | |", "|---|---|---|"]
        for item in build.inputs:
            taken = item.taken_as + (f" ({item.image})" if item.image and item.taken_as else "")
            taken = md_text(taken, table=True) if taken else "**not used**"
            detail = md_text(_scrub(item.detail, options), table=True)
            out.append(f"| {md_code(_name(item.path, options), table=True)} | {taken} | {detail} |")
        out.append("")
    else:
        files = [layout.file for layout in build.layouts] + [s.path for s in build.static_files]
        files += [image.config.file for image in build.images if image.config.file]
        shown = ", ".join(md_code(_name(f, options)) for f in files if f is not None)
        out += [
            f"Build directory {md_code(_name(build.path, options) or '.')}: {shown or 'no layout files'}",
            "",
        ]
    notes = list(build.notes)
    if notes:
        out += [f"- {md_text(_scrub(_words(note, options), options))}" for note in notes] + [""]
    return out


def _evidence(finding: Finding, options: _Options) -> List[str]:
    lines: List[str] = []
    quotes: List[str] = []
    lines += [f"   - {md_text(_words(item, options))}" for item in finding.evidence]
    for symptom in finding.observed:
        where = _name(symptom.source.file, options) if symptom.source.file else "log"
        if symptom.source.line:
            where += f":{symptom.source.line}"
        quotes += [
            "",
            f"   > {md_code(symptom.text.strip())}  ",
            f"   > — {md_text(where)}: {md_text(symptom.meaning)}",
        ]
    return lines + quotes


def _language(fix: Fix) -> str:
    snippet = fix.snippet or ""
    if any(line.startswith(("west ", "mv ", "cp ", "nrfutil ")) for line in snippet.splitlines()):
        return "sh"
    if snippet.startswith(("- ", "+ ")):
        return "diff"
    return _LANGUAGES.get(fix.file.suffix.lower(), "") if fix.file is not None else ""


def _fix(fix: Fix, options: _Options) -> List[str]:
    target = f" in {md_code(_name(fix.file, options))}" if fix.file is not None else ""
    lines = [f"   **Fix:** {md_text(_words(fix.description, options))}{target}"]
    if fix.snippet:
        body = block_lines(fix.snippet)
        fence = md_fence(body)
        lines += ["", f"   {fence}{_language(fix)}", *(f"   {line}" for line in body), f"   {fence}"]
    for file, text in other_files(fix):
        body = block_lines(text)
        fence = md_fence(body)
        lines += [
            "",
            f"   and in {md_code(_name(file, options))}:",
            "",
            f"   {fence}",
            *(f"   {line}" for line in body),
        ]
        lines.append(f"   {fence}")
    for note in note_lines(fix):
        # Plain, not emphasised: a forum reply's own markup stays headings and bold labels only.
        lines += ["", f"   {md_text(note)}"]
    return lines


def _finding(number: int, finding: Finding, options: _Options) -> List[str]:
    severity = finding.effective_severity.value.upper()
    scope = f" [{md_text(finding.image)}]" if finding.image else ""
    rule = md_text(finding.rule)
    message = md_text(_words(finding.message, options))
    head = f"{number}. **{severity} {rule}** {md_code(finding.name)}{scope} — {message}"
    lines = [head]
    if finding.location.file is not None:
        where = _name(finding.location.file, options)
        lines.append(
            f"   (at {md_code(where + (f':{finding.location.line}' if finding.location.line else ''))})"
        )
    lines += _evidence(finding, options)
    for fix in finding.fixes:
        lines += ["", *_fix(fix, options)]
    return [*lines, ""]


def _analysis(analysis: Analysis, options: _Options) -> List[str]:
    build = analysis.build
    out = _looked_at(build, options)
    if analysis.findings:
        out += ["**What I found** (most likely root cause first)", ""]
        for number, finding in enumerate(analysis.findings, start=1):
            out += _finding(number, finding, options)
    else:
        out += ["**What I found:** nothing wrong in what was attached.", ""]
    if build.wanted:
        out += ["**Please attach next**", ""]
        out += [f"- {md_text(item)}" for item in build.wanted] + [""]
    return out


def _parent(path: Optional[Path]) -> Optional[Path]:
    """The folder holding the build directory (None when the path cannot be resolved)."""
    try:
        return path.resolve().parent if path else None
    except (OSError, ValueError, RuntimeError):  # a NUL in a name, or a link loop
        return None


class MarkdownStream(Stream):
    """The reply: a heading, each build's section (``---`` between them), the totals."""

    separator = "---\n\n"

    def head(self, totals: Totals, options: RenderOptions) -> str:
        return "### Flash layout diagnosis\n\n"

    def piece(self, analysis: Analysis, options: RenderOptions) -> Piece:
        anchor = _parent(analysis.build.path)
        lines = _analysis(analysis, _Options(options.cwd, anchor, analysis.build.source_dir))
        return Piece("\n".join(lines) + "\n", severity_counts(analysis), first_rule(analysis))

    def failed(self, failure: Failure, options: RenderOptions) -> Piece:
        where = _name(failure.path, _Options(options.cwd, _parent(failure.path)))
        text = f"**Not checked** — {md_code(where or '.')}: {md_text(failure.message)}\n\n"
        return Piece(text, failure=failure)

    def tail(self, totals: Totals, options: RenderOptions) -> str:
        counts = {severity: totals.count(severity) for severity in ("error", "warning", "note")}
        tail = f"<sub>{summary_line(counts)} · pmdoctor {__version__}"
        if totals.first_rule is not None:
            tail += f" · {md_code(f'{options.command} --explain {totals.first_rule}')} for details"
        return tail + "</sub>\n"


STREAM = MarkdownStream()


def render(analyses: List[Analysis], options: RenderOptions) -> str:
    return whole(STREAM, analyses, options)
