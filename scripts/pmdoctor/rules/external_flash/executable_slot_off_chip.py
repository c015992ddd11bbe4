"""PMD307 executable-slot-off-chip."""

from __future__ import annotations

from typing import Iterator

from ...model import Build, Layout, LayoutKind
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule
from .._shared import targets
from .._shared.layouts import edit_path, hexrange, static_twin
from ._common import EXT

_EXECUTABLE = ("mcuboot_primary", "mcuboot_primary_app", "app")


@rule("PMD307", "executable-slot-off-chip", Severity.ERROR, rank=80, explains=("pm-failed", "boot-hang"))
def executable_slot_off_chip(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Reports `mcuboot_primary`, `mcuboot_primary_app` or `app` placed in the
    `external_flash` region.

    ## Why it matters
    MCUboot boots the primary slot in place, and ordinary builds run from
    internal flash: an application linked for an address in external flash
    does not start, and Partition Manager usually fails first ("End of last
    partition is after last valid address"). Only the secondary slot (and
    storage) can move off-chip. The one executable exception is the nRF5340
    QSPI XIP split image, whose extra pair is `mcuboot_primary_2` /
    `mcuboot_secondary_2`; it is not reported.

    ## Example
    ```yaml
    mcuboot_primary:
      address: 0x0
      region: external_flash
    ```

    ## How to fix
    Keep the primary slot and the application in `flash_primary`; move only
    `mcuboot_secondary` off-chip (`SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY=y`).
    For an application too large for internal flash on the nRF5340, use the
    QSPI XIP split image.

    Mechanical only when a static file exists and moving the slot back creates no overlap; otherwise advice
    naming what stands in the way.
    """
    for layout in _pm_layouts(build):
        for name in _EXECUTABLE:
            part = layout.get(name)
            if part is None or part.region != EXT:
                continue
            if static_twin(build, layout, (name,)):
                continue
            yield Finding(
                message=f"`{name}` is placed in external flash ({hexrange(part)}): MCUboot runs the "
                "primary slot in place and the application cannot execute from there",
                location=part.source,
                domain=layout.domain,
                evidence=[Text(f"{name}: {hexrange(part)} region {part.region} (", part.source, ")")],
                fixes=[_internal_fix(build, layout, name)],
                subject=("exec-offchip", layout.kind.value, name),
            )


def _internal_fix(build: Build, layout: Layout, name: str) -> Fix:
    why = f"put `{name}` back in internal flash; only the secondary slot may go off-chip"
    if edit_path(build, layout) is None:  # no static file: PM placed it from Kconfig, not from a file
        return Fix(why, targets.static_target(build, layout.domain).file, f"{name}:\n  region: flash_primary")
    back = targets.static_set(name, "region", "flash_primary")
    return targets.static_fix(build, layout.domain, [back], why)


def _pm_layouts(build: Build) -> Iterator[Layout]:
    if not build.partition_manager:
        return
    yield from build.layouts
    for static in build.static_files:
        if static.layout is not None and static.layout.kind is LayoutKind.STATIC:
            yield static.layout
