"""What an edit does to devices already in the field.

Moving or resizing a partition a deployed device depends on is safe on the
desk and fatal in the field: the bootloader that is already flashed keeps the
old layout (an update built for the new one is refused or bricks the device),
and data stored at the old place is not found at the new one. Every edit that
changes the address, size, device or label of such a partition carries one
line saying so; with ``--baseline`` (the layout deployed) such an edit is never
applied mechanically.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Optional

from ..model import Build, Layout
from ..model.edits import Action, Edit, KconfigEdit, OverlayEdit, StaticEdit

# Partitions the deployed bootloader reads: moving one breaks DFU from the old firmware.
_BOOT = re.compile(
    r"^(mcuboot|mcuboot_pad|mcuboot_primary(_\d+)?|mcuboot_primary(_\d+)?_app|mcuboot_secondary(_\d+)?|"
    r"mcuboot_scratch|scratch|b0n?|s[01](_pad|_image)?|provision|bootconf|tfm.*|"
    r"boot_partition|slot\d+_partition|slot\d+_ns_partition|scratch_partition|tfm_.*partition|"
    r"image[_-]\d+|image[_-]scratch)$"
)
# Partitions that keep data across updates: moving one loses it.
_DATA = re.compile(
    r"^(settings_storage|nvs_storage|littlefs_storage|zms(_storage)?|storage|storage_partition|"
    r"nrf_modem_lib_.*|lfs_.*partition)$"
)
# Keys and symbols that move or resize a partition.
_MOVING_KEYS = {"address", "size", "end_address", "device", "region"}
_MOVING_SYMBOL = re.compile(r"(PM_PARTITION_SIZE_|PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY|PM_PARTITION_REGION_)")


_CHECK = "Check with --baseline <deployed layout>."
_OLD_BOOTLOADER = (
    "the bootloader already in the field keeps the old layout, so DFU from the old firmware breaks"
)


def is_deployed_partition(name: str) -> bool:
    return bool(_BOOT.match(name) or _DATA.match(name))


def _warning(name: str) -> str:
    if _DATA.match(name):
        consequence = f"data stored in `{name}` on deployed devices is not found at the new place and is lost"
    else:
        consequence = (
            f"the bootloader already in the field keeps the old `{name}`, so DFU from the old firmware breaks"
        )
    return f"Devices in the field: this changes `{name}`; {consequence}. {_CHECK}"


def moved_partitions(build: Build, edits: Iterable[Edit]) -> List[str]:
    """The deployed-kind partitions whose address, size, device or label the edits change."""
    names: List[str] = []
    for edit in edits:
        name = _moved(build, edit)
        if name and name not in names:
            names.append(name)
    return names


def _moved(build: Build, edit: Edit) -> Optional[str]:
    if isinstance(edit, StaticEdit):
        if not is_deployed_partition(edit.partition):
            return None
        if edit.action is Action.ADD:
            return edit.partition if _existing(build, edit) else None
        if (
            edit.key is None
            and edit.action is Action.REMOVE
            and _slot_beyond_updateable_images(build, edit.partition)
        ):
            return None
        if edit.key is None or edit.key in _MOVING_KEYS:
            return edit.partition
        return None
    if isinstance(edit, KconfigEdit):
        match = _MOVING_SYMBOL.search(edit.symbol)
        if not match:
            return None
        rest = edit.symbol[match.end() :].lower()
        if not rest and match.group(0) == "PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY":
            return None if _secondary_stays(build, edit) else "mcuboot_secondary"
        return rest if rest and is_deployed_partition(rest) else ("mcuboot_secondary" if not rest else None)
    if isinstance(edit, OverlayEdit) and edit.action is Action.ADD and edit.partition is not None:
        label = edit.partition.node_label
        return label if is_deployed_partition(label) and _in_devicetree(build, edit) else None
    return None


_NUMBERED_SLOT = re.compile(r"^mcuboot_(?:primary|secondary)_(\d+)$")


def _slot_beyond_updateable_images(build: Build, name: str) -> bool:
    """A slot of image N when the build's MCUboot updates fewer than N + 1 images (a copied
    nRF5340 `mcuboot_secondary_1` on an nRF52840): no deployed device uses it, so removing it
    moves nothing."""
    match = _NUMBERED_SLOT.match(name)
    mcuboot = build.image("mcuboot")
    if match is None or mcuboot is None or not mcuboot.config:
        return False
    images = mcuboot.config.int("CONFIG_UPDATEABLE_IMAGE_NUMBER") or 1  # MCUboot's default: one image
    return int(match.group(1)) >= images


def _secondary_stays(build: Build, edit: KconfigEdit) -> bool:
    """Turning the external-secondary option on where the layout already has the secondary on
    external flash (or off where it is internal) only makes the images agree with it."""
    external = edit.action is Action.SET and edit.value == "y"
    places = {
        part.region == "external_flash"
        for layout in build.all_layouts()
        if (part := layout.get("mcuboot_secondary")) is not None
    }
    return places == {external}


def _existing(build: Build, edit: StaticEdit) -> bool:
    """An ADD that rewrites a partition the layout has, with another place or size."""
    entries = dict(edit.entries)
    for layout in _layouts(build, edit.domain):
        part = layout.get(edit.partition)
        if part is None:
            continue
        if ("address" in entries and entries["address"] != part.address) or (
            "size" in entries and entries["size"] != part.size
        ):
            return True
    return False


def _in_devicetree(build: Build, edit: OverlayEdit) -> bool:
    image = build.image(edit.image or "app")
    layout = image.devicetree.layout if image is not None else None
    return layout is not None and edit.partition.node_label in layout.partitions


def _layouts(build: Build, domain: Optional[str]) -> List[Layout]:
    found = [layout for layout in build.layouts if layout.domain == domain]
    found += [s.layout for s in build.static_files if s.domain == domain and s.layout is not None]
    return found


def field_warning(build: Build, edits: Iterable[Edit]) -> Optional[str]:
    """The one line a fix shows when it moves a partition deployed devices depend on."""
    moved = moved_partitions(build, edits)
    if not moved:
        return None
    if len(moved) == 1:
        return _warning(moved[0])
    names = ", ".join(f"`{name}`" for name in moved)
    lost = any(_DATA.match(name) for name in moved)
    booted = any(_BOOT.match(name) for name in moved)
    consequence = " and ".join(
        part
        for part, applies in (
            (_OLD_BOOTLOADER, booted),
            ("data stored there on deployed devices is lost", lost),
        )
        if applies
    )
    return f"Devices in the field: this changes {names}; {consequence}. {_CHECK}"


def deployed_conflict(build: Build, edits: Iterable[Edit]) -> Optional[str]:
    """With --baseline: why these edits must not be applied mechanically (a deployed partition moves)."""
    if not build.baselines:
        return None
    edits = list(edits)
    for name in moved_partitions(build, edits):
        domain = next(
            (getattr(e, "domain", None) for e in edits if getattr(e, "partition", None) == name), None
        )
        for baseline in build.baselines:
            if baseline.domain == domain and name in baseline.partitions:
                part = baseline.partitions[name]
                where = f" at 0x{part.address:x}" if part.address is not None else ""
                return (
                    f"`{name}` is deployed{where} (--baseline); moving it breaks devices in the field — "
                    "keep it and change the layout around it, or plan a migration"
                )
    return None


# Subsystems that open their partition by name: a renamed partition is not where their data is.
_OPENED_BY_NAME = (
    "CONFIG_NVS",
    "CONFIG_FILE_SYSTEM_LITTLEFS",
    "CONFIG_ZMS",
    "CONFIG_SETTINGS_NVS",
    "CONFIG_FCB",
)
_STORAGE_NAMES = {"storage", "settings_storage", "nvs_storage", "littlefs_storage", "storage_partition"}


def renames_opened_partition(build: Build, edits: Iterable[Edit]) -> Optional[str]:
    """A storage partition renamed while NVS/LittleFS/ZMS open it by name: where the data goes missing."""
    edits = list(edits)
    removed = {
        e.partition for e in edits if isinstance(e, StaticEdit) and e.action is Action.REMOVE and not e.key
    }
    added = {e.partition for e in edits if isinstance(e, StaticEdit) and e.action is Action.ADD}
    renamed = sorted(removed & _STORAGE_NAMES)
    if not renamed or not added:
        return None
    if not any(image.config for image in build.images):
        return (
            f"renaming `{renamed[0]}` changes which flash area FLASH_AREA_ID() opens; without the "
            "images' .config pmdoctor cannot tell whether NVS, LittleFS or ZMS keep data there"
        )
    users = sorted({s for image in build.images for s in _OPENED_BY_NAME if image.config.enabled(s)})
    if not users:
        return None
    new = ", ".join(f"`{name}`" for name in sorted(added))
    return (
        f"renaming `{renamed[0]}` to {new} changes which flash area FLASH_AREA_ID()/FIXED_PARTITION_ID() "
        f"open ({', '.join(users)} in use): data already stored is not found; move it deliberately"
    )
