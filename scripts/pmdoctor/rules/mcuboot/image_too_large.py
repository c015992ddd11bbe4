"""PMD406 image-too-large."""

from __future__ import annotations

import math
from typing import Iterator, Optional

from ...model import (
    Build,
    Image,
    Layout,
    Partition,
    Source,
    primary_slot_name,
)
from ...model.findings import Finding, Fix, Severity
from .. import rule
from .._shared.layouts import hx
from ._common import mcuboot_mode, slot_layout, slot_sector, slot_sectors


def _trailer(build: Build, layout: Layout, slot: Partition, mode: Optional[str]) -> int:
    """MCUboot trailer estimate (MCB-04): status entries for swaps, magic and flags always."""
    region = layout.region_of(slot)
    write = max(region.write_block if region and region.write_block else 4, 1)
    sectors, _, _ = slot_sectors(build, layout, slot)
    flags = 4 * max(write, 8) + 16
    return flags if mode == "overwrite" else sectors * 3 * write + flags


@rule("PMD406", "image-too-large", Severity.ERROR, rank=64, explains=("image-too-large",))
def image_too_large(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Compares each signed image the build produced (`zephyr.signed.bin`) with
    its MCUboot slot, after subtracting an estimate of MCUboot's trailer
    (status entries, magic and flags) and, for swap-using-move, the one free
    sector the swap needs.

    ## Why it matters
    An image that fits the slot but not the space left beside the trailer is
    refused by MCUmgr, or uploaded and then never swapped in; imgtool's own
    check is known to miss the swap-move sector.

    ## Example
    A 0x75d00-byte signed image in a 0x76000 primary slot with swap-using-move:
    the trailer and the free sector leave about 0x74000.

    ## How to fix
    Shrink the application (size optimisation, fewer features, logging off),
    enlarge the slots in the static file (not possible for devices in the field),
    move the secondary slot to external flash, or use overwrite-only mode
    (with image compression on NCS >= 2.7).

    Advice, not an edit: which of these cures fits (code size, a new layout,
    a different MCUboot mode) is the project's choice, and none of them can
    be checked without building the image again.
    """
    layout = slot_layout(build)
    if layout is None:
        return
    mode = mcuboot_mode(build)
    for image in build.images:
        if image.signed_image_size is None:
            continue
        index = {"app": 0, "netcore": 1}.get(image.role)
        slot = layout.get(primary_slot_name(layout.kind, index)) if index is not None else None
        if slot is None or not slot.size or image.signed_image_size == slot.size:
            continue  # a padded (confirmed) image is exactly the slot size
        finding = _too_large(build, layout, image, slot, mode)
        if finding is not None:
            yield finding


def _too_large(
    build: Build, layout: Layout, image: Image, slot: Partition, mode: Optional[str]
) -> Optional[Finding]:
    sector, _ = slot_sector(build, layout, slot)
    trailer = _trailer(build, layout, slot, mode)
    usable = slot.size - trailer
    if mode == "move":
        usable = slot.size - math.ceil(trailer / sector) * sector - sector
    size = image.signed_image_size
    if size <= usable:
        return None
    extra = " and one free sector for swap-using-move" if mode == "move" else ""
    return Finding(
        message=(
            f"{image.signed_image.name if image.signed_image else 'the signed image'} of '{image.name}' is "
            f"{hx(size)} bytes; `{slot.name}` is {hx(slot.size)} and leaves about {hx(usable)} after "
            f"MCUboot's trailer{extra}: the update will be refused or never swapped in"
        ),
        location=Source(image.signed_image) if image.signed_image else slot.source,
        image=image.name,
        evidence=[
            f"signed image {hx(size)}",
            f"{slot.name} {hx(slot.size)}, sector {hx(sector)}",
            f"trailer estimate {hx(trailer)} (mode {mode or 'unknown'}; an estimate, not MCUboot's figure)",
        ],
        fixes=[
            Fix(
                f"shrink '{image.name}' by at least {hx(size - usable)} bytes, or enlarge the slots in the "
                "static file (only for devices not yet in the field)"
            )
        ],
        subject=("image-too-large", image.name),
    )
