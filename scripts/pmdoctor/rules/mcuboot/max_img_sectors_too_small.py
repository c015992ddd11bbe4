"""PMD402 max-img-sectors-too-small."""

from __future__ import annotations

from typing import Iterator

from ...model import (
    Build,
    Image,
    Layout,
    LayoutKind,
    Partition,
)
from ...model.findings import Finding, Severity
from .. import rule
from .._shared.common import (
    mcuboot_image,
    mcuboot_lost_partition_manager,
    next_power_of_two,
    user_source,
)
from .._shared.edit_helpers import kconfig_fix
from .._shared.layouts import hx
from ._common import mcuboot_mode, slot_layout, slot_sectors

_NORDIC_BOARDS = ("nrf5", "nrf7", "nrf9", "thingy", "nrf54")


@rule("PMD402", "max-img-sectors-too-small", Severity.ERROR, rank=72, explains=("sectors-incompatible",))
def max_img_sectors_too_small(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Counts the sectors of every MCUboot slot (slot size divided by the sector
    size MCUboot sees for that slot: the erase block of internal flash, or
    the flash page layout of an external NOR: `CONFIG_NORDIC_QSPI_NOR_FLASH_LAYOUT_PAGE_SIZE`,
    default 4096, or `CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE`, default 65536)
    and compares the largest count with MCUboot's `CONFIG_BOOT_MAX_IMG_SECTORS`.
    Skipped when `CONFIG_BOOT_MAX_IMG_SECTORS_AUTO=y`, with a note when
    MCUboot's devicetree (which AUTO reads) has smaller slots than Partition
    Manager.

    ## Why it matters
    MCUboot sizes its sector table at compile time. A slot with more sectors
    cannot be read: "Failed reading sectors; BOOT_MAX_IMG_SECTORS=128 - too
    small?", "Cannot upgrade: not a compatible amount of sectors", and the
    update never happens. External secondaries and custom boards (which lose
    the DK's MCUboot board defaults) are the usual cases.

    ## Example
    `mcuboot_secondary` of 0xf4000 bytes on QSPI with 4 KB pages = 244
    sectors, but `CONFIG_BOOT_MAX_IMG_SECTORS=128`.

    ## Severity
    An error when MCUboot's `CONFIG_BOOT_MAX_IMG_SECTORS` is smaller than a slot's sector count;
    a note when `CONFIG_BOOT_MAX_IMG_SECTORS_AUTO` counts the slots of MCUboot's devicetree,
    which under Partition Manager may be smaller than the slots it places.

    ## How to fix
    Set `CONFIG_BOOT_MAX_IMG_SECTORS` in MCUboot's configuration to at least
    the count (`sysbuild/mcuboot.conf` or `child_image/mcuboot.conf`). Each
    sector costs a few bytes of MCUboot RAM.

    Mechanical: one Kconfig edit in the fragment that configures the MCUboot
    image in this build (the era's `sysbuild/mcuboot.conf` or
    `child_image/mcuboot.conf`, or the file the CMake cache names), setting
    the next power of two at or above the count.
    """
    mcuboot = mcuboot_image(build)
    layout = slot_layout(build)
    if mcuboot is None or layout is None or mcuboot_mode(build) in ("direct-xip", "ram-load", "single"):
        return
    if mcuboot_lost_partition_manager(build) is not None:
        return  # MCUboot does not use these slots at all; PMD404 names that cause
    config = mcuboot.config
    counts = [
        (index, part, *slot_sectors(build, layout, part))
        for index, primary, secondary in layout.slot_pairs()
        for part in (primary, secondary)
        if part.size
    ]
    if not counts:
        return
    _, part, needed, sector, _ = max(counts, key=lambda c: c[2])
    if config.enabled("CONFIG_BOOT_MAX_IMG_SECTORS_AUTO"):
        yield from _auto_caveat(build, mcuboot, layout, needed, part)
        return
    limit = config.int("CONFIG_BOOT_MAX_IMG_SECTORS")
    if limit is None or needed <= limit:
        return
    recommended = next_power_of_two(needed)
    evidence = [f"{p.name}: {hx(p.size)} / {hx(s)} ({o}) = {n} sectors" for _, p, n, s, o in counts]
    board = (build.board or "").lower()
    if board and not board.startswith(_NORDIC_BOARDS):
        evidence.append(
            f"board {build.board} is not a Nordic board: MCUboot's per-board defaults "
            "(boot/zephyr/boards/<board>.conf) do not apply to it"
        )
    yield Finding(
        message=(
            f"MCUboot's CONFIG_BOOT_MAX_IMG_SECTORS={limit} is smaller than the {needed} sectors of "
            f"`{part.name}` ({hx(part.size)} / {hx(sector)}): MCUboot cannot read the slot and never "
            "applies the update"
        ),
        location=user_source(build, mcuboot, "CONFIG_BOOT_MAX_IMG_SECTORS"),
        image=mcuboot.name,
        evidence=evidence,
        fixes=[
            kconfig_fix(
                build,
                mcuboot,
                [("CONFIG_BOOT_MAX_IMG_SECTORS", str(recommended))],
                f"{recommended} is the smallest power of two >= {needed}; any value >= {needed} works"
                " — add to mcuboot's configuration",
            )
        ],
        subject=("max-img-sectors", part.name),
    )


def _auto_caveat(
    build: Build, mcuboot: Image, layout: Layout, needed: int, part: Partition
) -> Iterator[Finding]:
    """AUTO counts the slots of MCUboot's devicetree; under PM those may be smaller."""
    tree_layout = mcuboot.devicetree.layout
    if layout.kind is LayoutKind.DEVICETREE or tree_layout is None:
        return
    counted = [
        slot_sectors(build, tree_layout, p)[0]
        for _, primary, secondary in tree_layout.slot_pairs()
        for p in (primary, secondary)
        if p.size
    ]
    if not counted or max(counted) >= needed:
        return
    yield Finding(
        message=(
            f"CONFIG_BOOT_MAX_IMG_SECTORS_AUTO sizes MCUboot's sector table from its devicetree "
            f"({max(counted)} sectors), but Partition Manager gives `{part.name}` {needed} sectors"
        ),
        location=mcuboot.config.where("CONFIG_BOOT_MAX_IMG_SECTORS_AUTO"),
        image=mcuboot.name,
        severity=Severity.NOTE,
        fixes=[
            kconfig_fix(
                build,
                mcuboot,
                [
                    ("CONFIG_BOOT_MAX_IMG_SECTORS_AUTO", "n"),
                    ("CONFIG_BOOT_MAX_IMG_SECTORS", str(next_power_of_two(needed))),
                ],
                "set the count explicitly — add to mcuboot's configuration",
            )
        ],
        subject=("max-img-sectors-auto", part.name),
    )
