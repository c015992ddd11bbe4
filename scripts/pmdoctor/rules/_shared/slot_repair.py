"""Repairing an MCUboot slot pair the way Partition Manager would have laid it out.

Partition Manager builds `mcuboot_primary` as a span over its members and
gives `mcuboot_secondary` `share_size: [mcuboot_primary]`. So the members
decide the primary, and the primary decides the secondary: a repair restores
the primary's span or sizes the secondary after the primary, never the other
way round, and only in whole erase blocks of the secondary's flash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

from ...model import Build, Layout, LayoutKind, Partition
from ...model.findings import Fix
from .common import erase_block
from .edit_helpers import (
    advice,
    devicetree_reg_fix,
    layout_target,
    neighbours_in_the_way,
    overlay_target,
    static_fix,
    whole_blocks,
)
from .layouts import Checked, hx


def _span_extent(layout: Layout, container: Partition) -> Optional[Tuple[int, int]]:
    """Where a container's members lie (start, end), when it spans any with an extent."""
    members = [
        part
        for name in layout.descendants(container)
        if (part := layout.get(name)) is not None and part.has_extent and part.size and part.size > 0
    ]
    if not members:
        return None
    return min(p.address for p in members), max(p.end for p in members)


def slot_pair_fix(build: Build, checked: Checked, primary: Partition, secondary: Partition) -> Fix:
    """Repair the pair towards what Partition Manager generates; advice when that needs a choice."""
    layout = checked.layout
    words = f"make `{secondary.name}` the same size as `{primary.name}`"
    extent = _span_extent(layout, primary) if layout.kind is not LayoutKind.DEVICETREE else None
    if (
        extent is not None
        and extent != (primary.address, primary.end)
        and extent[1] - extent[0] == secondary.size
    ):
        # The members say where the primary is; its own entry lost that span.
        return _edit(
            build,
            checked,
            primary,
            extent[0],
            extent[1] - extent[0],
            f"restore `{primary.name}` to the span of its members ({hx(extent[0])}-{hx(extent[1])}), "
            f"which is the size of `{secondary.name}`",
        )
    block = erase_block(layout, secondary)
    if not whole_blocks(primary.size, block):
        return advice(
            words,
            (
                f"`{primary.name}` is {hx(primary.size)} bytes, not whole {hx(block)}-byte erase blocks of "
                f"`{secondary.name}`'s flash: move the boundary after `{primary.name}` to an erase block "
                "first, then give both slots that size"
            ),
            _file(build, checked),
        )
    start, end = secondary.address, secondary.address + primary.size
    if primary.size > secondary.size:
        blocking = neighbours_in_the_way(layout, secondary, secondary.end, end)
        region = layout.region_of(secondary)
        if blocking or (region is not None and region.end is not None and end > region.end):
            what = (
                f"`{blocking[0].name}`" if blocking else f"the end of {secondary.region} ({hx(region.end)})"
            )
            return advice(
                words,
                (
                    f"growing `{secondary.name}` to match would overlap {what}; "
                    f"move {'it' if blocking else f'`{secondary.name}`'} first"
                ),
                _file(build, checked),
            )
        if (region is None or region.end is None) and end > _furthest_end(layout, secondary.region):
            return advice(
                words,
                f"the size of {secondary.region} is not known here, and growing `{secondary.name}` to match "
                "would run past every partition in it: check that the flash has room first",
                _file(build, checked),
            )
    return _edit(build, checked, secondary, start, primary.size, words)


def _furthest_end(layout: Layout, region: str) -> int:
    ends = [p.end for p in layout.partitions.values() if p.region == region and p.has_extent and p.size]
    return max(ends, default=0)


def _edit(build: Build, checked: Checked, part: Partition, address: int, size: int, words: str) -> Fix:
    layout = checked.layout
    if layout.kind is LayoutKind.DEVICETREE:
        return devicetree_reg_fix(build, checked.images, layout, part, address, size, words)
    keys: dict = {"size": size}
    if address != part.address:
        keys = {"address": address, **keys}
    return static_fix(build, layout, {part.name: keys}, words)


def _file(build: Build, checked: Checked) -> Optional[Path]:
    """Where the repair goes once the conflict is out of the way: the static file, or an image's overlay."""
    if checked.layout.kind is LayoutKind.DEVICETREE:
        image = build.image(checked.images[0]) if checked.images else None
        return overlay_target(build, image).file if image is not None else None
    return layout_target(build, checked.layout).file
