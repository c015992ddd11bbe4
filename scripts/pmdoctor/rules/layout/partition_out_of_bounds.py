"""PMD102 partition-out-of-bounds."""

from __future__ import annotations

from typing import Iterator

from ...model import Build, Region
from ...model.findings import Finding, Severity
from .. import rule
from .._shared.layouts import (
    checked_layouts,
    hexrange,
    is_region_placeholder,
    static_twins,
)
from ._common import layout_advice, layout_finding, region_words


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

    Advice, not an edit: whether the partition or the region size is wrong,
    and where the partition can go instead, is a choice only the project can
    make (moving a partition also moves data a device in the field keeps).
    The fix names the file to change: the static file the build reads, or,
    when there is none, the one to create from `partitions.yml`.
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
            yield layout_finding(
                build,
                checked,
                [part],
                f"`{part.name}` ({hexrange(part)}) {side} {region_words(region.name)} "
                f"(0x{region.base:x}-0x{region.end:x}{_origin(region)})",
                fix="",
                cure=layout_advice(
                    build,
                    checked,
                    f"move `{part.name}` inside 0x{region.base:x}-0x{region.end:x} or fix the region size",
                ),
            )


def _origin(region: Region) -> str:
    return f", from {region.origin}" if region.origin else ""
