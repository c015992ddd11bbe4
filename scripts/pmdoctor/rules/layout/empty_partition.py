"""PMD106 empty-partition."""

from __future__ import annotations

from typing import Iterator

from ...model import Build
from ...model.findings import Finding, Severity
from .. import rule
from .._shared.layouts import (
    checked_layouts,
    hx,
    is_region_placeholder,
    static_twins,
)
from ._common import layout_finding


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
            yield layout_finding(
                build,
                checked,
                [part],
                f"`{part.name}` has {what} size",
                fix=f"give `{part.name}` a real size or remove it",
            )
