"""The default, human report: west-style banners, grouped by build and image."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Dict, List, Optional

from ..analysis import Analysis
from ..model import Build, InputFile
from ..model.findings import Finding, Severity, shown
from . import RenderOptions
from ._edits import note_lines, other_files
from ._neutral import block_lines, one_line
from .paths import near_path, near_shower
from .stream import Failure, Piece, Stream, Totals, first_rule, severity_counts, whole

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
    return one_line(near_path(path, options.cwd))


def _words(value: str, options: RenderOptions) -> str:
    """A message, evidence line, fix or note, with its file references relative to the cwd."""
    return one_line(shown(value, near_shower(options.cwd)))


def _header(build: Build, options: RenderOptions, paint: _Paint) -> List[str]:
    where = _path(build.path, options) or "."
    target = one_line(build.board or "unknown board")
    if build.soc:
        target += f" ({one_line(build.soc)})"
    images = ", ".join(one_line(image.name) for image in build.images) or "none found"
    banner = f"{where} — {build.era.value} era · {target} · images: {images}"
    lines = [paint(line, "LIGHTGREEN_EX") for line in _detail(banner, "    ", options, "=== ")]
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
    for detail in details:
        lines += _detail(detail, "      ", options, "    ")
    for note in build.notes:
        lines += _detail(_words(note, options), "          ", options, first="    note: ")
    return lines


def _input_line(item: InputFile, options: RenderOptions) -> str:
    """What one attachment was taken for, or why it was not used."""
    name = _path(item.path, options)
    detail = one_line(item.detail)
    if not item.used:
        return f"not used: {name} — {detail}"
    image = f" of {one_line(item.image)}" if item.image else ""
    return f"read {name} as {one_line(item.taken_as)}{image}" + (f" ({detail})" if detail else "")


def _wrap(text: str, indent: str, options: RenderOptions, first: Optional[str] = None) -> List[str]:
    """Lines of at most the width, broken at spaces only: a path or a name is never split
    (one longer than the width stands on its own line)."""
    return textwrap.wrap(
        text,
        options.width or WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_on_hyphens=False,
        break_long_words=False,
    ) or [indent if first is None else first]


def _detail(text: str, indent: str, options: RenderOptions, first: str) -> List[str]:
    """A note, evidence or log line: wrapped to a terminal's width; whole in a file or a pipe,
    where one line per item is what grep and diff want."""
    if options.width is None:
        return [first + text]
    return _wrap(text, indent, options, first)


def _finding(finding: Finding, paint: _Paint, options: RenderOptions) -> List[str]:
    severity = finding.effective_severity.value
    rule, name = one_line(finding.rule), one_line(finding.name)
    head = f"{paint(severity.upper().ljust(7), _COLORS[severity])} {paint.bold(rule)} {name}"
    if finding.image or finding.domain:
        head += "  [" + "/".join(one_line(x) for x in (finding.domain, finding.image) if x) + "]"
    lines = [head]
    lines += _wrap(_words(finding.message, options), "  ", options)
    if finding.location.file is not None:
        at = _path(finding.location.file, options)
        lines.append(f"  at   {at}:{finding.location.line}" if finding.location.line else f"  at   {at}")
    for symptom in finding.observed:
        seen = near_shower(options.cwd)(symptom.source)
        lines += _detail(f"{one_line(seen)}: {one_line(symptom.text.strip())}", "       ", options, "  seen ")
        lines += _wrap(f"= {one_line(symptom.meaning)}", "       ", options)
    listed = finding.evidence if options.verbose else finding.evidence[:MAX_EVIDENCE]
    for item in listed:
        lines += _detail(_words(item, options), "       ", options, first="  ·    ")
    if len(listed) < len(finding.evidence):
        lines.append(f"  ·    … {len(finding.evidence) - len(listed)} more (-v shows all)")
    for fix in finding.fixes:
        target = f" ({_path(fix.file, options)})" if fix.file else ""
        lines += _wrap(_words(fix.description, options) + target, "       ", options, first="  fix  ")
        if fix.snippet:
            lines += [f"       {line}" for line in block_lines(fix.snippet)]
        for file, text in other_files(fix):
            lines.append(f"       in {_path(file, options)}:")
            lines += [f"       {line}" for line in block_lines(text)]
        for note in note_lines(fix):
            lines += _wrap(one_line(note), "         ", options, first="       ")
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


def _checked(analysis: Analysis, options: RenderOptions) -> List[str]:
    """What was checked: the rules run and the files read (-v lists them)."""
    files = files_read(analysis.build)
    rules = len(analysis.rules_run)
    line = f"    checked: {_count(rules, 'rule')}, {_count(len(files), 'file')} read"
    if not options.verbose:
        return [line + (" (-v lists them)" if files else "")]
    return [line + (":" if files else "")] + [f"      {_path(path, options)}" for path in files]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


def files_read(build: Build) -> List[Path]:
    """The files the analysis read, each once, in the order the report's header names things."""
    found: List[Optional[Path]] = []
    if build.cmake_cache:
        found.append(Path(build.path) / "CMakeCache.txt")
    found.append(build.sysbuild_config.file)
    found += [layout.file for layout in build.layouts]
    found += [static.path for static in build.static_files]
    for image in build.images:
        found += [image.config.file, image.devicetree.file]
    if build.source_dir is not None:
        found += [Path(build.source_dir) / name for name in (*build.user_configs, *build.user_overlays)]
    found += [symptom.source.file for symptom in build.symptoms]
    found += [problem.source.file for problem in build.problems]
    return [Path(path) for path in dict.fromkeys(path for path in found if path is not None)]


class TextStream(Stream):
    """Each build: its header, its findings ranked, a tally per image; then the totals."""

    def piece(self, analysis: Analysis, options: RenderOptions) -> Piece:
        paint = _Paint(options.color)
        out = _header(analysis.build, options, paint)
        if not analysis.findings or options.verbose:
            out += _checked(analysis, options)
        out.append("")
        # Ranked order, root cause first: grouping by image would put an
        # image's warning above another image's error. Each finding names its
        # image, and the per-image tally below groups them.
        for finding in analysis.findings:
            out += _finding(finding, paint, options)
            out.append("")
        if analysis.findings and len(analysis.build.images) > 1:
            out += [f"    by image — {_per_image(analysis.findings)}", ""]
        return Piece("\n".join(out) + "\n", severity_counts(analysis), first_rule(analysis))

    def failed(self, failure: Failure, options: RenderOptions) -> Piece:
        paint = _Paint(options.color)
        where = _path(failure.path, options) or "."
        head = paint(f"=== {where} — not checked", _COLORS["error"])
        lines = [head, *_wrap(one_line(failure.message), "    ", options), ""]
        return Piece("\n".join(lines) + "\n", failure=failure)

    def tail(self, totals: Totals, options: RenderOptions) -> str:
        tail = summary_line({s.value: totals.count(s.value) for s in Severity})
        if totals.failures:
            tail += f"; {len(totals.failures)} not checked"
        if totals.builds > 1:
            tail += f" in {totals.builds} builds"
        if totals.first_rule is not None:
            tail += f" — `{one_line(options.command)} --explain {one_line(totals.first_rule)}` for details"
        return tail + "\n"


STREAM = TextStream()


def render(analyses: List[Analysis], options: RenderOptions) -> str:
    return whole(STREAM, analyses, options)
