"""Facts about external flash drivers: which nodes are NOR chips, and what each driver needs.

One place for what several stages need: the devicetree loader builds regions
from it, the migration maps partitions with it, and the external-flash,
MCUboot, storage and log rules judge and fix driver Kconfig with it, so they
can never disagree about a chip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from . import DtNode, Kconfig

# Compatibles of the NOR flash drivers Zephyr and NCS use for external flash.
NOR_COMPATIBLES = ("nordic,qspi-nor", "jedec,spi-nor", "jedec,mspi-nor")
# Every supported NOR chip erases in 4 KB sectors.
NOR_ERASE_BLOCK = 4096


def is_nor(node: DtNode) -> bool:
    """Whether a devicetree node is an external NOR flash chip."""
    return any(c in NOR_COMPATIBLES for c in node.compatible)


@dataclass(frozen=True)
class NorDriver:
    """What a NOR chip's Zephyr driver needs in an image's Kconfig, and the flash pages it reports."""

    compatible: str
    bus: str
    symbols: Tuple[str, ...]  # all must be set for the image to have the driver
    lines: Tuple[str, ...]  # what a working configuration adds (page size as MCUboot needs it)
    page_size_symbol: str  # the flash page layout the driver reports to MCUboot and the flash map
    default_page_size: int


NOR_DRIVERS: Dict[str, NorDriver] = {
    "nordic,qspi-nor": NorDriver(
        "nordic,qspi-nor",
        "QSPI",
        ("CONFIG_NORDIC_QSPI_NOR",),
        (
            "CONFIG_NORDIC_QSPI_NOR=y",
            "CONFIG_NORDIC_QSPI_NOR_FLASH_LAYOUT_PAGE_SIZE=4096",
            "CONFIG_NORDIC_QSPI_NOR_STACK_WRITE_BUFFER_SIZE=16",
        ),
        "CONFIG_NORDIC_QSPI_NOR_FLASH_LAYOUT_PAGE_SIZE",
        4096,
    ),
    "jedec,spi-nor": NorDriver(
        "jedec,spi-nor",
        "SPI",
        ("CONFIG_SPI", "CONFIG_SPI_NOR"),
        ("CONFIG_SPI=y", "CONFIG_SPI_NOR=y", "CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE=4096"),
        "CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE",
        65536,
    ),
}

# The NOR drivers need threads, which MCUboot turns off by default.
MCUBOOT_NEEDS = "CONFIG_MULTITHREADING"


def nor_driver(node: Optional[DtNode]) -> Optional[NorDriver]:
    """The known driver for a chip's compatible (None for a chip pmdoctor knows no Kconfig for)."""
    if node is None:
        return None
    return next((NOR_DRIVERS[c] for c in node.compatible if c in NOR_DRIVERS), None)


def enables_a_nor_driver(config: Kconfig) -> bool:
    """Whether a .config turns on any NOR driver pmdoctor knows (its main symbol)."""
    return any(config.enabled(driver.symbols[-1]) for driver in NOR_DRIVERS.values())


def driver_lines(driver: NorDriver, config: Kconfig, mcuboot: bool) -> List[str]:
    """The lines to add to one image: the driver's, and multithreading for MCUboot unless it is on."""
    lines = list(driver.lines)
    if mcuboot and not config.enabled(MCUBOOT_NEEDS):
        lines.append(f"{MCUBOOT_NEEDS}=y")
    return lines
