"""The flash MCUboot write-protects at boot (FPROTECT): its range, block size and evidence.

The protection rules judge the range itself; the storage, TF-M and
multi-core rules need it to tell what else falls inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

from ...model import Build, Era, Kconfig, Layout, LayoutKind, Partition
from ...model import soc as socs
from ...model.findings import Text
from .._shared.common import mcuboot_image
from .._shared.layouts import (
    checked_layouts,
    find_partition,
    image_devicetree_layout,
    static_twin,
)


@dataclass(frozen=True)
class ProtectedRange:
    """What MCUboot hands to fprotect_area(): from MCUboot (or s0 with NSIB) up to its primary slot."""

    first: Partition  # `mcuboot`, or `s0` when NSIB keeps two MCUboot copies
    primary: Partition
    # Devicetree era: MCUboot protects `boot_partition` itself (first is primary).
    own_extent: bool = False

    @property
    def start(self) -> int:
        return self.first.address or 0

    @property
    def end(self) -> int:
        if self.own_extent:
            return self.first.end or 0
        return self.primary.address or 0

    @property
    def size(self) -> int:
        return self.end - self.start

    def describe(self) -> str:
        if self.own_extent:
            return f"0x{self.start:x}-0x{self.end:x} (`{self.first.name}`, 0x{self.size:x} bytes)"
        return (
            f"0x{self.start:x}-0x{self.end:x} (`{self.first.name}` up to `{self.primary.name}`, "
            f"0x{self.size:x} bytes)"
        )


def protected_range(layout: Layout) -> Optional[ProtectedRange]:
    """MCUboot's PROTECT_ADDR/PROTECT_SIZE for this layout (sdk-mcuboot nrf_protect.h).

    Devicetree layouts have no partition between MCUboot and its slot to
    count: the range is `boot_partition` itself.
    """
    if layout.kind is LayoutKind.DEVICETREE:
        boot = find_partition(layout, "mcuboot")
        if boot is None or not boot.has_extent or not boot.size:
            return None
        return ProtectedRange(boot, boot, own_extent=True)
    primary, boot = layout.get("mcuboot_primary"), layout.get("mcuboot")
    if primary is None or boot is None or primary.address is None or boot.address is None:
        return None
    s0 = layout.get("s0")
    # With NSIB, MCUboot lives in s0 or s1 and protects both.
    nsib = layout.get("s1") is not None and s0 is not None and s0.address is not None
    first = s0 if nsib and s0 is not None else boot
    if primary.address <= first.address:
        return None
    return ProtectedRange(first, primary)


def said(config: Kconfig, name: str, where: str) -> str:
    """How evidence quotes a setting: `CONFIG_X=y in mcuboot (file:line)`."""
    value = config.get(name)
    if isinstance(value, bool):
        shown = "y" if value else "n"
    else:
        shown = f"{value}" if not isinstance(value, int) or value < 16 else f"0x{value:x}"
    return Text(f"{name}={shown} in {where} (", config.where(name), ")")


def protection_layouts(build: Build) -> Iterator[Tuple[Layout, ProtectedRange]]:
    """App-core layouts with an MCUboot range: Partition Manager's, or MCUboot's own devicetree."""
    if build.era is Era.DEVICETREE:
        found = image_devicetree_layout(build, "mcuboot")
        protected = protected_range(found[1]) if found is not None else None
        if protected is not None:
            yield found[1], protected
        return
    for checked in checked_layouts(build):
        layout = checked.layout
        if layout.domain is not None:
            continue
        protected = protected_range(layout)
        if protected is None:
            continue
        if static_twin(build, layout, (protected.first.name, protected.primary.name)):
            continue
        yield layout, protected


def fprotect_state(build: Build) -> Tuple[Optional[bool], List[str]]:
    """Whether MCUboot protects itself (None: no MCUboot .config to tell), and the evidence."""
    mcuboot = mcuboot_image(build)
    if mcuboot is None:
        return None, []
    config = mcuboot.config
    if "CONFIG_FPROTECT" not in config:
        return False, []
    return config.enabled("CONFIG_FPROTECT"), [said(config, "CONFIG_FPROTECT", "mcuboot")]


def fprotect_block(build: Build) -> Tuple[Optional[int], str]:
    """CONFIG_FPROTECT_BLOCK_SIZE from MCUboot's .config, else the SoC's granularity."""
    mcuboot = mcuboot_image(build)
    if mcuboot is not None:
        block = mcuboot.config.int("CONFIG_FPROTECT_BLOCK_SIZE")
        if block:
            return block, said(mcuboot.config, "CONFIG_FPROTECT_BLOCK_SIZE", "mcuboot")
    facts = socs.facts(build.soc)
    if facts is not None and facts.fprotect_block:
        return facts.fprotect_block, f"the {facts.name} protection granularity"
    return None, ""


def round_up(value: int, block: int) -> int:
    return -(-value // block) * block


def protect_blocks(build: Build, layout: Layout) -> Optional[Tuple[int, int, str]]:
    """The block-rounded range MCUboot locks (start, end, why) when protection is on."""
    enabled, _ = fprotect_state(build)
    protected = protected_range(layout)
    block, _ = fprotect_block(build)
    if not enabled or protected is None or not block:
        return None
    start = protected.start - protected.start % block
    return start, start + round_up(protected.end - start, block), "MCUboot's FPROTECT range"
