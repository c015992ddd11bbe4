"""Which external-flash partitions an image must open: MCUboot its slots, the app what it writes."""

from __future__ import annotations

import re
from typing import List, Optional, Sequence

from ...model import Build, Image, Partition, Role
from ...model.drivers import NOR_DRIVERS, NorDriver, driver_lines
from ...model.findings import Fix
from . import targets
from .layouts import is_filler

# An application with any of these writes images into the secondary slot.
DFU_WRITERS = (
    "CONFIG_IMG_MANAGER",
    "CONFIG_MCUBOOT_IMG_MANAGER",
    "CONFIG_MCUMGR_GRP_IMG",
    "CONFIG_MCUMGR_CMD_IMG_MGMT",
    "CONFIG_DFU_TARGET_MCUBOOT",
)


_SLOT = re.compile(r"mcuboot_(primary|secondary)(?:_(\d+))?$")


_DT_SLOT = re.compile(r"slot\d+_partition")


def is_mcuboot(image: Image) -> bool:
    return image.role is Role.MCUBOOT or image.config.enabled("CONFIG_MCUBOOT")


def is_slot(part: Partition) -> bool:
    return _SLOT.match(part.name) is not None or _DT_SLOT.fullmatch(part.name) is not None


def fully_loaded(image: Image) -> bool:
    """Both files present: without them say nothing rather than guess."""
    return bool(image.config) and bool(image.devicetree)


def needed(image: Image, parts: Sequence[Partition]) -> List[Partition]:
    """The external partitions this image must open."""
    if not fully_loaded(image) or image.domain is not None:
        return []  # the network core cannot reach the application core's flash
    if is_mcuboot(image):
        return [part for part in parts if is_slot(part)]
    if image.role is not Role.APP:
        return []
    writes_updates = any(image.config.enabled(name) for name in DFU_WRITERS)
    return [part for part in parts if not _free_space(part) and (writes_updates or not is_slot(part))]


def _free_space(part: Partition) -> bool:
    """Space no code opens: the region's own leftover entry (`external_flash`) or an `EMPTY_n` filler."""
    return part.name == part.region or is_filler(part)


def driver_fixes(build: Build, image: Image, driver: Optional[NorDriver]) -> List[Fix]:
    """Enable the chip's driver in one image; for a chip of unknown kind, one alternative per bus."""

    def fix(known: NorDriver, why: str) -> Fix:
        lines = driver_lines(known, image.config, is_mcuboot(image))
        return targets.image_kconfig(build, image, lines, why)

    if driver is not None:
        return [fix(driver, f"enable the {driver.compatible} driver")]
    return [
        fix(known, f"if the chip is {known.compatible} (on the {known.bus} bus)")
        for known in NOR_DRIVERS.values()
    ]
