"""PMD106 empty-partition."""

from __future__ import annotations

from typing import Iterator, Optional

from ...model import Build, Partition
from ...model.findings import Finding, Fix, Severity
from .. import rule
from .._shared.layouts import (
    Checked,
    checked_layouts,
    hx,
    is_region_placeholder,
    static_twins,
)
from .._shared.slot_repair import slot_pair_fix
from ._common import layout_advice, layout_finding


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

    Mechanical for an empty secondary slot: it takes the primary's size at
    its address, as Partition Manager's `share_size` would give it (advice
    naming the neighbour when that space is taken). Advice for any other
    partition: its intended size is not in the build.
    """
    for checked in checked_layouts(build):
        layout = checked.layout
        twins = static_twins(build, layout)
        primaries = {secondary.name: primary for _, primary, secondary in layout.slot_pairs()}
        for part in layout.partitions.values():
            if part.size is None or part.size > 0:
                continue
            if part.size == 0 and is_region_placeholder(layout, part):
                continue
            if part.name in twins:
                continue
            what = "zero" if part.size == 0 else f"negative ({hx(part.size)})"
            yield layout_finding(
                build,
                checked,
                [part],
                f"`{part.name}` has {what} size",
                fix="",
                cure=_cure(build, checked, part, primaries.get(part.name)),
            )


def _cure(build: Build, checked: Checked, part: Partition, primary: Optional[Partition]) -> Fix:
    """A secondary slot takes its primary's size; any other partition's size is the project's call."""
    if primary is not None and primary.size and primary.size > 0 and part.has_extent:
        return slot_pair_fix(build, checked, primary, part)
    return layout_advice(build, checked, f"give `{part.name}` a real size or remove it")
