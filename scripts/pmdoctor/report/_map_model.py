"""What the layout map (text and HTML) draws: every region of every layout, nested, with findings on it.

One view model for both renderers (report/map.py, report/html.py), so the
terminal and the HTML page never disagree on rows, free space, marks or
titles; each renderer only decides how to draw them.

The map is a picture of the layouts that decide where things are in flash
(the same ones the rules check): Partition Manager's generated
``partitions*.yml`` per domain (else the static file), or each distinct
devicetree layout. Per region, partitions are rows in address order;
containers come before what they hold and their members are indented under
them; space no partition claims is a ``gap`` row.

Findings are attached to partitions by what they say about themselves, in
this order of trust:

1. their location (``file:line``) falls in a partition's entry of a layout
   (the static file, partitions.yml or zephyr.dts);
2. an evidence line cites a partition's entry (a file reference of its
   :class:`~pmdoctor.model.findings.Text`, or ``(file:line)`` in plain words);
3. their ``subject`` (the stable identity rules give a finding) names a
   partition of a layout of the finding's domain — except the image's own
   name, which rules put there to say *whose* configuration is wrong.

A partition found in a layout that is not drawn (the static file behind a
generated one, another image's identical devicetree) is marked in the drawn
layout of the same domain under the same name (or its PM/devicetree twin).
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePath
from typing import Dict, Iterable, List, Optional, Set, Tuple

from ..model import Build, Era, Layout, LayoutKind, Partition, Region, Source, is_devicetree_region
from ..model.findings import Finding, Severity, Text
from ..rules._shared.layouts import Checked, checked_layouts, find_partition, is_region_placeholder
from . import RenderOptions
from ._neutral import one_line
from .paths import display_path

# Partition Manager's name for space a static file keeps empty.
_EMPTY = re.compile(r"EMPTY_[0-9]+")
# "(build/partitions.yml:53)" in an evidence line.
_CITED = re.compile(r"\(([^()\s]+):([0-9]+)\)")
# A devicetree partition node spans a few lines after the one its source names.
_DT_NODE_LINES = 5
# Region order: devicetree flash devices as found, then Partition Manager's regions.
_REGION_ORDER = ("flash_primary", "external_flash", "ram_flash", "otp", "bootconf", "sram_primary")


class RowKind:
    PARTITION = "partition"  # a partition that holds data
    CONTAINER = "container"  # a span over other partitions
    FREE = "free"  # a partition that names unclaimed space (region placeholder, EMPTY_n)
    GAP = "gap"  # space no partition claims
    UNPLACED = "unplaced"  # a partition without an address or size


@dataclass
class Row:
    name: str
    kind: str
    start: Optional[int]
    end: Optional[int]
    depth: int = 0
    partition: Optional[Partition] = None
    findings: List[Finding] = field(default_factory=list)
    outside: bool = False  # reaches beyond the region

    @property
    def size(self) -> Optional[int]:
        if self.start is None or self.end is None:
            return None
        return self.end - self.start

    @property
    def worst(self) -> Optional[Severity]:
        return worst_severity(self.findings)


@dataclass
class RegionMap:
    name: str
    base: Optional[int]
    size: Optional[int]
    origin: str
    rows: List[Row]
    allocated: int = 0  # bytes inside the region that some partition holds
    notes: List[str] = field(default_factory=list)  # overlaps, partitions outside the region
    findings: List[Finding] = field(default_factory=list)  # about the region itself

    @property
    def end(self) -> Optional[int]:
        return None if self.base is None or self.size is None else self.base + self.size

    @cached_property
    def extent(self) -> Optional[Tuple[int, int]]:
        """The address range to draw: the region, else the partitions in it (rows are final by then)."""
        if self.base is not None and self.size:
            return self.base, self.base + self.size
        placed = [r for r in self.rows if r.start is not None and r.end is not None]
        if not placed:
            return None
        low, high = min(r.start for r in placed), max(r.end for r in placed)
        return (low, high) if high > low else None

    @property
    def percent(self) -> Optional[float]:
        if not self.size:
            return None
        return 100.0 * self.allocated / self.size

    @property
    def free(self) -> Optional[int]:
        return None if not self.size else max(self.size - self.allocated, 0)

    @property
    def is_flash(self) -> bool:
        return Region(self.name).is_flash


@dataclass
class LayoutMap:
    layout: Layout
    images: Tuple[str, ...]
    regions: List[RegionMap]


@dataclass
class BuildMap:
    layouts: List[LayoutMap]
    # id(finding) -> what it is drawn on ("mcuboot_secondary", "region external_flash")
    placed: Dict[int, List[str]]

    def where(self, finding: Finding) -> List[str]:
        return self.placed.get(id(finding), [])


def worst_severity(findings: Iterable[Finding]) -> Optional[Severity]:
    severities = [f.effective_severity for f in findings]
    return max(severities, key=lambda s: s.weight) if severities else None


def by_severity(findings: Iterable[Finding]) -> List[Finding]:
    """Worst first, in their order otherwise (the order rank.py gave them)."""
    return sorted(findings, key=lambda f: -f.effective_severity.weight)


# ------------------------------------------------------------------ layouts


def drawn_layouts(build: Build) -> List[Checked]:
    """The layouts to draw: as the rules check them, without a static file a generated one mirrors."""
    if build.era is Era.DEVICETREE:
        return list(checked_layouts(build))
    generated = [Checked(layout) for layout in build.layouts]
    covered = {layout.domain for layout in build.layouts}
    statics = [
        Checked(static.layout)
        for static in build.static_files
        if static.layout is not None and static.domain not in covered
    ]
    return generated + statics


def build_map(build: Build, findings: List[Finding]) -> BuildMap:
    drawn = drawn_layouts(build)
    marks = _Attacher(build, drawn).attach(findings)
    layouts = [LayoutMap(c.layout, c.images, _regions(c.layout, marks)) for c in drawn]
    placed: Dict[int, List[str]] = {}
    domains = len({c.layout.domain for c in drawn}) > 1
    for layout in layouts:
        suffix = f" ({layout.layout.domain})" if domains and layout.layout.domain else ""
        for region in layout.regions:
            targets = [(f, f"region {region.name}") for f in region.findings]
            targets += [(f, row.name) for row in region.rows for f in row.findings]
            for finding, target in targets:
                names = placed.setdefault(id(finding), [])
                if target + suffix not in names:
                    names.append(target + suffix)
    return BuildMap(layouts, placed)


# ------------------------------------------------------------------ regions


def _region_rank(name: str) -> int:
    if is_devicetree_region(name):
        return -1
    return _REGION_ORDER.index(name) if name in _REGION_ORDER else len(_REGION_ORDER)


def _regions(layout: Layout, marks: Dict[Tuple[int, str], List[Finding]]) -> List[RegionMap]:
    grouped = layout.by_region()
    names = list(layout.regions) + [name for name in grouped if name not in layout.regions]
    order = sorted(range(len(names)), key=lambda i: (_region_rank(names[i]), i))
    regions = []
    for index in order:
        name = names[index]
        region = layout.regions.get(name) or Region(name)
        mapped = _region_map(layout, region, grouped.get(name, []))
        for row in mapped.rows:
            if row.partition is not None:
                row.findings = list(marks.get((id(layout), row.name), []))
        mapped.findings = list(marks.get((id(layout), "region " + name), []))
        regions.append(mapped)
    return regions


def _descendant_count(layout: Layout, part: Partition) -> int:
    return len(layout.descendants(part)) if part.is_container else 0


def _region_map(layout: Layout, region: Region, parts: List[Partition]) -> RegionMap:
    placed = [p for p in parts if p.has_extent and p.size >= 0]
    placed.sort(key=lambda p: (p.address, -p.size, -_descendant_count(layout, p), p.name))
    rows: List[Row] = []
    stack: List[Row] = []  # open containers, outermost first
    for part in placed:
        while stack and not (stack[-1].start <= part.address and part.end <= stack[-1].end):
            stack.pop()
        row = Row(part.name, _kind(layout, part), part.address, part.end, len(stack), part)
        rows.append(row)
        if part.is_container:
            stack.append(row)
    rows = _with_gaps(rows, region.base, region.end)
    end = region.end
    for row in rows:
        if row.partition is not None and region.base is not None and end is not None:
            row.outside = row.start < region.base or row.end > end
    rows += [Row(p.name, RowKind.UNPLACED, None, None, 0, p) for p in parts if not p.has_extent or p.size < 0]
    mapped = RegionMap(region.name, region.base, region.size, region.origin, rows)
    mapped.allocated = _allocated(rows, region)
    mapped.notes = _overlaps(rows) + _outside(rows, region)
    return mapped


def _kind(layout: Layout, part: Partition) -> str:
    if part.is_container:
        return RowKind.CONTAINER
    if is_region_placeholder(layout, part) or _EMPTY.fullmatch(part.name):
        return RowKind.FREE
    return RowKind.PARTITION


def _merged(spans: Iterable[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """Sorted, disjoint ranges covering the same bytes as ``spans``."""
    merged: List[Tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _holes(covered: List[Tuple[int, int]], low: int, high: int) -> List[Tuple[int, int]]:
    """The ranges of [low, high) that ``covered`` (merged) leaves out."""
    holes, cursor = [], low
    for start, end in covered:
        if end <= cursor:
            continue
        if start >= high:
            break
        if start > cursor:
            holes.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < high:
        holes.append((cursor, high))
    return holes


class _Gaps:
    """Where free space lies: at the top, what no row covers; in a container, what no partition
    in it covers (TF-M's containers cross: `tfm` sits in both `tfm_secure` and
    `mcuboot_primary_app`, and is drawn under only one of them)."""

    def __init__(self, rows: List[Row]):
        self.leaves = _merged((r.start, r.end) for r in _leaves(rows))
        self.starts = [start for start, _ in self.leaves]
        # Holes inside containers cost a pass over their leaves each: only for sizes people draw.
        self.inside = len(rows) <= 2000

    def within(self, low: int, high: int, rows: List[Row]) -> List[Tuple[int, int]]:
        first = max(bisect_right(self.starts, low) - 1, 0)
        covering = []
        for start, end in self.leaves[first:]:
            if start >= high:
                break
            covering.append((start, end))
        return _holes(_merged(covering + [(r.start, r.end) for r in rows]), low, high)


def _with_gaps(rows: List[Row], low: Optional[int], high: Optional[int]) -> List[Row]:
    """``rows`` with a gap row wherever free space lies, at the level it lies at."""
    if not rows:
        empty = low is not None and high is not None and high > low
        return [Row("", RowKind.GAP, low, high, 0)] if empty else []
    gaps = _Gaps(rows)
    top = [(r.start, r.end) for r in rows if r.depth == 0]
    low = min(start for start, _ in top) if low is None else low
    high = max(end for _, end in top) if high is None else high
    return _level(rows, 0, _holes(_merged(top), low, high), gaps)


def _level(block: List[Row], depth: int, holes: List[Tuple[int, int]], gaps: _Gaps) -> List[Row]:
    out: List[Row] = []
    pending = list(reversed(holes))  # popped from the end, lowest first
    index = 0
    while index < len(block):
        row = block[index]
        stop = index + 1
        while stop < len(block) and block[stop].depth > depth:
            stop += 1
        while pending and pending[-1][0] <= row.start:
            out.append(Row("", RowKind.GAP, *pending.pop(), depth))
        out.append(row)
        children = block[index + 1 : stop]
        if children:
            level = [child for child in children if child.depth == depth + 1]
            inner = gaps.within(row.start, row.end, level) if gaps.inside else []
            out += _level(children, depth + 1, inner, gaps)
        index = stop
    out += [Row("", RowKind.GAP, start, end, depth) for start, end in reversed(pending)]
    return out


def _leaves(rows: List[Row]) -> List[Row]:
    """Rows that hold bytes themselves: partitions, and containers with no member drawn under them."""
    leaves = []
    for index, row in enumerate(rows):
        if row.partition is None or row.start is None:
            continue
        has_children = index + 1 < len(rows) and rows[index + 1].depth > row.depth
        if row.kind == RowKind.PARTITION or (row.kind == RowKind.CONTAINER and not has_children):
            leaves.append(row)
    return leaves


def _allocated(rows: List[Row], region: Region) -> int:
    """Bytes of the region held by some partition (overlaps counted once, free space not at all)."""
    low, high = region.base, region.end
    if low is None or high is None:
        return 0
    spans = sorted((max(r.start, low), min(r.end, high)) for r in _leaves(rows))
    total, cursor = 0, low
    for start, end in spans:
        start = max(start, cursor)
        if end > start:
            total += end - start
            cursor = end
    return total


def _overlaps(rows: List[Row], limit: int = 20) -> List[str]:
    """Pairs of partitions (free space included) that share bytes, at most ``limit`` of them."""
    leaves = sorted(
        (r for r in rows if r.partition is not None and r.start is not None and r.kind != RowKind.CONTAINER),
        key=lambda r: (r.start, r.end),
    )
    notes: List[str] = []
    active: List[Row] = []
    for row in leaves:
        active = [other for other in active if other.end > row.start]
        for other in active:
            if len(notes) == limit:
                return [*notes, "… more overlaps"]
            shared = min(other.end, row.end) - row.start
            if shared > 0:
                notes.append(
                    f"overlap: {other.name} and {row.name} share 0x{row.start:x}–0x{row.start + shared:x}"
                )
        active.append(row)
    return notes


def _outside(rows: List[Row], region: Region) -> List[str]:
    outside = [r.name for r in rows if r.outside]
    notes = []
    if outside:
        shown = ", ".join(outside[:5]) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
        notes.append(f"outside the region: {shown}")
    unplaced = [r.name for r in rows if r.kind == RowKind.UNPLACED]
    if unplaced:
        shown = ", ".join(unplaced[:5]) + (f" and {len(unplaced) - 5} more" if len(unplaced) > 5 else "")
        notes.append(f"no address or size: {shown}")
    return notes


# --------------------------------------------------------------- findings


def _normal(path: PurePath) -> str:
    return os.path.normpath(str(path))


@dataclass
class _Entries:
    """One layout's partitions by the line their entry starts on."""

    layout: Layout
    lines: List[int]
    parts: List[Partition]

    def at(self, line: int) -> Optional[Partition]:
        """The partition whose entry holds ``line``."""
        index = bisect_right(self.lines, line) - 1
        if index < 0:
            return None
        if self.layout.kind is LayoutKind.DEVICETREE and line - self.lines[index] > _DT_NODE_LINES:
            return None  # devicetree nodes sit among other nodes: only a line of the node itself
        return self.parts[index]


class _Attacher:
    """Finds, for each finding, the drawn partitions and regions it is about."""

    def __init__(self, build: Build, drawn: List[Checked]):
        self.build = build
        self.drawn = drawn
        self.by_file: Dict[str, List[_Entries]] = {}
        self.regions: Dict[Tuple[str, int], Set[str]] = {}
        seen: Set[int] = set()
        for layout in [c.layout for c in drawn] + list(build.all_layouts()):
            if id(layout) in seen:
                continue
            seen.add(id(layout))
            self._index(layout)

    def _index(self, layout: Layout) -> None:
        entries = sorted(
            (p.source.line, p.name, p)
            for p in layout.partitions.values()
            if p.source.file is not None and p.source.line
        )
        if entries and layout.file is not None:
            self.by_file.setdefault(_normal(layout.file), []).append(
                _Entries(layout, [e[0] for e in entries], [e[2] for e in entries])
            )
        for region in layout.regions.values():
            if region.source.file is not None and region.source.line:
                key = (_normal(region.source.file), region.source.line)
                self.regions.setdefault(key, set()).add(region.name)

    def attach(self, findings: List[Finding]) -> Dict[Tuple[int, str], List[Finding]]:
        marks: Dict[Tuple[int, str], List[Finding]] = {}
        for finding in findings:
            for key in self._targets(finding):
                attached = marks.setdefault(key, [])
                if finding not in attached:
                    attached.append(finding)
        return marks

    def _targets(self, finding: Finding) -> List[Tuple[int, str]]:
        found: List[Tuple[Layout, str]] = []
        regions: Set[str] = set()
        cited = [(_normal(finding.location.file), finding.location.line)] if finding.location.file else []
        for item in finding.evidence:
            cited += _cited(item)
        for path, line in cited:
            if not line:
                continue
            for entries in self._files(path):
                part = entries.at(line) if (path, line) == cited[0] else _exact(entries, line)
                if part is not None:
                    found.append((entries.layout, part.name))
            regions |= self._regions_at(path, line)
        keys: List[Tuple[int, str]] = []
        for layout, name in found:
            keys += self._drawn_twins(layout, name)
        keys += self._by_subject(finding)
        for checked in self.drawn:
            if self._same_domain(checked, finding, strict=False):
                keys += [(id(checked.layout), "region " + r) for r in regions if r in checked.layout.regions]
        return list(dict.fromkeys(keys))

    def _files(self, path: str) -> List[_Entries]:
        """Layouts whose file is ``path``, or ends with it (evidence shows paths shortened)."""
        if path in self.by_file:
            return self.by_file[path]
        tail = PurePath(path).parts
        if not tail:
            return []
        return [
            entries
            for file, group in self.by_file.items()
            if PurePath(file).parts[-len(tail) :] == tail
            for entries in group
        ]

    def _regions_at(self, path: str, line: int) -> Set[str]:
        names: Set[str] = set()
        tail = PurePath(path).parts
        for (file, at), found in self.regions.items():
            if at == line and (file == path or (tail and PurePath(file).parts[-len(tail) :] == tail)):
                names |= found
        return names

    def _drawn_twins(self, layout: Layout, name: str) -> List[Tuple[int, str]]:
        """The drawn partitions that stand for ``name`` of ``layout`` (itself when it is drawn)."""
        keys = []
        for checked in self.drawn:
            drawn = checked.layout
            if drawn is layout:
                return [(id(drawn), name)]
            if drawn.domain != layout.domain:
                continue
            other_image = layout.kind is LayoutKind.DEVICETREE and drawn.kind is LayoutKind.DEVICETREE
            if other_image and layout.image and checked.images and layout.image not in checked.images:
                continue
            part = find_partition(drawn, name)
            if part is not None:
                keys.append((id(drawn), part.name))
        return keys

    def _same_domain(self, checked: Checked, finding: Finding, strict: bool) -> bool:
        if finding.domain is not None and finding.domain != checked.layout.domain:
            return False
        if strict and finding.domain is None and checked.layout.domain is not None:
            return False
        kind = checked.layout.kind
        return not (kind is LayoutKind.DEVICETREE and finding.image and checked.images) or (
            finding.image in checked.images
        )

    def _by_subject(self, finding: Finding) -> List[Tuple[int, str]]:
        skip = {finding.image, *(k.value for k in LayoutKind)}
        names = [item for item in finding.subject if item and item not in skip]
        keys = []
        for checked in self.drawn:
            if not self._same_domain(checked, finding, strict=True):
                continue
            for name in names:
                part = checked.layout.get(name)
                if part is not None:
                    keys.append((id(checked.layout), part.name))
        return keys


def _cited(evidence: str) -> List[Tuple[str, int]]:
    """The ``file:line`` places an evidence line cites: its file references, else ``(path:line)`` in it."""
    if isinstance(evidence, Text):
        return [
            (_normal(part.file), part.line)
            for part in evidence.parts
            if isinstance(part, Source) and part.file is not None and part.line
        ]
    return [(match.group(1), int(match.group(2))) for match in _CITED.finditer(evidence)]


def _exact(entries: _Entries, line: int) -> Optional[Partition]:
    """The partition whose entry starts on ``line`` (evidence cites the entry's first line)."""
    index = bisect_right(entries.lines, line) - 1
    return entries.parts[index] if index >= 0 and entries.lines[index] == line else None


# ------------------------------------------------------------------- sizes


def human_size(size: int) -> str:
    """``512 B``, ``424 KiB``, ``33.38 KiB``, ``6.88 MiB``: what an engineer reads at a glance."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            value = f"{size / scale:.2f}".rstrip("0").rstrip(".")
            return f"{value} {unit}"
    return f"{size} B"


def percent_text(region: RegionMap) -> str:
    """``98.4%``; never 100% while bytes are free, never 0% while some are held."""
    percent = region.percent
    if percent is None:
        return "?"
    text = f"{percent:.1f}".rstrip("0").rstrip(".")
    if text == "100" and region.allocated < (region.size or 0):
        text = "99.9"
    if text == "0" and region.allocated > 0:
        text = "0.1"
    return text + "%"


# ------------------------------------------------------------------- titles


def layout_title(layout: LayoutMap, options: RenderOptions) -> Tuple[str, str]:
    """What a layout is (``Partition Manager, domain CPUNET``) and the file it comes from."""
    where = one_line(display_path(layout.layout.file, options.cwd))
    if layout.layout.kind is LayoutKind.DEVICETREE:
        images = ", ".join(one_line(i) for i in layout.images) or one_line(layout.layout.image or "?")
        return f"devicetree of {images}", where
    what = "static layout" if layout.layout.kind is LayoutKind.STATIC else "Partition Manager"
    if layout.layout.domain:
        what += f", domain {one_line(layout.layout.domain)}"
    return what, where


def region_extent_text(region: RegionMap) -> str:
    """``0x0–0x100000 · 1 MiB · 98.4% allocated, 16 KiB free``, or what is unknown."""
    if region.size is None or region.base is None:
        return "size unknown"
    words = f"0x{region.base:x}–0x{region.end:x} · {human_size(region.size)}"
    if region.size:
        words += f" · {percent_text(region)} allocated, {human_size(region.free or 0)} free"
    return words
