"""What the external flash rules share."""

from __future__ import annotations

from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ...model import Build, DtNode, Era, Image, Layout, Partition, Region, Source
from ...model.drivers import NOR_DRIVERS, enables_a_nor_driver, is_nor
from ...model.findings import Fix, Text
from .._shared.common import app_pm_layout
from .._shared.external import driver_fixes, is_mcuboot, is_slot, needed
from .._shared.layouts import hexrange, is_region_placeholder

EXT = "external_flash"


CHOSEN = "nordic,pm-ext-flash"


HAS_DRIVER = "CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER"


OVERRIDE = "PM_OVERRIDE_EXTERNAL_DRIVER_CHECK"


# Driver Kconfig per NOR compatible (model/drivers.py holds the facts).
DRIVERS: Dict[str, Tuple[str, ...]] = {compatible: d.symbols for compatible, d in NOR_DRIVERS.items()}


def external_parts(layout: Optional[Layout]) -> List[Partition]:
    """Real partitions in external flash (not the leftover `external_flash` placeholder)."""
    if layout is None:
        return []
    return [
        part
        for part in layout.partitions.values()
        if part.region == EXT and not is_region_placeholder(layout, part) and part.size is not None
    ]


def external_region(layout: Optional[Layout]) -> Optional[Region]:
    return layout.regions.get(EXT) if layout is not None else None


def from_regions_file(region: Optional[Region]) -> bool:
    return region is not None and region.origin.startswith("regions")


def driver_gate(build: Build, region: Optional[Region]) -> Optional[str]:
    """The Kconfig symbol that must be set in an image for external partitions to stay.

    None on builds older than `CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER`: then
    only the driver itself can be judged.
    """
    if region is not None and region.driver_kconfig:
        return region.driver_kconfig
    if any(HAS_DRIVER in image.config for image in build.images):
        return HAS_DRIVER
    return None


def chip(build: Build, image: Image) -> Optional[DtNode]:
    """The external flash node: the image's chosen, else the app's, else any okay NOR node."""
    trees = [image.devicetree] + ([build.app.devicetree] if build.app else [])
    for tree in trees:
        node = tree.chosen_node(CHOSEN)
        if node is not None:
            return node
    for tree in trees:
        for node in tree.nodes.values():
            if node.status_okay and nor_compatible(node):
                return node
    return None


def nor_compatible(node: Optional[DtNode]) -> Optional[str]:
    if node is None:
        return None
    return next((c for c in node.compatible if c in DRIVERS), None)


def has_driver(image: Image, node: Optional[DtNode]) -> Optional[bool]:
    """Whether the image builds a driver for the chip; None when the compatible is unknown."""
    compatible = nor_compatible(node)
    if compatible is not None:
        return all(image.config.enabled(name) for name in DRIVERS[compatible])
    if node is not None and node.compatible:
        return None  # an out-of-tree driver pmdoctor has no Kconfig name for
    return enables_a_nor_driver(image.config)


def passes_gate(image: Image, gate: Optional[str], node: Optional[DtNode]) -> bool:
    if gate is not None:
        return image.config.enabled(gate)
    return has_driver(image, node) is not False


def setting_words(build: Build, image: Image, name: str) -> str:
    """`CONFIG_X is not set (build/zephyr/.config:12)` or `… is not in …/.config`."""
    if name in image.config:
        value = image.config.get(name)
        shown = "is not set" if value is False else f"={value}"
        sep = " " if value is False else ""
        return Text(f"{name}{sep}{shown} (", image.config.where(name), ")")
    return Text(f"{name} is not in ", Source(image.config.file))


def chip_words(node: Optional[DtNode]) -> str:
    if node is None:
        return "external flash"
    compatible = nor_compatible(node) or (node.compatible[0] if node.compatible else None)
    return f"external flash ({node.label}, {compatible})" if compatible else f"external flash ({node.label})"


def _names(parts: Sequence[Partition]) -> str:
    names = [part.name for part in parts]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def slot_consequence(image: Image, parts: Sequence[Partition]) -> str:
    names = _names(parts)
    slots = [part for part in parts if is_slot(part)]
    if is_mcuboot(image):
        return (
            f'MCUboot\'s flash map drops {names}, so it stops with "Failed to open flash area … -2" '
            '(older MCUboot: "Failed reading sectors; BOOT_MAX_IMG_SECTORS … too small?")'
        )
    if slots:
        return (
            f"The {image.name} image's flash map drops {names}, so MCUmgr finds no slot to upload into "
            '("Image upload inspect failed: 5", newer: "no free slot")'
        )
    return f"The {image.name} image's flash map drops {names}: flash_area_open() returns -ENOENT (-2)"


def part_evidence(build: Build, parts: Sequence[Partition]) -> List[str]:
    return [Text(f"{part.name}: {hexrange(part)} in {part.region} (", part.source, ")") for part in parts]


def region_evidence(build: Build, region: Optional[Region]) -> List[str]:
    if not from_regions_file(region):
        return []
    return [
        f"region {EXT}: device {region.device or '?'}, kept only where "
        + Text(f"{region.driver_kconfig or 'the driver'} is set (", region.source, ")")
    ]


def node_label(node: Optional[DtNode]) -> str:
    if node is None:
        return "&<your_flash_label>"
    return f"&{node.labels[0]}" if node.labels else f"&{{{node.path}}}"


# "image X has it" evidence lines a finding shows; builds have a handful of images, and a
# finding for each of thousands must not list all the others.
_ELSEWHERE_LISTED = 10


class Elsewhere:
    """The images that get right what a finding's image gets wrong, as evidence lines.

    Each question (a chosen node, a bus, a driver) is answered for every image once
    per rule run; each finding then takes the first lines that are not about itself.
    """

    def __init__(self) -> None:
        self.answers: Dict[tuple, Tuple[List[Tuple[Image, str]], set]] = {}

    def lines(
        self, image: Image, question: tuple, ask: Callable[..., List[Tuple[Image, str]]], *args: object
    ) -> List[str]:
        """Up to _ELSEWHERE_LISTED lines of ``ask(*args)`` not about ``image``; ``question`` names
        everything the answer depends on."""
        if question not in self.answers:
            found = ask(*args)
            self.answers[question] = (found, {id(other) for other, _ in found})
        found, ids = self.answers[question]
        shown = [line for other, line in found[: _ELSEWHERE_LISTED + 1] if other is not image]
        shown = shown[:_ELSEWHERE_LISTED]
        total = len(found) - (id(image) in ids)
        if total > len(shown):
            shown.append(f"… and {total - len(shown)} more images")
        return shown


def images_needing_external(build: Build) -> Iterator[Tuple[Image, List[Partition], Optional[Region]]]:
    if not build.partition_manager:
        return
    layout = app_pm_layout(build)
    parts = external_parts(layout)
    if not parts:
        return
    for image in build.images:
        wanted = needed(image, parts)
        if wanted:
            yield image, wanted, external_region(layout)


def devicetree_needs(build: Build) -> Iterator[Tuple[Image, List[Partition], DtNode]]:
    """Devicetree era: per image, the partitions of its own devicetree under an external NOR node.

    There is no `nordic,pm-ext-flash` and no driver check there: the flash map
    of an image lists a partition only if the NOR node holding it is okay
    (bus included) in that image's devicetree, and needs the chip's driver.
    """
    if build.era is not Era.DEVICETREE:
        return
    for image in build.images:
        layout = image.devicetree.layout
        if layout is None:
            continue
        by_chip: Dict[str, List[Partition]] = {}
        for part in layout.partitions.values():
            region = layout.region_of(part)
            node = image.devicetree.nodes.get(region.device or "") if region is not None else None
            if node is not None and is_nor(node) and part.has_extent:
                by_chip.setdefault(node.path, []).append(part)
        for path, parts in by_chip.items():
            wanted = needed(image, parts)
            if wanted:
                yield image, wanted, image.devicetree.nodes[path]


def driver_fixes_for(build: Build, image: Image, compatible: Optional[str]) -> List[Fix]:
    """The driver lines for the chip; one alternative per driver when the chip is unknown."""
    return driver_fixes(build, image, NOR_DRIVERS.get(compatible or ""))
