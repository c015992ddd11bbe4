"""``pmdoctor map``: every region of every layout in the terminal, to scale, with the findings on it.

One block per region: a title with its extent and how full it is, then one
row per partition in address order (members indented under their
container, free space as its own row), each with start, end, size and a bar
that places it in the region. Partitions that findings are about carry the
rule IDs (and their severity's colour on a terminal). Lines never exceed the
width: columns that do not fit are dropped, bar first shortened, names cut.
"""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass, replace
from typing import List, Optional

from ..analysis import Analysis
from ..model.findings import Finding, Severity
from . import RenderOptions
from ._map_model import (
    BuildMap,
    LayoutMap,
    RegionMap,
    Row,
    RowKind,
    build_map,
    by_severity,
    human_size,
    layout_title,
    region_extent_text,
    worst_severity,
)
from ._neutral import one_line
from .text import _header, summary_line

try:
    from colorama import Fore, Style
except ImportError:  # pragma: no cover - colorama is a dependency; be safe anyway
    Fore = Style = None  # type: ignore[assignment]

MIN_WIDTH = 80
MAX_BAR = 64
MAX_NAME, MIN_NAME = 40, 12  # the partition column: never wider, never cut below
MAX_MARKS = 20
_SEVERITY_COLOURS = {"error": "LIGHTRED_EX", "warning": "LIGHTYELLOW_EX", "note": "LIGHTCYAN_EX"}
_FILL = {
    RowKind.PARTITION: "█",
    RowKind.CONTAINER: "▒",
    RowKind.FREE: "░",
    RowKind.GAP: "░",
}
_BACKGROUND = "·"
_HUMAN = 10  # "206.65 KiB"
NOTHING_TO_DRAW = "no partitions file, static file or devicetree partitions"


def terminal_width() -> int:
    """``$COLUMNS``, else the terminal's width, else 80."""
    return shutil.get_terminal_size(fallback=(MIN_WIDTH, 24)).columns


class _Paint:
    def __init__(self, enabled: bool):
        self.enabled = enabled and Fore is not None

    def color(self, text: str, color: Optional[str]) -> str:
        if not self.enabled or not color or not text:
            return text
        return f"{getattr(Fore, color)}{text}{Style.RESET_ALL}"

    def severity(self, text: str, severity: Optional[Severity]) -> str:
        return self.color(text, _SEVERITY_COLOURS[severity.value] if severity else None)

    def dim(self, text: str) -> str:
        return f"{Style.DIM}{text}{Style.RESET_ALL}" if self.enabled and text else text

    def bold(self, text: str) -> str:
        return f"{Style.BRIGHT}{text}{Style.RESET_ALL}" if self.enabled and text else text


def render(analyses: List[Analysis], options: RenderOptions) -> str:
    width = max(MIN_WIDTH, getattr(options, "width", None) or terminal_width())
    paint = _Paint(options.color)
    out: List[str] = []
    totals = {s.value: 0 for s in Severity}
    for analysis in analyses:
        out += _build(analysis, options, paint, width)
        for key, value in analysis.summary.items():
            totals[key] += value
    first = next((f for a in analyses for f in a.findings), None)
    tail = summary_line(totals)
    if first is not None:
        tail += f" — `{one_line(options.command)} --explain {one_line(first.rule)}` for details"
    out += _wrap(tail, width, "")
    return "\n".join(out) + "\n"


def _plain(line: str, color: str) -> str:
    return line


def _build(analysis: Analysis, options: RenderOptions, paint: _Paint, width: int) -> List[str]:
    out: List[str] = []
    # The text report's header, unpainted and unwrapped: the map wraps and paints it itself.
    for line in _header(analysis.build, replace(options, width=None), _plain):
        wrapped = _wrap(line, width, "    ")
        out += [paint.color(w, "LIGHTGREEN_EX") for w in wrapped] if line.startswith("===") else wrapped
    out.append("")
    drawn = build_map(analysis.build, analysis.findings)
    if not drawn.layouts:
        out += _wrap(
            "no layout to draw: no partitions file, static file or devicetree partitions", width, "    "
        )
        out.append("")
    for layout in drawn.layouts:
        out += _layout(layout, options, paint, width)
    out += _findings(analysis.findings, drawn, paint, width)
    return out


def _wrap(text: str, width: int, indent: str) -> List[str]:
    return textwrap.wrap(text, width, subsequent_indent=indent, break_on_hyphens=False) or [""]


def _layout(layout: LayoutMap, options: RenderOptions, paint: _Paint, width: int) -> List[str]:
    what, where = layout_title(layout, options)
    room = width - len(what) - 10
    if len(where) > room:  # keep the file's name: cut the path from the left
        where = "…" + where[len(where) - max(room - 1, 0) :] if room > 1 else ""
    title = _cut(f"{what} · {where}" if where else what, width - 4)
    out = [paint.bold(f"── {title} " + "─" * max(width - len(title) - 4, 0))]
    for region in layout.regions:
        out += _region(region, paint, width)
        out.append("")
    return out


def _region(region: RegionMap, paint: _Paint, width: int) -> List[str]:
    title = f"{one_line(region.name)} · {region_extent_text(region)}"
    marks = _marks(region.findings)
    if marks:
        title += f" · {marks}"
    out = [paint.severity(paint.bold(_cut(title, width)), worst_severity(region.findings))]
    if not region.rows:
        return [*out, "  no partitions"]
    columns = _Columns.fit(region, width)
    out.append(paint.dim(columns.heading()))
    out += [columns.row(row, region, paint) for row in region.rows]
    out += [paint.dim(line) for note in region.notes for line in _wrap("  " + one_line(note), width, "    ")]
    return out


def _marks(findings: List[Finding]) -> str:
    return " ".join(dict.fromkeys(one_line(f.rule) for f in by_severity(findings)))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


@dataclass
class _Columns:
    """Column widths of one region's rows, chosen so that a row fits the width."""

    digits: int
    hex_size: bool
    name: int
    bar: int
    marks: int

    @classmethod
    def fit(cls, region: RegionMap, width: int) -> _Columns:
        """Full names first: the hex size goes, then the bar shrinks, and only then are names cut."""
        values = [v for r in region.rows for v in (r.start, r.end) if v is not None]
        digits = max([len(f"{v:x}") for v in values] + [1])
        names = min(max(len(_name_cell(r)) for r in region.rows), MAX_NAME)
        marks = min(max([len(_marks(r.findings)) for r in region.rows] + [0]), MAX_MARKS)
        for hex_size, least in ((True, 16), (False, 8)):
            columns = cls(digits, hex_size, names, 0, marks)
            if columns.room(width) >= least:
                columns.bar = min(columns.room(width), MAX_BAR)
                return columns
        columns.name = max(names - (8 - columns.room(width)), MIN_NAME)
        room = columns.room(width)
        columns.bar = room if room >= 4 else 0
        return columns

    def room(self, width: int) -> int:
        """What is left of the width for the bar (and its two separating spaces)."""
        address = self.digits + 2
        used = 2 + address + 2 + address + 2 + _HUMAN + 2 + self.name + 2
        used += (address + 1) if self.hex_size else 0
        used += (self.marks + 2) if self.marks else 0
        return width - used

    def heading(self) -> str:
        address = self.digits + 2
        size = "size".rjust(_HUMAN + ((address + 1) if self.hex_size else 0))
        line = f"  {'start'.ljust(address)}  {'end'.ljust(address)}  {size}  {'partition'.ljust(self.name)}"
        if self.bar:
            line += "  " + "map".ljust(self.bar)
        return line.rstrip()

    def row(self, row: Row, region: RegionMap, paint: _Paint) -> str:
        address = self.digits + 2
        start = self._hex(row.start).ljust(address)
        end = self._hex(row.end).ljust(address)
        size = human_size(row.size) if row.size is not None else "?"
        if self.hex_size:
            size = f"{self._hex(row.size, pad=False).rjust(address)} {size.rjust(_HUMAN)}"
        else:
            size = size.rjust(_HUMAN)
        name = _cut(_name_cell(row), self.name).ljust(self.name)
        worst = row.worst
        if worst is not None:
            name = paint.severity(name, worst)
        elif row.kind in (RowKind.GAP, RowKind.FREE):
            name = paint.dim(name)
        line = f"  {start}  {end}  {size}  {name}"
        if self.bar:
            line += "  " + _bar(row, region, self.bar, paint)
        if self.marks:
            line += "  " + paint.severity(_cut(_marks(row.findings), self.marks), worst)
        return line.rstrip()

    def _hex(self, value: Optional[int], pad: bool = True) -> str:
        if value is None:
            return "?"
        return f"0x{value:0{self.digits}x}" if pad else f"0x{value:x}"


def _name_cell(row: Row) -> str:
    indent = "  " * row.depth
    if row.kind == RowKind.GAP:
        return indent + "(free)"
    name = one_line(row.name)
    if row.kind == RowKind.FREE:
        name += " (free)"
    elif row.kind == RowKind.UNPLACED:
        name += " (no address)"
    return indent + name


def _bar(row: Row, region: RegionMap, cells: int, paint: _Paint) -> str:
    """The row's place in the region, to scale: one cell is 1/cells of the region."""
    extent = region.extent
    if extent is None or row.start is None or row.end is None:
        return " " * cells
    low, high = extent
    span = high - low
    # Rounded edges tile the bar: neighbours share no cell, and a tiny partition still gets one.
    first = ((max(row.start, low) - low) * 2 * cells + span) // (2 * span)
    last = ((min(row.end, high) - low) * 2 * cells + span) // (2 * span) - 1
    first = min(max(first, 0), cells - 1)
    last = min(max(last, first), cells - 1)
    if row.end <= low or row.start >= high:  # wholly outside the region: nothing to place
        return paint.dim(_BACKGROUND * cells)
    fill = _FILL.get(row.kind, "█") * (last - first + 1)
    before, after = _BACKGROUND * first, _BACKGROUND * (cells - last - 1)
    if row.worst is not None:
        fill = paint.severity(fill, row.worst)
    elif row.kind in (RowKind.GAP, RowKind.FREE):
        fill = paint.dim(fill)
    return paint.dim(before) + fill + paint.dim(after)


def _findings(findings: List[Finding], drawn: BuildMap, paint: _Paint, width: int) -> List[str]:
    if not findings:
        return []  # the summary line at the end says "no findings", once
    out = [paint.bold("findings")]
    for finding in findings:
        severity = finding.effective_severity
        where = drawn.where(finding)
        place = "on " + ", ".join(one_line(w) for w in where) if where else "not on the map"
        text = (
            f"{severity.value.upper().ljust(7)} {one_line(finding.rule)} {one_line(finding.name)} · {place}"
        )
        lines = _wrap(text, width - 2, " " * 15)
        lines[0] = paint.severity(lines[0][:7], severity) + lines[0][7:]
        out += ["  " + line for line in lines]
    out.append("")
    return out
