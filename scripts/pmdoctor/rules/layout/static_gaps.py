"""PMD105 static-gaps."""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

from ...model import Build, Layout, Partition, Region, StaticFile
from ...model.findings import Finding, Fix, Severity
from .. import rule
from .._shared.edit_helpers import static_fix
from .._shared.layouts import (
    Checked,
)
from ._common import extent_parts, layout_finding


@rule("PMD105", "static-gaps", Severity.ERROR, rank=55, explains=("pm-gaps",))
def static_gaps(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Counts the free gaps a static file leaves in each region. Partition
    Manager needs at most one gap per region for the dynamic partitions
    (such as `app`), and in `start_to_end` regions (external flash, OTP,
    `ram_flash`) the static partitions must be packed from the start.

    ## Why it matters
    Otherwise the build stops with "Incorrect amount of gaps found in static
    configuration" or "Statically defined partitions are not packed at the
    start of region". It typically happens after deleting a partition that
    was not next to `app`, or keeping half of an old RAM layout.

    ## Example
    Static `sram_primary` entries at 0x20000000-0x20010000 and
    0x200144e8-0x20040000 leave two gaps.

    ## How to fix
    Make the static partitions contiguous (grow a neighbour over the hole,
    or add an `EMPTY_n`-style filler), or drop a whole region's entries so
    Partition Manager places them again.

    Mechanical when the file tells which gap the dynamic partitions keep
    (the one at the free end of a `start_to_end` / `end_to_start` region, or
    the one inside the container spanning `app`): every other gap gets an
    `EMPTY_n` filler partition, so no existing partition moves. Advice
    otherwise: growing a neighbour or choosing the gap moves data.
    """
    for static in build.static_files:
        layout = static.layout
        if layout is None:
            continue
        checked = Checked(layout)
        grouped = layout.by_region()
        for region_name in sorted(grouped):
            region = layout.regions.get(region_name)
            if region is None or region.base is None or region.end is None:
                continue
            leaves = sorted(
                (p for p in extent_parts(grouped[region_name]) if not p.is_container and p.name != "app"),
                key=lambda p: p.address,
            )
            if not leaves:
                continue
            gaps = _gaps(leaves, region.base, region.end)
            message = _gap_problem(region, gaps)
            if message:
                yield layout_finding(
                    build,
                    checked,
                    leaves[:1],
                    message,
                    evidence=[f"free: 0x{a:x}-0x{b:x}" for a, b in gaps],
                    fix="",
                    cure=_fillers(build, static, region, gaps, leaves),
                )


def _kept_gap(layout: Layout, region: Region, gaps: List[Tuple[int, int]]) -> Optional[Tuple[int, int]]:
    """The gap Partition Manager keeps for the dynamic partitions; None when only a person can tell."""
    if region.placement_strategy == "start_to_end":
        return gaps[-1] if gaps[-1][1] == region.end else None
    if region.placement_strategy == "end_to_start":
        return gaps[0] if gaps[0][0] == region.base else None
    # complex: the gap `app` goes into, told by the containers that span it
    homes = [
        part
        for part in layout.partitions.values()
        if part.has_extent
        and part.region == region.name
        and ("app" in layout.descendants(part) or part.name == "app")
    ]
    inside = [gap for gap in gaps if any(p.address <= gap[0] and gap[1] <= p.end for p in homes)]
    return inside[0] if len(inside) == 1 else None


def _fillers(
    build: Build, static: StaticFile, region: Region, gaps: List[Tuple[int, int]], leaves: List[Partition]
) -> Fix:
    """Fill every gap but the dynamic one with `EMPTY_n` partitions: nothing that exists moves."""
    layout = static.layout
    kept = _kept_gap(layout, region, gaps)
    words = "close all but one gap (grow a neighbour or add a filler partition)"
    if kept is None:
        return Fix(
            f"{words}: which gap the dynamic partitions (`app`) should keep is not in the file",
            static.path,
            conflict="no partition in the file tells where `app` goes",
        )
    device = next((p.device for p in leaves if p.device), None)
    changes = {}
    index = 0
    for start, end in gaps:
        if (start, end) == kept:
            continue
        while f"EMPTY_{index}" in layout.partitions:
            index += 1
        entries = {"address": start, "end_address": end, "region": region.name, "size": end - start}
        if device:
            entries["device"] = device
        changes[f"EMPTY_{index}"] = entries
        index += 1
    return static_fix(
        build,
        layout,
        changes,
        (
            "fill the other gap with a filler partition"
            if len(changes) == 1
            else f"fill the {len(changes)} other gaps with filler partitions"
        )
        + " and keep "
        f"0x{kept[0]:x}-0x{kept[1]:x} for the dynamic partitions; no existing partition moves",
    )


def _gaps(leaves: List[Partition], base: int, end: int) -> List[Tuple[int, int]]:
    gaps, covered = [], base
    for part in leaves:
        if part.address > covered:
            gaps.append((covered, part.address))
        covered = max(covered, part.end)
    if covered < end:
        gaps.append((covered, end))
    return gaps


def _gap_problem(region: Region, gaps: List[Tuple[int, int]]) -> Optional[str]:
    listed = " ".join(f"0x{a:x}-0x{b:x}" for a, b in gaps)
    strategy = region.placement_strategy
    if strategy == "start_to_end" and gaps and gaps[0][1] != region.end:
        return (
            f"static partitions are not packed at the start of region {region.name}: free space at {listed}"
        )
    if strategy == "end_to_start" and gaps and gaps[-1][0] != region.base:
        return f"static partitions are not packed at the end of region {region.name}: free space at {listed}"
    if strategy == "complex" and len(gaps) > 1:
        return (
            f"{len(gaps)} free gaps in region {region.name} ({listed}); Partition Manager "
            "allows exactly one for the dynamic partitions"
        )
    return None
