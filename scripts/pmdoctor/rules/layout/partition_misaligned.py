"""PMD103 partition-misaligned."""

from __future__ import annotations

from typing import Iterator, List, Optional, Set, Tuple

from ...model import Build, Layout, LayoutKind, Partition, Region
from ...model.findings import Finding, Fix, Severity
from .. import rule
from .._shared.edit_helpers import advice, neighbours_in_the_way, static_fix
from .._shared.layouts import (
    checked_layouts,
    hexrange,
    inner_containers,
    spanned_names,
    static_twins,
)
from ._common import layout_finding, region_words


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

    ## Severity
    An error for an erase-block misalignment of a partition erased on its own; a warning for a
    write-block misalignment. Members of containers and spans that start where an image header pad
    ends (`app`, `mcuboot_primary_app`, TF-M's `app_image`) are erased with their slot and not
    checked against the erase block.

    ## How to fix
    Round addresses and sizes to the erase block, keeping both MCUboot slots
    the same size.

    Mechanical when a partition of the static file, not a container, can grow
    outwards to whole erase blocks into free space: its start is rounded down
    and its end up, and nothing else moves. Advice when that would overlap a
    neighbour or move a container's members, for a partition Partition Manager
    places itself (its size comes from Kconfig), and for write-block
    misalignments. A span that starts where an image header pad ends is never
    aligned: that would separate the image from its header.
    """
    for checked in checked_layouts(build):
        layout = checked.layout
        # Members are erased with their container, and so are inner containers.
        with_container = spanned_names(layout) | inner_containers(layout) | _after_header_pad(layout)
        twins = static_twins(build, layout)
        for part in layout.partitions.values():
            region = layout.region_of(part)
            if region is None or not region.is_flash or not part.has_extent or part.size <= 0:
                continue
            problem = _misalignment(part, region, part.name in with_container)
            if problem is None or part.name in twins:
                continue
            message, block, severity = problem
            yield layout_finding(
                build,
                checked,
                [part],
                f"`{part.name}` ({hexrange(part)}) {message}",
                severity=severity,
                fix=f"align the start and size of `{part.name}` to 0x{block:x}",
                cure=_aligned(build, layout, part, block) if severity is Severity.ERROR else None,
            )


def _after_header_pad(layout: Layout) -> Set[str]:
    """Partitions that start where an image header pad ends (app, mcuboot_primary_app, TF-M's app_image).

    Their start is the slot start plus the header: they are erased with the
    slot, never on their own, and aligning their start would separate the
    image from its header. Found by address, so a slot written without
    `span:` (the pad and its image side by side) is recognised too.
    """
    pad_ends = {
        (part.region, part.end)
        for part in layout.partitions.values()
        if part.name.endswith("_pad") and part.has_extent and not part.is_container
    }
    return {
        part.name
        for part in layout.partitions.values()
        if part.has_extent and (part.region, part.address) in pad_ends and not part.name.endswith("_pad")
    }


def _misalignment(part: Partition, region: Region, in_container: bool) -> Optional[Tuple[str, int, Severity]]:
    erase, write = region.erase_block, region.write_block
    # Members are erased with their container; outermost containers (a whole
    # slot) are erased on their own, so they are checked like plain partitions.
    if erase and not in_container:
        bad = _off_the_block(part, erase)
        if bad:
            return (
                f"{' and '.join(bad)} not a multiple of the 0x{erase:x}-byte erase block of "
                f"{region_words(region.name)}",
                erase,
                Severity.ERROR,
            )
    if write and write > 1:
        bad = _off_the_block(part, write)
        if bad:
            return (
                f"{' and '.join(bad)} not a multiple of the {write}-byte write block of "
                f"{region_words(region.name)}",
                write,
                Severity.WARNING,
            )
    return None


def _off_the_block(part: Partition, block: int) -> List[str]:
    """Which of the partition's start and size are not whole multiples of ``block``."""
    return [what for what, value in (("start", part.address), ("size", part.size)) if value % block]


def _aligned(build: Build, layout: Layout, part: Partition, block: int) -> Optional[Fix]:
    """Grow a static partition outwards to whole erase blocks when only free space is in the way."""
    if layout.kind is not LayoutKind.STATIC:
        return None  # Partition Manager placed it: the plain words (and the Kconfig size) stay advice
    start = part.address // block * block
    end = -(-part.end // block) * block
    words = f"align `{part.name}` to the 0x{block:x}-byte erase block as 0x{start:x}-0x{end:x}"
    if part.is_container or part.span:
        return advice(words, f"`{part.name}` spans other partitions, which would move with it", layout.file)
    blocking = neighbours_in_the_way(layout, part, start, end)
    if blocking:
        names = ", ".join(f"`{p.name}`" for p in blocking)
        return advice(words, f"growing `{part.name}` would overlap {names}; move that first", layout.file)
    return static_fix(
        build, layout, {part.name: {"address": start, "size": end - start}}, words + "; nothing else moves"
    )
