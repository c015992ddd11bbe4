"""The default, human report: west-style banners, grouped by build and image."""

from __future__ import annotations

import textwrap
from typing import Dict, List, Optional

from ..analysis import Analysis
from ..model import Build, InputFile
from ..model.findings import Finding, Severity, shown
from . import RenderOptions
from ._edits import note_lines, other_files
from ._neutral import block_lines, one_line
from .paths import display_path, relative_shower

_COLORS = {"error": "LIGHTRED_EX", "warning": "LIGHTYELLOW_EX", "note": "LIGHTCYAN_EX"}
WIDTH = 100
MAX_EVIDENCE = 5


class _Paint:
    def __init__(self, enabled: bool):
        self.fore = self.style = None
        if enabled:  # colorama only when colouring: importing it costs more than a small report
            try:
                from colorama import Fore, Style

                self.fore, self.style = Fore, Style
            except ImportError:  # pragma: no cover - colorama is a dependency; be safe anyway
                pass
        self.enabled = enabled and self.fore is not None

    def __call__(self, text: str, color: str) -> str:
        if not self.enabled:
            return text
        return f"{getattr(self.fore, color)}{text}{self.style.RESET_ALL}"

    def bold(self, text: str) -> str:
        return f"{self.style.BRIGHT}{text}{self.style.RESET_ALL}" if self.enabled else text


def _path(path, options: RenderOptions) -> str:
    return one_line(display_path(path, options.cwd))


def _words(value: str, options: RenderOptions) -> str:
    """A message, evidence line, fix or note, with its file references relative to the cwd."""
    return one_line(shown(value, relative_shower(options.cwd)))


def _header(build: Build, options: RenderOptions) -> List[str]:
    where = _path(build.path, options) or "."
    target = one_line(build.board or "unknown board")
    if build.soc:
        target += f" ({one_line(build.soc)})"
    images = ", ".join(one_line(image.name) for image in build.images) or "none found"
    lines = [f"=== {where} — {build.era.value} era · {target} · images: {images}"]
    details = []
    if build.layouts:
        details.append(
            "Partition Manager: " + ", ".join(_path(layout.file, options) for layout in build.layouts)
        )
    elif build.inputs:  # triage: loose files, no build directory
        details += [_input_line(item, options) for item in build.inputs]
    elif build.partition_manager:
        details.append("Partition Manager enabled; no partitions.yml in the build")
    else:
        details.append("no Partition Manager: layout from devicetree partitions")
    for static in build.static_files:
        details.append(f"static layout: {_path(static.path, options)} ({one_line(static.how_found)})")
    lines += [f"    {detail}" for detail in details]
    lines += [f"    note: {_words(note, options)}" for note in build.notes]
    return lines


def _input_line(item: InputFile, options: RenderOptions) -> str:
    """What one attachment was taken for, or why it was not used."""
    name = _path(item.path, options)
    detail = one_line(item.detail)
    if not item.used:
        return f"not used: {name} — {detail}"
    image = f" of {one_line(item.image)}" if item.image else ""
    return f"read {name} as {one_line(item.taken_as)}{image}" + (f" ({detail})" if detail else "")


def _wrap(text: str, indent: str) -> List[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False
    ) or [indent]


def _finding(finding: Finding, paint: _Paint, options: RenderOptions) -> List[str]:
    severity = finding.effective_severity.value
    rule, name = one_line(finding.rule), one_line(finding.name)
    head = f"{paint(severity.upper().ljust(7), _COLORS[severity])} {paint.bold(rule)} {name}"
    if finding.image or finding.domain:
        head += "  [" + "/".join(one_line(x) for x in (finding.domain, finding.image) if x) + "]"
    lines = [head]
    lines += _wrap(_words(finding.message, options), "  ")
    if finding.location.file is not None:
        at = _path(finding.location.file, options)
        lines.append(f"  at   {at}:{finding.location.line}" if finding.location.line else f"  at   {at}")
    for symptom in finding.observed:
        seen = relative_shower(options.cwd)(symptom.source)
        lines.append(f"  seen {one_line(seen)}: {one_line(symptom.text.strip())}")
        lines += _wrap(f"= {one_line(symptom.meaning)}", "       ")
    listed = finding.evidence if options.verbose else finding.evidence[:MAX_EVIDENCE]
    lines += [f"  ·    {_words(item, options)}" for item in listed]
    if len(listed) < len(finding.evidence):
        lines.append(f"  ·    … {len(finding.evidence) - len(listed)} more (-v shows all)")
    for fix in finding.fixes:
        target = f" ({_path(fix.file, options)})" if fix.file else ""
        lines += textwrap.wrap(
            _words(fix.description, options) + target,
            WIDTH,
            initial_indent="  fix  ",
            subsequent_indent="       ",
            break_on_hyphens=False,
        )
        if fix.snippet:
            lines += [f"       {line}" for line in block_lines(fix.snippet)]
        for file, text in other_files(fix):
            lines.append(f"       in {_path(file, options)}:")
            lines += [f"       {line}" for line in block_lines(text)]
        for note in note_lines(fix):
            lines += textwrap.wrap(
                one_line(note),
                WIDTH,
                initial_indent="       ",
                subsequent_indent="         ",
                break_on_hyphens=False,
            )
    return lines


def _per_image(findings: List[Finding]) -> str:
    """``app: 1 error · whole build: 2 errors``, in order of each image's first finding."""
    groups: Dict[Optional[str], Dict[str, int]] = {}
    for finding in findings:
        counts = groups.setdefault(finding.image, {s.value: 0 for s in Severity})
        counts[finding.effective_severity.value] += 1
    return " · ".join(
        f"{one_line(image) if image else 'whole build'}: {summary_line(c)}" for image, c in groups.items()
    )


def summary_line(counts: Dict[str, int]) -> str:
    parts = [
        f"{counts[s.value]} {s.value}{'s' if counts[s.value] != 1 else ''}"
        for s in Severity
        if counts[s.value]
    ]
    return ", ".join(parts) if parts else "no findings"


def render(analyses: List[Analysis], options: RenderOptions) -> str:
    paint = _Paint(options.color)
    out: List[str] = []
    totals = {s.value: 0 for s in Severity}
    for analysis in analyses:
        out += [
            paint(line, "LIGHTGREEN_EX") if line.startswith("===") else line
            for line in _header(analysis.build, options)
        ]
        out.append("")
        # Ranked order, root cause first: grouping by image would put an
        # image's warning above another image's error. Each finding names its
        # image, and the per-image tally below groups them.
        for finding in analysis.findings:
            out += _finding(finding, paint, options)
            out.append("")
        if analysis.findings and len(analysis.build.images) > 1:
            out += [f"    by image — {_per_image(analysis.findings)}", ""]
        for key, value in analysis.summary.items():
            totals[key] += value
        if not analysis.findings:
            out += ["    no findings", ""]
    first = next((f for a in analyses for f in a.findings), None)
    tail = summary_line(totals)
    if first is not None:
        tail += f" — `{one_line(options.command)} --explain {one_line(first.rule)}` for details"
    out.append(tail)
    return "\n".join(out) + "\n"
