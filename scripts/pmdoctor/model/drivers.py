"""Facts about flash drivers: which devicetree nodes are NOR chips, and their erase block.

One place for what several stages need: the devicetree loader builds regions
from it, the migration maps partitions with it, the external-flash and
MCUboot rules judge reachability with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from . import DtNode

# Compatibles of the NOR flash drivers Zephyr and NCS use for external flash.
NOR_COMPATIBLES = ("nordic,qspi-nor", "jedec,spi-nor", "jedec,mspi-nor")
# Every supported NOR chip erases in 4 KB sectors.
NOR_ERASE_BLOCK = 4096


def is_nor(node: DtNode) -> bool:
    """Whether a devicetree node is an external NOR flash chip."""
    return any(c in NOR_COMPATIBLES for c in node.compatible)
