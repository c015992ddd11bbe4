"""PMD302 ext-flash-driver-missing."""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

from ...model import Build, DtNode, Image, Partition, Region, Source
from ...model.findings import Finding, Severity, Text
from .. import rule
from .._shared import targets as fixes
from ._common import (
    DRIVERS,
    HAS_DRIVER,
    OVERRIDE,
    Elsewhere,
    chip,
    chip_words,
    devicetree_needs,
    driver_fixes_for,
    driver_gate,
    has_driver,
    images_needing_external,
    nor_compatible,
    part_evidence,
    passes_gate,
    region_evidence,
    setting_words,
    slot_consequence,
)


@rule("PMD302", "ext-flash-driver-missing", Severity.ERROR, rank=95, explains=("slot-unreachable",))
def ext_flash_driver_missing(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    For every image that must open a partition in external flash (MCUboot:
    the secondary slots; the application: its storage partitions, and the
    secondary slots when it receives updates), checks that image's own
    `.config` for the Kconfig Partition Manager requires
    (`CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER`, as named in `regions.yml`) and
    for the driver of the chip's compatible: `nordic,qspi-nor` needs
    `CONFIG_NORDIC_QSPI_NOR`, `jedec,spi-nor` needs `CONFIG_SPI` and
    `CONFIG_SPI_NOR`.

    ## Why it matters
    The flash map of an image keeps an external partition only if that
    image has the driver. Enabling it in `prj.conf` does nothing for
    MCUboot, and enabling it only for MCUboot does nothing for the
    application. The image that lacks it silently loses the partition:
    MCUboot stops with `Failed to open flash area … -2` (older releases:
    `Failed reading sectors; BOOT_MAX_IMG_SECTORS=128 - too small?`), and the
    application's MCUmgr refuses uploads with `Image upload inspect failed: 5`
    or "no free slot".

    ## Example
    `partitions.yml` puts `mcuboot_secondary` in `external_flash` on a
    `nordic,qspi-nor` chip; `build/zephyr/.config` says
    `# CONFIG_NORDIC_QSPI_NOR is not set`.

    ## How to fix
    Enable the driver in every image that uses the chip: the application in
    `prj.conf`, MCUboot in `child_image/mcuboot.conf` (child-image builds) or
    `sysbuild/mcuboot.conf` (sysbuild):

    ```
    CONFIG_NORDIC_QSPI_NOR=y
    CONFIG_NORDIC_QSPI_NOR_FLASH_LAYOUT_PAGE_SIZE=4096
    CONFIG_NORDIC_QSPI_NOR_STACK_WRITE_BUFFER_SIZE=16
    ```

    For SPI NOR use `CONFIG_SPI=y`, `CONFIG_SPI_NOR=y`,
    `CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE=4096`; if the `.config` still lacks
    `CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER=y`, also set the driver-check
    override (`SB_CONFIG_PM_OVERRIDE_EXTERNAL_DRIVER_CHECK=y` in
    `sysbuild.conf`, or `CONFIG_PM_OVERRIDE_EXTERNAL_DRIVER_CHECK=y` in
    `prj.conf` for child-image builds).

    Devicetree-era builds have no driver check: each image whose devicetree
    holds a partition under an enabled NOR node needs that chip's driver
    itself (MCUboot for `slot1_partition`, the application when it writes
    updates or uses storage there).

    Mechanical when checked: the driver lines go into the Kconfig fragment the image reads
    (`<image>_CONF_FILE`, `<image>_OVERLAY_CONFIG`, `EXTRA_CONF_FILE`, then `sysbuild/<image>.conf` or
    `child_image/<image>.conf`). When pmdoctor cannot confirm the effect from its model, the fix is advice and
    says why.
    """
    elsewhere = Elsewhere()
    for image, parts, node in devicetree_needs(build):
        if has_driver(image, node) is False:
            yield _driver_finding(build, elsewhere, image, parts, None, None, node)
    gates: List[Optional[str]] = []
    for image, parts, region in images_needing_external(build):
        if not gates:  # every image needs the same layout's region: ask once
            gates.append(driver_gate(build, region))
        gate = gates[0]
        node = chip(build, image)
        if passes_gate(image, gate, node):
            continue
        yield _driver_finding(build, elsewhere, image, parts, region, gate, node)


def _driver_finding(
    build: Build,
    elsewhere: Elsewhere,
    image: Image,
    parts: List[Partition],
    region: Optional[Region],
    gate: Optional[str],
    node: Optional[DtNode],
) -> Finding:
    compatible = nor_compatible(node)
    driver_ok = has_driver(image, node)
    head = f"{parts[0].name} lives on {chip_words(node)} but image '{image.name}' "
    if driver_ok is False:
        missing = [name for name in DRIVERS.get(compatible, ()) if not image.config.enabled(name)]
        missing = missing or ["CONFIG_NORDIC_QSPI_NOR", "CONFIG_SPI_NOR"]
        if compatible or len(missing) == 1:
            what = "has no driver for it: " + Text.join(
                " and ", (setting_words(build, image, n) for n in missing)
            )
        else:  # chip unknown: name both drivers, either would do
            what = f"has no driver for it: neither {' nor '.join(missing)} is set in " + Text(
                Source(image.config.file)
            )
        location = image.config.where(missing[0])
        driver_fixes = driver_fixes_for(build, image, compatible)
    else:
        what = (
            "does not pass Partition Manager's driver check: "
            + setting_words(build, image, gate or HAS_DRIVER)
            + ", "
            "although the driver itself is enabled"
        )
        location = image.config.where(gate or HAS_DRIVER)
        driver_fixes = [
            fixes.build_option(
                build, OVERRIDE, "y", "let Partition Manager accept this driver (keep the driver enabled too)"
            )
        ]
    evidence = (
        part_evidence(build, parts)
        + region_evidence(build, region)
        + elsewhere.lines(image, _driver_question(gate, node), _driver_elsewhere, build, gate, node)
    )
    return Finding(
        message=head + what + ". " + slot_consequence(image, parts) + ".",
        location=location,
        image=image.name,
        evidence=evidence,
        fixes=driver_fixes,
        subject=("ext-driver", image.name),
    )


def _driver_question(gate: Optional[str], node: Optional[DtNode]) -> tuple:
    """What `_driver_elsewhere` depends on: the gate, and of the chip only its compatible."""
    return ("driver", gate, None if node is None else (nor_compatible(node), bool(node.compatible)))


def _driver_elsewhere(build: Build, gate: Optional[str], node: Optional[DtNode]) -> List[Tuple[Image, str]]:
    lines = []
    for other in build.images:
        if other.domain is not None or not other.config:
            continue
        if passes_gate(other, gate, node) and has_driver(other, node):
            names = DRIVERS.get(nor_compatible(node) or "", ())
            settings = [Text(f"{name}=y (", other.config.where(name), ")") for name in names]
            shown = Text.join(", ", settings) or "the driver"
            lines.append((other, f"image '{other.name}' has it: " + shown))
    return lines
