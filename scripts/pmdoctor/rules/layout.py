"""Layout arithmetic: overlaps, bounds, alignment, containers, gaps, empty partitions."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Iterator, List, Optional, Set, Tuple

from ..model import Build, Layout, LayoutKind, Partition, Region
from ..model.findings import Finding, Fix, Severity
from . import rule
from ._shared.layouts import (
    KNOWN_SPANS,
    Checked,
    checked_layouts,
    edit_path,
    hexrange,
    hx,
    inner_containers,
    is_region_placeholder,
    spanned_names,
    static_twins,
    where_to_edit,
)

# Overlapping pairs reported one by one per layout; beyond that one finding
# counts the rest. Real layouts have a handful; a file where thousands of
# partitions share addresses would otherwise produce millions of findings.
OVERLAPS_LISTED = 50
# Groups of overlapping partitions, and regions, that finding names.
GROUPS_LISTED = 10
REGIONS_NAMED = 3


def _finding(
    build: Build,
    checked: Checked,
    parts: List[Partition],
    message: str,
    fix: str,
    severity: Optional[Severity] = None,
    evidence: Optional[List[str]] = None,
) -> Finding:
    layout = checked.layout
    return Finding(
        message=message,
        location=parts[0].source,
        image=checked.image,
        domain=layout.domain,
        evidence=evidence or [f"{p.name}: {hexrange(p)} in {p.region}" for p in parts],
        fixes=[Fix(fix + where_to_edit(build, layout), edit_path(build, layout))],
        severity=severity,
        subject=(layout.kind.value, *(p.name for p in parts)),
    )


def _extent_parts(parts: List[Partition]) -> List[Partition]:
    return [p for p in parts if p.has_extent and p.size > 0]


# ------------------------------------------------------------------ PMD101


@rule("PMD101", "partition-overlap", Severity.ERROR, rank=60)
def partition_overlap(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Finds two partitions of the same region (or devicetree flash device) whose
    address ranges overlap. Containers (`span`) over their own members are
    expected and ignored; only plain partitions are compared.

    ## Why it matters
    Two partitions over the same flash erase each other: a DFU upload into
    `mcuboot_secondary` wipes the settings that overlap it, a file system
    formats away the update image, MCUboot copies garbage.

    ## Example
    ```yaml
    mcuboot_secondary: {address: 0x80000, size: 0x74000}   # ends 0xf4000
    settings_storage:  {address: 0xf0000, size: 0x2000}    # inside it
    ```

    ## How to fix
    Move or shrink one of the two in the static file (or the devicetree
    overlay) so they no longer share addresses. Keep slot and storage
    addresses unchanged on products already in the field.
    """
    for checked in checked_layouts(build):
        layout = checked.layout
        twins = static_twins(build, layout)
        grouped = layout.by_region()
        left = OVERLAPS_LISTED
        unlisted: List[Tuple[str, _Overlaps, int]] = []  # region, its overlaps, how many not listed
        for region in sorted(grouped):
            leaves = sorted(
                (
                    p
                    for p in _extent_parts(grouped[region])
                    if not p.is_container and p.name not in KNOWN_SPANS
                ),
                key=lambda p: (p.address, p.end),
            )
            overlaps = _Overlaps(leaves, twins)
            for first, second in overlaps.pairs(left):
                yield _overlap(build, checked, first, second)
            listed = min(left, overlaps.count)
            left -= listed
            if overlaps.count > listed:
                unlisted.append((region, overlaps, overlaps.count - listed))
        if unlisted:
            yield _more_overlaps(build, checked, unlisted)


class _Overlaps:
    """The overlapping pairs of one region's leaves (sorted by address, end), found by a sweep.

    A pair is left out when both partitions come unchanged from the static file
    (it is reported there). Counting costs one binary search per partition;
    listing costs one step per pair listed, however many pairs there are.
    """

    def __init__(self, leaves: List[Partition], twins: Set[str]):
        self.leaves = leaves
        self.twins = twins
        self.starts = [p.address for p in leaves]
        # Positions of the partitions that are not static twins: a twin's overlaps
        # with other twins are skipped without visiting them.
        self.plain = [i for i, p in enumerate(leaves) if p.name not in twins]
        self.count = sum(len(self._partners(i)) for i in range(len(leaves)))

    def _partners(self, index: int) -> range:
        """Positions (in ``leaves`` or, for a twin, in ``plain``) of the later partitions it overlaps."""
        first = self.leaves[index]
        stop = bisect_left(self.starts, first.end, index + 1)
        if first.name not in self.twins:
            return range(index + 1, stop)
        return range(bisect_right(self.plain, index), bisect_left(self.plain, stop))

    def pairs(self, limit: int) -> Iterator[Tuple[Partition, Partition]]:
        """The first ``limit`` pairs, in the order of a pairwise scan."""
        listed = 0
        for index, first in enumerate(self.leaves):
            positions = self._partners(index)
            twin = first.name in self.twins
            for position in positions:
                if listed == limit:
                    return
                yield first, self.leaves[self.plain[position] if twin else position]
                listed += 1

    def groups(self) -> List[List[Partition]]:
        """Runs of partitions joined by overlaps (each has one that is not a static twin)."""
        groups: List[List[Partition]] = []
        current: List[Partition] = []
        reach = None
        for part in self.leaves:
            if reach is not None and part.address < reach:
                current.append(part)
                reach = max(reach, part.end)
                continue
            if len(current) > 1 and any(p.name not in self.twins for p in current):
                groups.append(current)
            current, reach = [part], part.end
        if len(current) > 1 and any(p.name not in self.twins for p in current):
            groups.append(current)
        return groups


def _more_overlaps(build: Build, checked: Checked, unlisted: List[Tuple[str, _Overlaps, int]]) -> Finding:
    """One finding for the overlaps past the first OVERLAPS_LISTED: how many, where, which groups."""
    groups = [(region, group) for region, overlaps, _ in unlisted for group in overlaps.groups()]
    evidence = [
        f"{region} 0x{group[0].address:x}-0x{max(p.end for p in group):x}: {len(group)} partitions ("
        + ", ".join(p.name for p in group[:3])
        + (", …)" if len(group) > 3 else ")")
        for region, group in groups[:GROUPS_LISTED]
    ]
    if len(groups) > GROUPS_LISTED:
        evidence.append(f"… and {len(groups) - GROUPS_LISTED} more groups")
    regions = [region for region, _, _ in unlisted]
    if len(regions) == 1:
        where = _region_words(regions[0])
    else:
        named = ", ".join(regions[:REGIONS_NAMED]) + (", …" if len(regions) > REGIONS_NAMED else "")
        where = f"{len(regions)} regions ({named})"
    return _finding(
        build,
        checked,
        groups[0][1][:1],
        f"{sum(count for _, _, count in unlisted)} more overlaps in {where} are not listed one by one "
        f"(only the first {OVERLAPS_LISTED} are): {sum(len(group) for _, group in groups)} partitions "
        f"in {len(groups)} group(s) share addresses",
        fix="move or shrink the overlapping partitions so that no two share addresses",
        evidence=evidence,
    )


def _overlap(build: Build, checked: Checked, first: Partition, second: Partition) -> Finding:
    layout = checked.layout
    placeholder = next((p for p in (first, second) if is_region_placeholder(layout, p)), None)
    if placeholder is not None and (first.address, first.size) == (second.address, second.size):
        # A region-named partition laid exactly over one partition is a
        # container written without `span:`: odd, but nothing is overwritten.
        other = second if placeholder is first else first
        return _finding(
            build,
            checked,
            [first, second],
            f"`{placeholder.name}` covers exactly `{other.name}` ({hexrange(other)}); Partition "
            f"Manager uses a partition named after region {placeholder.region} for its unused space",
            fix=f"write `{placeholder.name}` as a container (`span: [{other.name}]`) or remove it",
            severity=Severity.WARNING,
        )
    shared = min(first.end, second.end) - second.address
    return _finding(
        build,
        checked,
        [first, second],
        f"`{first.name}` ({hexrange(first)}) and `{second.name}` ({hexrange(second)}) "
        f"overlap by {hx(shared)} bytes in {_region_words(first.region)}",
        fix=f"move or shrink `{first.name}` or `{second.name}` so they no longer overlap",
    )


def _region_words(region: str) -> str:
    return f"flash device {region[3:]}" if region.startswith("dt:") else f"region {region}"


# ------------------------------------------------------------------ PMD102


@rule("PMD102", "partition-out-of-bounds", Severity.ERROR, rank=60)
def partition_out_of_bounds(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Finds partitions that start before or end after the memory they are
    placed in: internal flash or RRAM (from `regions.yml` or the devicetree
    flash node), RAM, or the external flash chip (the devicetree `size`,
    which is in bits).

    ## Why it matters
    Flash beyond the end of the device does not exist: writes fail, or wrap
    around to the start of the chip and overwrite the bootloader. A static
    file copied from a bigger SoC (nRF52840 → nRF52832) or a chip size written
    in bytes instead of bits are the usual causes.

    ## Example
    `user_storage: {address: 0x80000, size: 0x2000}` on an nRF52832, whose
    flash ends at 0x80000.

    ## How to fix
    Move the partition inside the region, or fix the region size (for
    external flash: `size = <DT_SIZE_M(64)>;` is 64 Mbit, i.e. 8 MB).
    """
    for checked in checked_layouts(build):
        layout = checked.layout
        twins = static_twins(build, layout)
        for part in layout.partitions.values():
            region = layout.region_of(part)
            if not part.has_extent or region is None or region.end is None or region.base is None:
                continue
            if part.size <= 0 and not is_region_placeholder(layout, part):
                continue  # PMD106 reports it
            if part.address >= region.base and part.end <= region.end:
                continue
            if part.name in twins:
                continue
            side = "starts before" if part.address < region.base else "ends after"
            yield _finding(
                build,
                checked,
                [part],
                f"`{part.name}` ({hexrange(part)}) {side} {_region_words(region.name)} "
                f"(0x{region.base:x}-0x{region.end:x}{_origin(region)})",
                fix=f"move `{part.name}` inside 0x{region.base:x}-0x{region.end:x} or fix the region size",
            )


def _origin(region: Region) -> str:
    return f", from {region.origin}" if region.origin else ""


# ------------------------------------------------------------------ PMD103


@rule("PMD103", "partition-misaligned", Severity.ERROR, rank=50)
def partition_misaligned(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Checks that every partition that is erased on its own (not a member of a
    container) starts and ends on an erase-block boundary of its flash
    (4 KB internal flash and RRAM, 2 KB on the nRF5340 network core, 4 KB
    external NOR, or the devicetree `erase-block-size`), and that every
    partition, members included, is a multiple of the write block.
    Erase-block misalignment is an error, write-block misalignment a warning.

    ## Why it matters
    Erasing a partition erases whole pages: a slot that starts mid-page
    erases the end of its neighbour, and MCUboot refuses slots whose sector
    layout does not line up ("Cannot upgrade: slots have non-compatible
    sectors"). Odd sizes (0x77e01) come from broken alignment arithmetic.

    ## Example
    `mcuboot_secondary: {address: 0x43800, size: 0x3a800}` on a 4 KB-page
    nRF52832.

    ## How to fix
    Round addresses and sizes to the erase block, keeping both MCUboot slots
    the same size.
    """
    for checked in checked_layouts(build):
        layout = checked.layout
        # Members are erased with their container, and so are inner containers.
        with_container = spanned_names(layout) | inner_containers(layout)
        twins = static_twins(build, layout)
        for part in layout.partitions.values():
            region = layout.region_of(part)
            if region is None or not region.is_flash or not part.has_extent or part.size <= 0:
                continue
            problem = _misalignment(part, region, part.name in with_container)
            if problem is None or part.name in twins:
                continue
            message, block, severity = problem
            yield _finding(
                build,
                checked,
                [part],
                f"`{part.name}` ({hexrange(part)}) {message}",
                severity=severity,
                fix=f"align the start and size of `{part.name}` to 0x{block:x}",
            )


def _misalignment(part: Partition, region: Region, in_container: bool) -> Optional[Tuple[str, int, Severity]]:
    erase, write = region.erase_block, region.write_block
    # Members are erased with their container; outermost containers (a whole
    # slot) are erased on their own, so they are checked like plain partitions.
    if erase and not in_container:
        bad = [what for what, value in (("start", part.address), ("size", part.size)) if value % erase]
        if bad:
            return (
                f"{' and '.join(bad)} not a multiple of the 0x{erase:x}-byte erase block of "
                f"{_region_words(region.name)}",
                erase,
                Severity.ERROR,
            )
    if write and write > 1:
        bad = [what for what, value in (("start", part.address), ("size", part.size)) if value % write]
        if bad:
            return (
                f"{' and '.join(bad)} not a multiple of the {write}-byte write block of "
                f"{_region_words(region.name)}",
                write,
                Severity.WARNING,
            )
    return None


# ------------------------------------------------------------------ PMD104


@rule("PMD104", "container-mismatch", Severity.ERROR, rank=65)
def container_mismatch(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Checks the arithmetic that ties partitions together: a container (`span`)
    must start at its first member and end at its last; every
    member must exist; `end_address` must equal `address + size`;
    `mcuboot_primary` must be exactly `mcuboot_pad` + `mcuboot_primary_app`,
    and must be a container, not a plain partition. Mismatches in containers
    MCUboot and NSIB do not boot through (`tfm_nonsecure`, `tfm_storage`,
    `app_image` …) are notes: NCS's own board layouts carry some.

    ## Why it matters
    MCUboot, the signing step and the flash map all read these numbers.
    When `mcuboot_primary` is smaller than the application it holds, the
    image is signed for the wrong slot size or overflows into the secondary
    slot; Partition Manager stops with "Error when inspecting …, invalid
    address" or "does not span over consecutive parts".

    ## Example
    ```yaml
    mcuboot_primary: {address: 0xe000, size: 0x61000, span: [mcuboot_pad, mcuboot_primary_app]}
    app: {address: 0xe200, size: 0xe6e00}      # ends far beyond mcuboot_primary
    ```

    ## How to fix
    Recompute containers from their members (or copy a generated
    `partitions.yml`); keep `mcuboot_pad` in front of the application.
    """
    for checked in checked_layouts(build):
        layout = checked.layout
        if layout.kind is LayoutKind.DEVICETREE:
            continue
        twins = static_twins(build, layout)
        for part in layout.partitions.values():
            for message, parts, severity in _container_problems(layout, part):
                if all(p.name in twins for p in parts):
                    continue
                yield _finding(
                    build,
                    checked,
                    parts,
                    message,
                    severity=severity,
                    fix=f"recompute `{part.name}` from the partitions it spans",
                )


def _boot_container(part: Partition) -> bool:
    """MCUboot and NSIB boot and update through these; TF-M and storage spans are bookkeeping."""
    return part.name.startswith(("mcuboot", "s0", "s1", "b0"))


def _container_problems(
    layout: Layout, part: Partition
) -> Iterator[Tuple[str, List[Partition], Optional[Severity]]]:
    """(message, partitions, severity override) for each inconsistency of `part`."""
    lesser = None if _boot_container(part) else Severity.NOTE
    if part.end_address is not None and part.end is not None and part.end_address != part.end:
        yield (
            f"`{part.name}` has end_address {hx(part.end_address)} but address + size is {hx(part.end)}",
            [part],
            None,
        )
    span = part.span
    if not span and part.name in KNOWN_SPANS:
        expected = [m for m in KNOWN_SPANS[part.name] if m in layout.partitions]
        if expected and part.has_extent:
            members = [layout.partitions[m] for m in expected]
            inside = all(m.has_extent and part.address <= m.address and m.end <= part.end for m in members)
            if not inside or sum(m.size or 0 for m in members) != part.size:
                yield (
                    f"`{part.name}` is a plain partition ({hexrange(part)}), not a container "
                    f"spanning {', '.join(KNOWN_SPANS[part.name])}; its members lie at "
                    + ", ".join(f"{m.name} {hexrange(m)}" for m in members),
                    [part, *members],
                    None,
                )
        return
    if not span or not part.has_extent:
        return
    absent = [m for m in span if m not in layout.partitions]
    missing = absent
    if layout.kind is LayoutKind.STATIC:
        missing = [m for m in missing if m != "app"]  # app is placed dynamically
    if missing:
        yield (
            f"container `{part.name}` spans {', '.join(missing)}, which "
            f"{'does' if len(missing) == 1 else 'do'} not exist",
            [part],
            lesser,
        )
    if absent:  # the members present cannot say where the container should end
        return
    members = [m for m in layout.members(part) if m.has_extent and m.size > 0]
    if not members:
        return
    low = min(m.address for m in members)
    high = max(m.end for m in members)
    if (low, high) != (part.address, part.end):
        yield (
            f"container `{part.name}` is {hexrange(part)} but its members "
            f"({', '.join(m.name for m in members)}) cover 0x{low:x}-0x{high:x}",
            [part, *members],
            lesser,
        )


# ------------------------------------------------------------------ PMD105


@rule("PMD105", "static-gaps", Severity.ERROR, rank=55)
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
                (p for p in _extent_parts(grouped[region_name]) if not p.is_container and p.name != "app"),
                key=lambda p: p.address,
            )
            if not leaves:
                continue
            gaps = _gaps(leaves, region.base, region.end)
            message = _gap_problem(region, gaps)
            if message:
                yield _finding(
                    build,
                    checked,
                    leaves[:1],
                    message,
                    evidence=[f"free: 0x{a:x}-0x{b:x}" for a, b in gaps],
                    fix="close all but one gap (grow a neighbour or add a filler partition)",
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


# ------------------------------------------------------------------ PMD106


@rule("PMD106", "empty-partition", Severity.ERROR, rank=62)
def empty_partition(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Finds partitions whose size is zero or negative (an end address below
    the start). Partition Manager's own placeholders for unused space
    (a region-named partition such as `external_flash` of size 0) are fine.

    ## Why it matters
    A zero-size `mcuboot_secondary` means there is nowhere to upload an
    update; a negative size means the static file is inconsistent and every
    address computed from it is wrong.

    ## Example
    `mcuboot_secondary: {address: 0x0, size: 0x0, region: external_flash}`

    ## How to fix
    Give the partition its real size (for a secondary slot: the size of
    `mcuboot_primary`), or remove it.
    """
    for checked in checked_layouts(build):
        layout = checked.layout
        twins = static_twins(build, layout)
        for part in layout.partitions.values():
            if part.size is None or part.size > 0:
                continue
            if part.size == 0 and is_region_placeholder(layout, part):
                continue
            if part.name in twins:
                continue
            what = "zero" if part.size == 0 else f"negative ({hx(part.size)})"
            yield _finding(
                build,
                checked,
                [part],
                f"`{part.name}` has {what} size",
                fix=f"give `{part.name}` a real size or remove it",
            )
