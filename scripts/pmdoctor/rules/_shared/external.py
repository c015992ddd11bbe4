"""Which external-flash partitions an image must open: MCUboot its slots, the app what it writes."""

from __future__ import annotations

import re
from typing import List, Sequence

from ...model import Image, Partition, Role

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
    return [part for part in parts if writes_updates or not is_slot(part)]
