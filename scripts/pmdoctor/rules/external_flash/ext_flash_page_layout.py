"""PMD306 ext-flash-page-layout."""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Tuple

from ...model import Build, DtNode, Image, Layout, Partition, Role
from ...model.drivers import NOR_DRIVERS
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule
from .._shared import targets as fixes
from .._shared.common import app_pm_layout, erase_block
from .._shared.external import fully_loaded, is_mcuboot
from .._shared.layouts import hexrange, hx
from .._shared.mcuboot import swap_mode
from ._common import EXT, chip, has_driver, nor_compatible

# The flash page layout the NOR driver reports, and its Kconfig default (EXT-05).
PAGE_SIZE: Dict[str, Tuple[str, int]] = {
    compatible: (driver.page_size_symbol, driver.default_page_size)
    for compatible, driver in NOR_DRIVERS.items()
}


@rule("PMD306", "ext-flash-page-layout", Severity.ERROR, rank=68, explains=("sectors-incompatible",))
def ext_flash_page_layout(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    For MCUboot, compares the page layout the external flash driver reports
    (`CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE`, default 65536;
    `CONFIG_NORDIC_QSPI_NOR_FLASH_LAYOUT_PAGE_SIZE`, default 4096) with the
    sector size of the primary slot in internal flash, and checks that the
    secondary slot's size is a whole number of those pages.

    ## Why it matters
    MCUboot swaps the two slots sector by sector and refuses when their
    sectors do not match: "Cannot upgrade: slots have non-compatible
    sectors". The update uploads fine and is never applied. A slot that is
    not a whole number of pages leaves a partial last page.

    ## Example
    `CONFIG_SPI_NOR=y` in MCUboot with the default
    `CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE=65536`, primary slot in 4 KB pages.

    ## How to fix
    Set the layout page to the internal sector size in MCUboot and the
    application: `CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE=4096` (or the
    `NORDIC_QSPI_NOR` equivalent), and keep slot sizes multiples of it.

    Mechanical when checked: one fix sets the page size in every image that shares the layout, each in the
    fragment that image reads.
    """
    if not build.partition_manager:
        return
    layout = app_pm_layout(build)
    if layout is None:
        return
    mode = swap_mode(build)
    for image in build.images:
        if not fully_loaded(image) or image.domain is not None or not is_mcuboot(image):
            continue
        page = _page_layout(image, chip(build, image))
        if page is None:
            continue
        for _index, primary, secondary in layout.slot_pairs():
            if secondary.region != EXT or primary.region != "flash_primary" or not secondary.size:
                continue
            finding = _page_finding(build, layout, image, page, primary, secondary, mode)
            if finding is not None:
                yield finding


def _page_layout(image: Image, node: Optional[DtNode]) -> Optional[Tuple[str, int]]:
    compatible = nor_compatible(node)
    if compatible is None or not has_driver(image, node):
        return None
    name, default = PAGE_SIZE[compatible]
    return name, image.config.int(name) or default


def _page_fix(build: Build, images: List[Image], name: str, sector: int) -> Fix:
    """One fix for every image that shares the page layout: the slots must agree in all of them."""
    parts = [fixes.kconfig_fix(build, image, {name: str(sector)}, "") for image in images]
    edits = tuple(edit for part in parts for edit in part.edits)
    shown = ", ".join(image.name for image in images)
    return Fix(f"match the internal sector size — add to {shown}'s configuration", edits=edits)


def _page_finding(
    build: Build,
    layout: Layout,
    image: Image,
    page: Tuple[str, int],
    primary: Partition,
    secondary: Partition,
    mode: Optional[str],
) -> Optional[Finding]:
    name, size = page
    sector = erase_block(layout, primary)
    problems = []
    if size != sector and mode != "overwrite":
        problems.append(f"{name} is {size}, but {primary.name} has {sector}-byte sectors")
    if secondary.size % size:
        problems.append(f"{secondary.name} ({hx(secondary.size)}) is not a whole number of {size}-byte pages")
    if not problems:
        return None
    shown = f"{name}={size}" + ("" if name in image.config else " (Kconfig default)")
    targets = [image] + [
        other
        for other in build.images
        if other.role is Role.APP and other.domain is None and _page_layout(other, chip(build, other)) == page
    ]
    return Finding(
        message=f"image '{image.name}': " + Text.join("; ", problems) + ". MCUboot compares the two slots' "
        'sectors and refuses the update ("Cannot upgrade: slots have non-compatible sectors")',
        location=image.config.where(name),
        image=image.name,
        evidence=[
            shown + Text(" (", image.config.where(name), ")"),
            f"{primary.name}: {hexrange(primary)} in {primary.region}, sector {sector}",
            f"{secondary.name}: {hexrange(secondary)} in {secondary.region}",
            f"MCUboot mode: {mode or 'unknown'}",
        ],
        fixes=[_page_fix(build, targets, name, sector)],
        subject=("ext-page", image.name, secondary.name),
    )
