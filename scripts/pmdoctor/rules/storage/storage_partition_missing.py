"""PMD601 storage-partition-missing."""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

from ...model import Build, Era, Image, Partition, Role
from ...model.drivers import enables_a_nor_driver
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule
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
                fixes=[
                    Fix(
                        f"add `{name}` (or build without the static file so Partition Manager places it)"
                        + where_to_edit(build, layout),
                        edit_path(build, layout),
                    )
                ],
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
        fixes=[
            devicetree_snippet(
                build,
                image,
                "&flash0 {\n\tpartitions {\n\t\tstorage_partition: partition@f8000 {\n"
                '\t\t\tlabel = "storage";\n\t\t\treg = <0xf8000 0x8000>;\n\t\t};\n\t};\n};',
                "declare a storage partition in free flash (adjust address and size)",
            )
        ],
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

    ## Severity
    An error when settings have no `settings_storage`; a warning for LittleFS without
    `littlefs_storage`, which may be mounted on a partition of the user's own naming.

    ## How to fix
    Add the partition (Partition Manager: to the static file, or drop the
    static file so it is placed; devicetree: a `storage_partition` in an
    overlay). For external flash, enable the NOR driver and set
    `nordic,pm-ext-flash` in that image.
    """
    for image in _storage_images(build):
        if build.era is Era.DEVICETREE:
            yield from _dts_storage(build, image)
        else:
            yield from _pm_storage(build, image)
