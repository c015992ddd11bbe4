"""What the devicetree partitions rules share."""

from __future__ import annotations

from typing import List, Optional

from ...model import DT_REGION_PREFIX, Build, Image, Layout, Partition, Role, is_devicetree_region
from .._shared.layouts import hx


def span_text(address: Optional[int], size: Optional[int]) -> str:
    if address is None or size is None:
        return "(no address)"
    return f"0x{address:x}-0x{address + size:x} ({hx(size)})"


def flash_label_of(layout: Layout, part: Partition) -> str:
    return part.region[len(DT_REGION_PREFIX) :] if is_devicetree_region(part.region) else part.region


def region_base(layout: Layout, part: Partition) -> int:
    region = layout.regions.get(part.region)
    return region.base if region is not None and region.base is not None else 0


def devicetree_images(build: Build) -> List[Image]:
    return [image for image in build.images if image.devicetree.layout is not None]


def reference_image(images: List[Image]) -> Optional[Image]:
    for role in (Role.APP, Role.NETCORE):
        for image in images:
            if image.role == role:
                return image
    return images[0] if images else None
