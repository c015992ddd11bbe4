"""What the mcuboot rules share."""

from __future__ import annotations

import math
from typing import Optional, Tuple

from ...model import (
    Build,
    Era,
    Layout,
    LayoutKind,
    Partition,
)
from ...model.drivers import NOR_DRIVERS, is_nor
from .._shared.common import (
    mcuboot_image,
    static_layout_for,
)
from .._shared.mcuboot import swap_mode


def mcuboot_mode(build: Build) -> Optional[str]:
    """swap_mode() plus the modes without a swap: "direct-xip", "ram-load", "single"."""
    sb = build.sysbuild_config
    mcuboot = mcuboot_image(build)
    config = mcuboot.config if mcuboot else None
    if sb.enabled("SB_CONFIG_MCUBOOT_MODE_DIRECT_XIP") or sb.enabled(
        "SB_CONFIG_MCUBOOT_MODE_DIRECT_XIP_WITH_REVERT"
    ):
        return "direct-xip"
    if config is not None and config.enabled("CONFIG_BOOT_DIRECT_XIP"):
        return "direct-xip"
    ram_load = ("SB_CONFIG_MCUBOOT_MODE_RAM_LOAD", "SB_CONFIG_MCUBOOT_MODE_SINGLE_APP_RAM_LOAD")
    if any(sb.enabled(s) for s in ram_load) or (
        config is not None and config.enabled("CONFIG_BOOT_RAM_LOAD")
    ):
        return "ram-load"
    if sb.enabled("SB_CONFIG_MCUBOOT_MODE_SINGLE_APP") or (
        config is not None and config.enabled("CONFIG_SINGLE_APPLICATION_SLOT")
    ):
        return "single"
    return swap_mode(build)


def slot_layout(build: Build) -> Optional[Layout]:
    """The layout MCUboot's slots come from: partitions.yml, or MCUboot's devicetree."""
    if build.era is not Era.DEVICETREE:
        return build.layout_for_domain(None)
    mcuboot = build.image("mcuboot")
    if mcuboot is not None and mcuboot.devicetree.layout is not None:
        return mcuboot.devicetree.layout
    app = build.app
    return app.devicetree.layout if app is not None else None


def on_external_flash(build: Build, layout: Layout, part: Partition) -> bool:
    if layout.kind is not LayoutKind.DEVICETREE:
        return part.region == "external_flash"
    region = layout.region_of(part)
    image = build.image(layout.image or "") or build.app
    node = image.devicetree.nodes.get(region.device or "") if image and region else None
    return node is not None and is_nor(node)


def slot_sector(build: Build, layout: Layout, part: Partition) -> Tuple[int, str]:
    """The sector size MCUboot sees for one slot, and where that number comes from."""
    region = layout.region_of(part)
    mcuboot = mcuboot_image(build)
    if on_external_flash(build, layout, part) and mcuboot is not None:
        config = mcuboot.config
        for driver in NOR_DRIVERS.values():
            if config.enabled(driver.symbols[-1]):
                size = config.int(driver.page_size_symbol) or driver.default_page_size
                return size, driver.page_size_symbol
    if region is not None and region.erase_block:
        return region.erase_block, f"erase block of {region.name}"
    return 4096, "default 4 KB"


def slot_sectors(build: Build, layout: Layout, part: Partition) -> Tuple[int, int, str]:
    sector, origin = slot_sector(build, layout, part)
    return math.ceil(part.size / sector), sector, origin


def user_partition(build: Build, layout: Layout, name: str) -> Optional[Partition]:
    """The partition as the user wrote it (static file) when there is one, else as generated."""
    static = static_layout_for(build, layout.domain) if layout.kind is LayoutKind.GENERATED else None
    if static is not None and static.get(name) is not None:
        return static.get(name)
    return layout.get(name)
