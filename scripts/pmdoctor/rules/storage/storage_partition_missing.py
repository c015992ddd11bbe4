"""PMD601 storage-partition-missing."""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

from ...model import Build, Era, Image, Layout, Partition, Role
from ...model.drivers import enables_a_nor_driver
from ...model.edits import PartitionNode
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule
from .._shared import targets
from .._shared.common import static_layout_for
from .._shared.external import needed
from .._shared.layouts import (
    edit_path,
    hexrange,
    where_to_edit,
)
from .._shared.protection import said
from .._shared.targets import devicetree_snippet, image_kconfig
from ._common import settings_backend


def _storage_images(build: Build) -> Iterator[Image]:
    for image in build.images:
        if image.role in (Role.APP, Role.NETCORE) and image.config:
            yield image


def _needs(image: Image) -> List[Tuple[str, str, Severity]]:
    """(partition, option, severity when missing) that Partition Manager creates for this image."""
    needs = []
    backend = settings_backend(image.config)
    if backend is not None:
        needs.append(("settings_storage", backend, Severity.ERROR))
    if image.config.enabled("CONFIG_FILE_SYSTEM_LITTLEFS"):
        # LittleFS may be mounted on a partition of the user's own naming.
        needs.append(("littlefs_storage", "CONFIG_FILE_SYSTEM_LITTLEFS", Severity.WARNING))
    return needs


def _has_ext_driver(image: Image) -> bool:
    # Partition Manager's own gate decides when .config has it (logs.py takes any driver symbol).
    config = image.config
    if "CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER" in config:
        return config.enabled("CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER")
    return enables_a_nor_driver(config)


def _storage_judges_reach(image: Image, part: Partition) -> bool:
    """Whether this rule judges an external partition's reachability for this image.

    When the external-flash rules count the partition among those the image
    must open (PMD301/PMD302), they name the exact chosen node and driver
    lines; saying it again here would report one cause twice.
    """
    return part.region == "external_flash" and not needed(image, [part])


def _external_problem(image: Image, part: Partition) -> Optional[str]:
    """Why an external storage partition is left out of this image's flash map (knowledge A5)."""
    chip = image.devicetree.chosen_node("nordic,pm-ext-flash") if image.devicetree else None
    if image.devicetree and chip is None:
        return f"image '{image.name}' has no `nordic,pm-ext-flash` chosen node"
    if chip is not None and not chip.status_okay:
        return f"the external flash {chip.label} is disabled in image '{image.name}'"
    if not _has_ext_driver(image):
        return f"image '{image.name}' has no external flash driver (no CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER)"
    return None


def _pm_storage(build: Build, image: Image) -> Iterator[Finding]:
    layout = build.layout_for_domain(image.domain)
    if layout is None or not (image.uses_partition_manager or image.role is Role.APP):
        return
    for name, option, severity in _needs(image):
        why = said(image.config, option, image.name)
        part = layout.get(name)
        if part is None:
            yield Finding(
                message=(
                    f"{option}=y in image '{image.name}', but the layout has no `{name}`: "
                    "the subsystem finds no flash area and fails to initialise"
                ),
                location=image.config.where(option),
                image=image.name,
                domain=layout.domain,
                severity=severity,
                evidence=[why, f"layout: {layout.label}"],
                fixes=[_add_storage_fix(build, layout, image, name)],
                subject=(image.name, name),
            )
            continue
        problem = _external_problem(image, part) if _storage_judges_reach(image, part) else None
        if problem:
            yield Finding(
                message=(
                    f"`{name}` is on external flash but {problem}: the image's flash map drops the "
                    "partition and storage fails to open it (-ENOENT)"
                ),
                location=part.source,
                image=image.name,
                domain=layout.domain,
                evidence=[why, f"{name}: {hexrange(part)} in {part.region}"],
                fixes=[
                    image_kconfig(
                        build, image, ["CONFIG_SPI_NOR=y  # or CONFIG_NORDIC_QSPI_NOR=y"], "give it a driver"
                    ),
                    devicetree_snippet(
                        build,
                        image,
                        "/ {\n\tchosen {\n\t\tnordic,pm-ext-flash = &mx25r64;  /* your chip */\n\t};\n};",
                        "tell Partition Manager which chip is the external flash",
                    ),
                ],
                subject=(image.name, name, "external"),
            )


# Partition Manager's default sizes (sdk-nrf Kconfig) when the image does not set them.
_DEFAULT_SIZE = {"settings_storage": 0x2000, "littlefs_storage": 0x6000}
_SIZE_SYMBOL = {
    "settings_storage": "CONFIG_PM_PARTITION_SIZE_SETTINGS_STORAGE",
    "littlefs_storage": "CONFIG_PM_PARTITION_SIZE_LITTLEFS",
}


def _add_storage_fix(build: Build, layout: Layout, image: Image, name: str) -> Fix:
    """Add the partition to the static file, in free flash at its end (never inside another one)."""
    why = f"add `{name}` (or build without the static file so Partition Manager places it)"
    static = static_layout_for(build, layout.domain)
    if edit_path(build, layout) is None or static is None:
        return Fix(why + where_to_edit(build, layout), edit_path(build, layout))
    region = layout.regions.get("flash_primary")
    block = region.erase_block if region is not None and region.erase_block else 0x1000
    size = targets.round_up(image.config.int(_SIZE_SYMBOL[name]) or _DEFAULT_SIZE[name], block)
    address = targets.free_gap(static, "flash_primary", size, block)
    if address is None:
        return Fix(
            f"add `{name}` (0x{size:x} bytes): the static layout has no free flash for it; shrink the "
            "partition before the end of flash (usually `app`) first",
            edit_path(build, layout),
        )
    entries = (
        ("address", address),
        ("end_address", address + size),
        ("region", "flash_primary"),
        ("size", size),
    )
    return targets.static_fix(build, layout.domain, [targets.static_add(name, entries)], why)


def _dts_storage_fix(build: Build, image: Image) -> Fix:
    """A storage_partition node in free space of the code flash, else the snippet to adapt."""
    why = "declare a storage partition in free flash"
    tree = image.devicetree
    flash = tree.chosen_node("zephyr,flash")
    layout = tree.layout
    region = (
        next((r for r in layout.regions.values() if flash and r.device == flash.path), None)
        if layout
        else None
    )
    block = region.erase_block if region is not None and region.erase_block else 0x1000
    address = targets.free_gap(layout, region.name, 0x8000, block) if region is not None else None
    if flash is None or not flash.labels or address is None:
        return devicetree_snippet(
            build,
            image,
            "&flash0 {\n\tpartitions {\n\t\tstorage_partition: partition@f8000 {\n"
            '\t\t\tlabel = "storage";\n\t\t\treg = <0xf8000 0x8000>;\n\t\t};\n\t};\n};',
            why + " (adjust address and size)",
        )
    offset = address - (region.base or 0)
    node = PartitionNode("storage_partition", offset, 0x8000, label="storage")
    return targets.overlay_fix(build, image, [targets.partition_add(f"&{flash.labels[0]}", node)], why)


def _dts_storage(build: Build, image: Image) -> Iterator[Finding]:
    backend = settings_backend(image.config)
    tree = image.devicetree
    if backend is None or not tree:
        return
    if "storage_partition" in tree.labels or "zephyr,settings-partition" in tree.chosen:
        return
    yield Finding(
        message=(
            f"{backend}=y in image '{image.name}', but its devicetree has no `storage_partition` "
            "and no `zephyr,settings-partition` chosen node for settings"
        ),
        location=image.config.where(backend),
        image=image.name,
        evidence=[said(image.config, backend, image.name), Text("devicetree: ", tree.file)],
        fixes=[_dts_storage_fix(build, image)],
        subject=(image.name, "storage_partition"),
    )


@rule("PMD601", "storage-partition-missing", Severity.ERROR, rank=60)
def storage_partition_missing(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    For each application (and network-core) image, checks that the storage
    its Kconfig enables has a partition: `settings_storage` for settings on
    NVS/ZMS/FCB, `littlefs_storage` for LittleFS (Partition Manager builds),
    `storage_partition` or a `zephyr,settings-partition` chosen node
    (devicetree builds). A storage partition on external flash also needs
    the `nordic,pm-ext-flash` chosen node and a driver in that image.

    ## Why it matters
    Without a partition the subsystem cannot open its flash area:
    `settings_subsys_init()` fails with -ENOENT and nothing is stored, or
    the build stops on an undefined `FIXED_PARTITION_ID`. An external
    partition without chosen node or driver is silently dropped from the
    image's flash map, with the same result.

    ## Example
    `CONFIG_SETTINGS_NVS=y` with a `pm_static.yml` that has no
    `settings_storage` and no room left for Partition Manager to place one.

    ## How to fix
    Add the partition (Partition Manager: to the static file, or drop the
    static file so it is placed; devicetree: a `storage_partition` in an
    overlay). For external flash, enable the NOR driver and set
    `nordic,pm-ext-flash` in that image.

    Mechanical: the partition is added to the static file in free flash at the end of the region, in whole
    erase blocks (devicetree era: a `storage_partition` node in the overlay). When no free flash is left it is
    advice: shrink the partition before it first.
    """
    for image in _storage_images(build):
        if build.era is Era.DEVICETREE:
            yield from _dts_storage(build, image)
        else:
            yield from _pm_storage(build, image)
