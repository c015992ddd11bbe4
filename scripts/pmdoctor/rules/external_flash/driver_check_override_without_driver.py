"""PMD308 driver-check-override-without-driver."""

from __future__ import annotations

from typing import Iterator

from ...model import Build, Image
from ...model.findings import Finding, Severity, Text
from .. import rule
from .._shared.common import app_pm_layout
from .._shared.external import fully_loaded
from ._common import (
    CHOSEN,
    DRIVERS,
    HAS_DRIVER,
    OVERRIDE,
    driver_fixes_for,
    driver_gate,
    external_parts,
    external_region,
    has_driver,
    nor_compatible,
    passes_gate,
    setting_words,
)


@rule(
    "PMD308",
    "driver-check-override-without-driver",
    Severity.ERROR,
    rank=85,
    explains=("link-device-ord",),
)
def driver_check_override_without_driver(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Finds images where `CONFIG_PM_OVERRIDE_EXTERNAL_DRIVER_CHECK` (or
    `SB_CONFIG_PM_OVERRIDE_EXTERNAL_DRIVER_CHECK` in sysbuild) makes Partition
    Manager keep the external partitions, the chosen flash node is enabled,
    but no driver for that node's compatible is built.

    ## Why it matters
    The override only tells Partition Manager to trust that a driver exists.
    The flash map then refers to the device, and without a driver the link
    fails with `undefined reference to '__device_dts_ord_<n>'`.

    ## Example
    `SB_CONFIG_PM_OVERRIDE_EXTERNAL_DRIVER_CHECK=y`, the chip is
    `jedec,spi-nor`, MCUboot's `.config` has `# CONFIG_SPI_NOR is not set`.

    ## How to fix
    Enable the real driver in that image (`CONFIG_SPI=y`, `CONFIG_SPI_NOR=y`
    for `jedec,spi-nor`; `CONFIG_NORDIC_QSPI_NOR=y` for `nordic,qspi-nor`);
    the override never replaces it.

    Mechanical when checked: the driver lines go into the Kconfig fragment the image reads.
    """
    layout = app_pm_layout(build)
    if not build.partition_manager or not external_parts(layout):
        return
    gate = driver_gate(build, external_region(layout))
    for image in build.images:
        if not fully_loaded(image) or image.domain is not None:
            continue
        node = image.devicetree.chosen_node(CHOSEN)
        if gate is None or not passes_gate(image, gate, node):
            continue  # the partitions are dropped, so nothing refers to the device
        if node is None or not node.status_okay or has_driver(image, node) is not False:
            continue
        if not _override_in_effect(build, image):
            continue
        compatible = nor_compatible(node)
        missing = [name for name in DRIVERS[compatible] if not image.config.enabled(name)]
        yield Finding(
            message=f"image '{image.name}' keeps the external partitions through the driver-check "
            f"override, but builds no driver for {node.label} ({compatible}): "
            + Text.join(" and ", (setting_words(build, image, name) for name in missing))
            + ". The link will fail with \"undefined reference to '__device_dts_ord_…'\"",
            location=image.config.where(missing[0]),
            image=image.name,
            evidence=[
                setting_words(build, image, f"CONFIG_{OVERRIDE}"),
                setting_words(build, image, HAS_DRIVER),
            ],
            fixes=driver_fixes_for(build, image, compatible),
            subject=("override-no-driver", image.name),
        )


def _override_in_effect(build: Build, image: Image) -> bool:
    """HAS_DRIVER without a driver can only come from the override."""
    return image.config.enabled(f"CONFIG_{OVERRIDE}") or build.sysbuild_config.enabled(
        f"SB_CONFIG_{OVERRIDE}"
    )
