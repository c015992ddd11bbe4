"""External flash: can each image reach the partitions Partition Manager put off-chip?

Most rules here rest on one mechanism (sdk-nrf
``flash_map_partition_manager.c``): an image's flash map keeps a Partition
Manager partition only if, in *that image's own* devicetree, the partition's
device (for external flash the ``nordic,pm-ext-flash`` chosen node) exists
and is okay, and in *that image's own* ``.config`` the region's driver
Kconfig (``CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER`` since NCS 2.2; it follows
``CONFIG_NORDIC_QSPI_NOR``, ``CONFIG_SPI_NOR`` or the override) is set.
Otherwise ``flash_area_open()`` returns -ENOENT and the slot is simply gone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ..model import Build, ChosenLine, DtNode, Era, Image, Layout, LayoutKind, Partition, Region, Source
from ..model.drivers import is_nor
from ..model.findings import Finding, Fix, Severity
from . import rule
from ._shared import targets as fixes
from ._shared.common import app_pm_layout, erase_block, next_power_of_two
from ._shared.external import fully_loaded, is_mcuboot, is_slot, needed
from ._shared.layouts import edit_path, hexrange, hx, is_region_placeholder, static_twin
from ._shared.mcuboot import swap_mode

EXT = "external_flash"


CHOSEN = "nordic,pm-ext-flash"


HAS_DRIVER = "CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER"


OVERRIDE = "PM_OVERRIDE_EXTERNAL_DRIVER_CHECK"


SECONDARY_OPTION = "PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY"


# Driver Kconfig per NOR compatible, and the lines a working setup adds (EXT-01).
DRIVERS: Dict[str, Tuple[str, ...]] = {
    "nordic,qspi-nor": ("CONFIG_NORDIC_QSPI_NOR",),
    "jedec,spi-nor": ("CONFIG_SPI", "CONFIG_SPI_NOR"),
}


DRIVER_LINES: Dict[str, Tuple[str, ...]] = {
    "nordic,qspi-nor": (
        "CONFIG_NORDIC_QSPI_NOR=y",
        "CONFIG_NORDIC_QSPI_NOR_FLASH_LAYOUT_PAGE_SIZE=4096",
        "CONFIG_NORDIC_QSPI_NOR_STACK_WRITE_BUFFER_SIZE=16",
    ),
    "jedec,spi-nor": ("CONFIG_SPI=y", "CONFIG_SPI_NOR=y", "CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE=4096"),
}


# The flash page layout the NOR driver reports, and its Kconfig default (EXT-05).
PAGE_SIZE: Dict[str, Tuple[str, int]] = {
    "nordic,qspi-nor": ("CONFIG_NORDIC_QSPI_NOR_FLASH_LAYOUT_PAGE_SIZE", 4096),
    "jedec,spi-nor": ("CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE", 65536),
}


_EXECUTABLE = ("mcuboot_primary", "mcuboot_primary_app", "app")


def _external(layout: Optional[Layout]) -> List[Partition]:
    """Real partitions in external flash (not the leftover `external_flash` placeholder)."""
    if layout is None:
        return []
    return [
        part
        for part in layout.partitions.values()
        if part.region == EXT and not is_region_placeholder(layout, part) and part.size is not None
    ]


def at(build: Build, source: Optional[Source]) -> str:
    """A source as messages show it: relative to the folder holding the build directory."""
    if source is None or source.file is None:
        return "<unknown>"
    try:
        shown = str(Path(source.file).relative_to(Path(build.path).parent))
    except ValueError:
        shown = str(source.file)
    return f"{shown}:{source.line}" if source.line else shown


def _region(layout: Optional[Layout]) -> Optional[Region]:
    return layout.regions.get(EXT) if layout is not None else None


def _from_regions_file(region: Optional[Region]) -> bool:
    return region is not None and region.origin.startswith("regions")


def _via_chosen(build: Build, region: Optional[Region]) -> bool:
    """Whether Partition Manager reaches the chip through `DT_CHOSEN(nordic_pm_ext_flash)`.

    Older builds (NCS < 2.2) named the device by label or path instead, and
    there MCUboot needed no chosen node.
    """
    if _from_regions_file(region):
        return (region.device or "").startswith("DT_CHOSEN(")
    return build.sysbuild or any(
        "CONFIG_PM_EXTERNAL_FLASH_PATH" in image.config or HAS_DRIVER in image.config
        for image in build.images
    )


def _gate(build: Build, region: Optional[Region]) -> Optional[str]:
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
            if node.status_okay and _compatible(node):
                return node
    return None


def _compatible(node: Optional[DtNode]) -> Optional[str]:
    if node is None:
        return None
    return next((c for c in node.compatible if c in DRIVERS), None)


def has_driver(image: Image, node: Optional[DtNode]) -> Optional[bool]:
    """Whether the image builds a driver for the chip; None when the compatible is unknown."""
    compatible = _compatible(node)
    if compatible is not None:
        return all(image.config.enabled(name) for name in DRIVERS[compatible])
    if node is not None and node.compatible:
        return None  # an out-of-tree driver pmdoctor has no Kconfig name for
    return image.config.enabled("CONFIG_NORDIC_QSPI_NOR") or image.config.enabled("CONFIG_SPI_NOR")


def _passes_gate(image: Image, gate: Optional[str], node: Optional[DtNode]) -> bool:
    if gate is not None:
        return image.config.enabled(gate)
    return has_driver(image, node) is not False


def _setting(build: Build, image: Image, name: str) -> str:
    """`CONFIG_X is not set (build/zephyr/.config:12)` or `… is not in …/.config`."""
    if name in image.config:
        value = image.config.get(name)
        shown = "is not set" if value is False else f"={value}"
        sep = " " if value is False else ""
        return f"{name}{sep}{shown} ({at(build, image.config.where(name))})"
    return f"{name} is not in {at(build, Source(image.config.file))}"


def _chip_words(node: Optional[DtNode]) -> str:
    if node is None:
        return "external flash"
    compatible = _compatible(node) or (node.compatible[0] if node.compatible else None)
    return f"external flash ({node.label}, {compatible})" if compatible else f"external flash ({node.label})"


def _names(parts: Sequence[Partition]) -> str:
    names = [part.name for part in parts]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _consequence(image: Image, parts: Sequence[Partition]) -> str:
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


def _part_evidence(build: Build, parts: Sequence[Partition]) -> List[str]:
    return [f"{part.name}: {hexrange(part)} in {part.region} ({at(build, part.source)})" for part in parts]


def _region_evidence(build: Build, region: Optional[Region]) -> List[str]:
    if not _from_regions_file(region):
        return []
    return [
        f"region {EXT}: device {region.device or '?'}, kept only where "
        f"{region.driver_kconfig or 'the driver'} is set ({at(build, region.source)})"
    ]


def _label(node: Optional[DtNode]) -> str:
    if node is None:
        return "&<your_flash_label>"
    return f"&{node.labels[0]}" if node.labels else f"&{{{node.path}}}"


# "image X has it" evidence lines a finding shows; builds have a handful of images, and a
# finding for each of thousands must not list all the others.
_ELSEWHERE_LISTED = 10


class _Elsewhere:
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


def _needs(build: Build) -> Iterator[Tuple[Image, List[Partition], Optional[Region]]]:
    if not build.partition_manager:
        return
    layout = app_pm_layout(build)
    parts = _external(layout)
    if not parts:
        return
    for image in build.images:
        wanted = needed(image, parts)
        if wanted:
            yield image, wanted, _region(layout)


def _dt_needs(build: Build) -> Iterator[Tuple[Image, List[Partition], DtNode]]:
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


def _dt_unreachable(build: Build) -> Iterator[Finding]:
    elsewhere = _Elsewhere()
    for image, parts, node in _dt_needs(build):
        if node.status_okay:
            continue
        disabled = _outermost_disabled(image, node)
        what = "is disabled" if disabled is node else f"sits on the bus {disabled.label}, which is disabled"
        snippet = f'{_label(node)} {{\n\tstatus = "okay";\n}};'
        if disabled is not node:
            snippet += f'\n\n{_label(disabled)} {{\n\tstatus = "okay";\n}};'
        yield Finding(
            message=(
                f"{parts[0].name} lives on {_chip_words(node)}, but in image '{image.name}''s devicetree "
                f"{node.label} {what}. " + _consequence(image, parts) + "."
            ),
            location=disabled.origin or disabled.source,
            image=image.name,
            evidence=_part_evidence(build, parts)
            + elsewhere.lines(image, ("enabled", node.path, node.label), _enabled_elsewhere, build, node),
            fixes=[fixes.devicetree_snippet(build, image, snippet, f"enable {node.label} for {image.name}")],
            subject=("ext-devicetree", image.name),
        )


def _enabled_elsewhere(build: Build, node: DtNode) -> List[Tuple[Image, str]]:
    lines = []
    for other in build.images:
        theirs = other.devicetree.nodes.get(node.path)
        if theirs is not None and theirs.status_okay:
            where = at(build, Source(other.devicetree.file))
            lines.append((other, f"image '{other.name}' has {node.label} enabled ({where})"))
    return lines


@rule("PMD301", "ext-flash-unreachable-devicetree", Severity.ERROR, rank=94, explains=("slot-unreachable",))
def ext_flash_unreachable_devicetree(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    For every image that must open a partition in external flash (MCUboot:
    the secondary slots; the application: its storage partitions, and the
    secondary slots when it receives updates), checks that image's own
    `zephyr.dts`: the `nordic,pm-ext-flash` chosen node must exist and point
    at a node that is enabled, on a bus (`qspi`, `spi…`) that is enabled too.

    ## Why it matters
    Partition Manager's flash map keeps an external partition only if
    `DT_CHOSEN(nordic_pm_ext_flash)` is an okay node *in the devicetree of the
    image being built*. MCUboot has its own devicetree: an overlay that gives
    the chosen node to the application only leaves MCUboot without the slot.
    MCUboot then stops with `Failed to open flash area ID 1 (image 0 slot 1):
    -2`, and the application's MCUmgr answers `Image upload inspect failed: 5`.

    ## Example
    `build/mcuboot/zephyr/zephyr.dts` has no `nordic,pm-ext-flash` in
    `chosen`, while `partitions.yml` puts `mcuboot_secondary` in
    `external_flash`.

    ## How to fix
    Give the image the same chosen node and enable the chip (and its bus):

    ```dts
    / { chosen { nordic,pm-ext-flash = &mx25r64; }; };
    &mx25r64 { status = "okay"; };
    ```

    Child-image builds: `child_image/mcuboot.overlay`; sysbuild:
    `sysbuild/mcuboot.overlay` or `sysbuild/mcuboot/boards/<board>.overlay`
    (which replaces MCUboot's own `app.overlay`, so keep what you need from it).

    Devicetree-era builds have no `nordic,pm-ext-flash`: there the partition
    (`slot1_partition` under a `jedec,spi-nor` or `nordic,qspi-nor` node) is
    reachable only if the NOR node and its bus are `okay` in the image's own
    devicetree, and the fix is the `status = "okay";` lines alone.
    """
    yield from _dt_unreachable(build)
    elsewhere = _Elsewhere()
    via_chosen: Optional[bool] = None
    for image, parts, region in _needs(build):
        if via_chosen is None:  # every image needs the same layout's region: ask once
            via_chosen = _via_chosen(build, region)
        if not via_chosen:
            continue
        problem = _devicetree_problem(image)
        if problem is None:
            continue
        what, location, bus = problem
        node = chip(build, image)
        snippet = f"/ {{\n\tchosen {{\n\t\t{CHOSEN} = {_label(node)};\n\t}};\n}};\n\n{_label(node)} {{\n"
        snippet += '\tstatus = "okay";\n};'
        if bus is not None:
            snippet += f'\n\n{_label(bus)} {{\n\tstatus = "okay";\n}};'
        yield Finding(
            message=f"{parts[0].name} lives on external flash but in image '{image.name}' {what}. "
            + _consequence(image, parts)
            + ".",
            location=location,
            image=image.name,
            evidence=_part_evidence(build, parts)
            + _region_evidence(build, region)
            + elsewhere.lines(image, ("chosen",), _chosen_elsewhere, build),
            fixes=[
                fixes.devicetree_snippet(
                    build, image, snippet, f"give {image.name} the external flash chosen node, enabled"
                )
            ],
            subject=("ext-devicetree", image.name),
        )


def _devicetree_problem(image: Image) -> Optional[Tuple[str, Source, Optional[DtNode]]]:
    """(what is wrong, where, the disabled bus if it is the bus) or None."""
    tree = image.devicetree
    if CHOSEN not in tree.chosen:
        return f"its devicetree has no `{CHOSEN}` chosen node", Source(tree.file), None
    node = tree.chosen_node(CHOSEN)
    where = tree.chosen_source.get(CHOSEN, Source(tree.file))
    if node is None:
        return f"`{CHOSEN}` names {tree.chosen[CHOSEN]}, which is not in its devicetree", where, None
    if node.status_okay:
        return None
    disabled = _outermost_disabled(image, node)
    if disabled is node:
        return f"`{CHOSEN}` names {node.label}, which is disabled", node.origin or node.source, None
    return (
        f"`{CHOSEN}` names {node.label}, whose bus {disabled.label} is disabled",
        disabled.origin or disabled.source,
        disabled,
    )


def _outermost_disabled(image: Image, node: DtNode) -> DtNode:
    """The node's topmost disabled ancestor (status is inherited), or the node itself."""
    path = node.path
    parts = path.strip("/").split("/")
    for depth in range(1, len(parts) + 1):
        ancestor = image.devicetree.nodes.get("/" + "/".join(parts[:depth]))
        if ancestor is not None and not ancestor.status_okay:
            return ancestor
    return node


def _chosen_elsewhere(build: Build) -> List[Tuple[Image, str]]:
    """Which images do have it: the contrast that shows the mistake."""
    lines = []
    for other in build.images:
        if other.domain is not None:
            continue
        node = other.devicetree.chosen_node(CHOSEN)
        if node is not None and node.status_okay:
            lines.append(
                (
                    other,
                    f"image '{other.name}' has it: {CHOSEN} = {_label(node)} "
                    f"({at(build, Source(other.devicetree.file))})",
                )
            )
    return lines


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
    """
    elsewhere = _Elsewhere()
    for image, parts, node in _dt_needs(build):
        if has_driver(image, node) is False:
            yield _driver_finding(build, elsewhere, image, parts, None, None, node)
    gates: List[Optional[str]] = []
    for image, parts, region in _needs(build):
        if not gates:  # every image needs the same layout's region: ask once
            gates.append(_gate(build, region))
        gate = gates[0]
        node = chip(build, image)
        if _passes_gate(image, gate, node):
            continue
        yield _driver_finding(build, elsewhere, image, parts, region, gate, node)


def _driver_finding(
    build: Build,
    elsewhere: _Elsewhere,
    image: Image,
    parts: List[Partition],
    region: Optional[Region],
    gate: Optional[str],
    node: Optional[DtNode],
) -> Finding:
    compatible = _compatible(node)
    driver_ok = has_driver(image, node)
    head = f"{parts[0].name} lives on {_chip_words(node)} but image '{image.name}' "
    if driver_ok is False:
        missing = [name for name in DRIVERS.get(compatible, ()) if not image.config.enabled(name)]
        missing = missing or ["CONFIG_NORDIC_QSPI_NOR", "CONFIG_SPI_NOR"]
        if compatible or len(missing) == 1:
            what = "has no driver for it: " + " and ".join(_setting(build, image, n) for n in missing)
        else:  # chip unknown: name both drivers, either would do
            what = (
                f"has no driver for it: neither {' nor '.join(missing)} is set in "
                f"{at(build, Source(image.config.file))}"
            )
        location = image.config.where(missing[0])
        driver_fixes = _driver_fixes(build, image, compatible)
    else:
        what = (
            f"does not pass Partition Manager's driver check: {_setting(build, image, gate or HAS_DRIVER)}, "
            "although the driver itself is enabled"
        )
        location = image.config.where(gate or HAS_DRIVER)
        driver_fixes = [
            fixes.build_option(
                build, OVERRIDE, "y", "let Partition Manager accept this driver (keep the driver enabled too)"
            )
        ]
    evidence = (
        _part_evidence(build, parts)
        + _region_evidence(build, region)
        + elsewhere.lines(image, _driver_question(gate, node), _driver_elsewhere, build, gate, node)
    )
    return Finding(
        message=head + what + ". " + _consequence(image, parts) + ".",
        location=location,
        image=image.name,
        evidence=evidence,
        fixes=driver_fixes,
        subject=("ext-driver", image.name),
    )


def _driver_fixes(build: Build, image: Image, compatible: Optional[str]) -> List[Fix]:
    """The driver lines for the chip; one alternative per driver when the chip is unknown."""
    if compatible is None:
        return [
            fixes.image_kconfig(
                build, image, _driver_lines(image, known), f"if the chip is {known} (on the {bus} bus)"
            )
            for known, bus in (("nordic,qspi-nor", "QSPI"), ("jedec,spi-nor", "SPI"))
        ]
    lines = _driver_lines(image, compatible)
    return [fixes.image_kconfig(build, image, lines, f"enable the {compatible} driver")]


def _driver_lines(image: Image, compatible: str) -> List[str]:
    lines = list(DRIVER_LINES[compatible])
    if is_mcuboot(image) and image.config.get("CONFIG_MULTITHREADING") is False:
        lines.append("CONFIG_MULTITHREADING=y")  # the NOR drivers need it in MCUboot
    return lines


def _driver_question(gate: Optional[str], node: Optional[DtNode]) -> tuple:
    """What `_driver_elsewhere` depends on: the gate, and of the chip only its compatible."""
    return ("driver", gate, None if node is None else (_compatible(node), bool(node.compatible)))


def _driver_elsewhere(build: Build, gate: Optional[str], node: Optional[DtNode]) -> List[Tuple[Image, str]]:
    lines = []
    for other in build.images:
        if other.domain is not None or not other.config:
            continue
        if _passes_gate(other, gate, node) and has_driver(other, node):
            names = DRIVERS.get(_compatible(node) or "", ())
            shown = (
                ", ".join(f"{name}=y ({at(build, other.config.where(name))})" for name in names)
                or "the driver"
            )
            lines.append((other, f"image '{other.name}' has it: {shown}"))
    return lines


@rule("PMD303", "redundant-chosen", Severity.WARNING, rank=40)
def redundant_chosen(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Looks at the `chosen` node of each image: another property that names the
    same external flash as `nordic,pm-ext-flash` (for example
    `zephyr,external-flash`), or an image whose `nordic,pm-ext-flash` names a
    different chip than the application's.

    ## Why it matters
    Partition Manager reads only `nordic,pm-ext-flash`. A second property
    pointing at the same chip does nothing for the partitions, but it
    suggests it does, and when someone later changes one and not the other,
    the images disagree about which chip holds the secondary slot. When
    MCUboot's chosen chip differs from the application's, the application
    writes the update to one chip and MCUboot looks for it on another.

    ## Example
    ```dts
    chosen {
        zephyr,external-flash = &mx25r64;   /* not read by Partition Manager */
        nordic,pm-ext-flash = &mx25r64;
    };
    ```

    ## How to fix
    Drop the extra property from the overlay that sets it and keep
    `nordic,pm-ext-flash`; make every image's `nordic,pm-ext-flash` name the
    same chip.
    """
    if not build.partition_manager:
        return
    for image in build.images:
        if image.domain is not None or not image.devicetree:
            continue
        yield from _duplicates(build, image)
    yield from _disagreements(build)


def _duplicates(build: Build, image: Image) -> Iterator[Finding]:
    tree = image.devicetree
    node = tree.chosen_node(CHOSEN)
    if node is None:
        return
    for prop, target in sorted(tree.chosen.items()):
        if prop == CHOSEN or target != node.path or not _names_external_flash(prop):
            continue
        written = _user_line(build, image, prop)
        location = written.source if written else tree.chosen_origin.get(prop) or tree.chosen_source.get(prop)
        fix_file = location.file if written or prop in tree.chosen_origin else None
        line = f" (line {location.line})" if location and location.line and fix_file else ""
        target_text = written.target if written else _label(node)
        yield Finding(
            message=f"`{prop}` and `{CHOSEN}` both name {_label(node)} in image '{image.name}'; "
            f"Partition Manager reads only `{CHOSEN}`, so `{prop}` is redundant",
            location=location or Source(tree.file),
            image=image.name,
            evidence=[
                f"{prop} = {_label(node)} ({at(build, tree.chosen_source.get(prop))})",
                f"{CHOSEN} = {_label(node)} ({at(build, tree.chosen_source.get(CHOSEN))})",
            ],
            fixes=[
                Fix(
                    f"drop `{prop}` from the chosen node{line}; keep `{CHOSEN}`"
                    + ("" if fix_file else " (in the board file or overlay that sets it)"),
                    fix_file,
                    f"- {prop} = {target_text};",
                )
            ],
            subject=("redundant-chosen", image.name, prop),
        )


def _names_external_flash(prop: str) -> bool:
    """Chosen properties meant as "the external flash" (not zephyr,flash: that is XIP code)."""
    return "external" in prop or "ext-flash" in prop


def _user_line(build: Build, image: Image, prop: str) -> Optional[ChosenLine]:
    """The user's overlay line that sets `prop` for this image, if pmdoctor found one."""
    for line in build.user_chosen:
        if line.prop == prop and _overlay_image(build, line) == image.name:
            return line
    return None


def _overlay_image(build: Build, line: ChosenLine) -> Optional[str]:
    """Which image an overlay applies to: child_image/<name>… and sysbuild/<name>… are that image's."""
    source = build.source_dir
    path = line.source.file
    if source is None or path is None:
        return None
    try:
        parts = path.relative_to(source).parts
    except ValueError:
        return None
    if parts and parts[0] in ("child_image", "sysbuild") and len(parts) > 1:
        name = parts[1].split(".", 1)[0]
        return name
    app = build.app
    return app.name if app else None


def _disagreements(build: Build) -> Iterator[Finding]:
    app = build.app
    reference = app.devicetree.chosen_node(CHOSEN) if app else None
    if reference is None:
        return
    for image in build.images:
        if image is app or image.domain is not None:
            continue
        node = image.devicetree.chosen_node(CHOSEN)
        if node is None or _same_chip(node, reference):
            continue
        yield Finding(
            message=f"`{CHOSEN}` names {node.label} ({node.name}) in image '{image.name}' but "
            f"{reference.label} ({reference.name}) in '{app.name}': Partition Manager sized "
            f"{EXT} from the application's chip, and the two images do not look at the same flash",
            location=image.devicetree.chosen_origin.get(CHOSEN)
            or image.devicetree.chosen_source.get(CHOSEN, Source(image.devicetree.file)),
            image=image.name,
            evidence=[
                f"{image.name}: {node.path} {node.compatible} size {node.props.get('size')} "
                f"({at(build, node.source)})",
                f"{app.name}: {reference.path} {reference.compatible} size "
                f"{reference.props.get('size')} ({at(build, reference.source)})",
            ],
            fixes=[
                fixes.devicetree_snippet(
                    build,
                    image,
                    f"/ {{\n\tchosen {{\n\t\t{CHOSEN} = {_label(reference)};\n\t}};\n}};",
                    f"point {image.name}'s {CHOSEN} at the application's chip",
                )
            ],
            subject=("chosen-disagree", image.name),
        )


def _same_chip(one: DtNode, other: DtNode) -> bool:
    """Same chip even when TF-M builds see the bus at a different (secure/non-secure) address."""
    return (
        one.name == other.name
        and one.compatible == other.compatible
        and one.props.get("size") == other.props.get("size")
    )


@rule("PMD304", "option-at-wrong-level", Severity.ERROR, rank=90)
def option_at_wrong_level(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    In sysbuild builds, looks for `CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY`
    and `CONFIG_PM_OVERRIDE_EXTERNAL_DRIVER_CHECK` set in an image's
    configuration files (`prj.conf`, `sysbuild/mcuboot.conf` …) while the
    sysbuild option `SB_CONFIG_…` is not set; and for a `mcuboot_secondary`
    that a static file keeps in external flash although
    `SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY` is not set.

    ## Why it matters
    Sysbuild forces these options into every image from its own
    configuration: the value in the image's file is overwritten. The
    secondary slot then goes back to internal flash (the update no longer
    fits, or the application and MCUboot disagree), or, with a static file
    holding it off-chip, every image is built as if the slot were internal
    and only the static file keeps it where it is.

    ## Example
    `prj.conf` has `CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY=y`;
    `build/zephyr/.config` (sysbuild) has
    `# SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY is not set`;
    `partitions.yml` puts `mcuboot_secondary` in `flash_primary`.

    ## How to fix
    Set the options in `sysbuild.conf`:

    ```
    SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY=y
    SB_CONFIG_PM_OVERRIDE_EXTERNAL_DRIVER_CHECK=y   # only for non-QSPI drivers
    ```

    and remove them from the image configuration files.
    """
    if not build.sysbuild or not build.partition_manager:
        return
    for option in (SECONDARY_OPTION, OVERRIDE):
        yield from _overwritten(build, option)
    yield from _static_only_secondary(build)


def _overwritten(build: Build, option: str) -> Iterator[Finding]:
    sb_name = f"SB_CONFIG_{option}"
    if build.sysbuild_config.enabled(sb_name):
        return
    for key, config in sorted(build.user_configs.items()):
        if key == "sysbuild.conf" or not config.enabled(f"CONFIG_{option}"):
            continue
        layout = app_pm_layout(build)
        secondary = layout.get("mcuboot_secondary") if layout else None
        effect = ""
        if option == SECONDARY_OPTION and secondary is not None and secondary.region != EXT:
            effect = (
                f"; partitions.yml keeps mcuboot_secondary in {secondary.region} "
                f"({at(build, secondary.source)})"
            )
        yield Finding(
            message=f"{key} sets CONFIG_{option}=y, but in a sysbuild build {sb_name} decides and it "
            f"is not set, so the image value was overwritten{effect}",
            location=config.where(f"CONFIG_{option}"),
            evidence=[_sb_state(build, sb_name), *_image_values(build, f"CONFIG_{option}")],
            fixes=[fixes.build_option(build, option, "y", f"set {option} where sysbuild reads it")],
            subject=("wrong-level", option, key),
        )


def _static_only_secondary(build: Build) -> Iterator[Finding]:
    sb_name = f"SB_CONFIG_{SECONDARY_OPTION}"
    if sb_name not in build.sysbuild_config or build.sysbuild_config.enabled(sb_name):
        return  # older sysbuild without the option, or set as it should be
    layout = app_pm_layout(build)
    secondary = layout.get("mcuboot_secondary") if layout else None
    if secondary is None or secondary.region != EXT:
        return
    statics = [s for s in build.static_files if s.domain is None]
    placed_by = f"the static file {statics[0].path}" if statics else "a static layout"
    yield Finding(
        message=f"mcuboot_secondary is in external flash only because {placed_by} puts it there: "
        f"{sb_name} is not set, so every image was built with CONFIG_{SECONDARY_OPTION} off "
        "and treats the secondary slot as internal",
        location=secondary.source,
        severity=Severity.WARNING,
        evidence=[_sb_state(build, sb_name), *_image_values(build, f"CONFIG_{SECONDARY_OPTION}")],
        fixes=[fixes.build_option(build, SECONDARY_OPTION, "y", "say what the static layout does")],
        subject=("wrong-level", "static-secondary"),
    )


def _sb_state(build: Build, name: str) -> str:
    config = build.sysbuild_config
    state = "is not set" if name in config else "is absent"
    return f"{name} {state} ({at(build, config.where(name))})"


def _image_values(build: Build, name: str) -> List[str]:
    return [
        f"image '{image.name}': {_setting(build, image, name)}"
        for image in build.images
        if image.domain is None and name in image.config
    ]


@rule("PMD305", "ext-flash-size-units", Severity.ERROR, rank=70, explains=("pm-not-packed",))
def ext_flash_size_units(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Reads the `size` property of the external flash node that
    `nordic,pm-ext-flash` names. That property is in **bits**; Partition
    Manager makes the `external_flash` region `size / 8` bytes. The rule
    compares that with the chip's capacity from its `jedec-id` (third byte
    = log2 of the capacity in bytes) and with the end of the static external
    partitions.

    ## Why it matters
    Writing the size in bytes makes the region an eighth of the chip:
    Partition Manager fails with "Statically defined partitions are not
    packed at start of region 'external_flash'" or places partitions that
    do not fit. A size larger than the chip places partitions beyond its
    end, which fail when written.

    ## Example
    ```dts
    &mx25r64 { jedec-id = [c2 28 17]; size = <0x800000>; };  /* 8 MiB written in bytes */
    ```

    ## How to fix
    Give the size in bits: `size = <0x4000000>;` (64 Mbit = 8 MiB), or
    `DT_SIZE_M(64)`.
    """
    if not build.partition_manager or build.app is None:
        return
    node = build.app.devicetree.chosen_node(CHOSEN)
    bits = node.props.get("size") if node is not None else None
    if not isinstance(bits, int) or bits <= 0:
        return
    capacity = jedec_capacity(node.props.get("jedec-id"))
    extent = _extent(build)
    problem = _size_problem(bits, capacity, extent)
    if problem is None:
        return
    message, severity = problem
    correct_bits = capacity * 8 if capacity else next_power_of_two(extent or bits) * 8
    yield Finding(
        message=f"{node.label}: {message}",
        location=node.origin or node.source,
        image=build.app.name,
        severity=severity,
        evidence=[
            f"size = <{hx(bits)}> bits = {hx(bits // 8)} bytes ({at(build, node.source)})",
            f"jedec-id {_jedec_text(node.props.get('jedec-id'))}: "
            + (f"{hx(capacity)} bytes" if capacity else "capacity unknown"),
        ]
        + ([f"static external partitions end at {hx(extent)}"] if extent else []),
        fixes=[
            fixes.devicetree_snippet(
                build,
                build.app,
                f"{_label(node)} {{\n\tsize = <{hx(correct_bits)}>;"
                f"  /* bits: {_human(correct_bits // 8)} */\n}};",
                "give the chip size in bits",
            )
        ],
        subject=("ext-size", node.path),
    )


def jedec_capacity(value: object) -> Optional[int]:
    """Capacity in bytes from the JEDEC ID's third byte (2**n), when it is plausible."""
    if isinstance(value, (bytes, bytearray)):
        data = list(value)
    elif isinstance(value, list) and all(isinstance(v, int) for v in value):
        data = value
    else:
        return None
    if len(data) < 3 or not 0x10 <= data[2] <= 0x22:  # 64 KiB .. 4 GiB
        return None
    return 1 << data[2]


def _jedec_text(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return " ".join(f"{b:02x}" for b in value)
    return str(value)


def _extent(build: Build) -> Optional[int]:
    """Where the external partitions end, in the generated and static layouts."""
    ends = []
    layouts = [layout for layout in build.layouts if layout.domain is None]
    layouts += [s.layout for s in build.static_files if s.domain is None and s.layout is not None]
    for layout in layouts:
        ends += [part.end for part in _external(layout) if part.has_extent]
    return max(ends) if ends else None


def _size_problem(
    bits: int, capacity: Optional[int], extent: Optional[int]
) -> Optional[Tuple[str, Severity]]:
    region = bits // 8
    if capacity and region > capacity:
        return (
            f"size = <{hx(bits)}> makes external_flash {_human(region)}, but the chip holds "
            f"{_human(capacity)}: partitions can be placed beyond its end",
            Severity.ERROR,
        )
    if extent and extent > region:
        hint = " — the size looks written in bytes" if capacity and bits == capacity else ""
        return (
            f"size = <{hx(bits)}> bits gives external_flash only {_human(region)}, but the external "
            f"partitions need {hx(extent)} bytes{hint}; the size property is in bits",
            Severity.ERROR,
        )
    if capacity and bits == capacity:
        return (
            f"size = <{hx(bits)}> is the chip's capacity in bytes, but the property is in bits: "
            f"external_flash is only {_human(region)} of the {_human(capacity)} chip",
            Severity.WARNING,
        )
    return None


def _human(size: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{hx(size)} bytes"


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
    compatible = _compatible(node)
    if compatible is None or not has_driver(image, node):
        return None
    name, default = PAGE_SIZE[compatible]
    return name, image.config.int(name) or default


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
        if other.role == "app" and other.domain is None and _page_layout(other, chip(build, other)) == page
    ]
    return Finding(
        message=f"image '{image.name}': " + "; ".join(problems) + ". MCUboot compares the two slots' "
        'sectors and refuses the update ("Cannot upgrade: slots have non-compatible sectors")',
        location=image.config.where(name),
        image=image.name,
        evidence=[
            shown + f" ({at(build, image.config.where(name))})",
            f"{primary.name}: {hexrange(primary)} in {primary.region}, sector {sector}",
            f"{secondary.name}: {hexrange(secondary)} in {secondary.region}",
            f"MCUboot mode: {mode or 'unknown'}",
        ],
        fixes=[
            fixes.image_kconfig(build, target, [f"{name}={sector}"], "match the internal sector size")
            for target in targets
        ],
        subject=("ext-page", image.name, secondary.name),
    )


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
                evidence=[f"{name}: {hexrange(part)} region {part.region} ({at(build, part.source)})"],
                fixes=[
                    Fix(
                        f"put `{name}` back in internal flash; only the secondary slot may go off-chip",
                        edit_path(build, layout),
                        f"{name}:\n  region: flash_primary",
                    )
                ],
                subject=("exec-offchip", layout.kind.value, name),
            )


def _pm_layouts(build: Build) -> Iterator[Layout]:
    if not build.partition_manager:
        return
    yield from build.layouts
    for static in build.static_files:
        if static.layout is not None and static.layout.kind is LayoutKind.STATIC:
            yield static.layout


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
    """
    layout = app_pm_layout(build)
    if not build.partition_manager or not _external(layout):
        return
    gate = _gate(build, _region(layout))
    for image in build.images:
        if not fully_loaded(image) or image.domain is not None:
            continue
        node = image.devicetree.chosen_node(CHOSEN)
        if gate is None or not _passes_gate(image, gate, node):
            continue  # the partitions are dropped, so nothing refers to the device
        if node is None or not node.status_okay or has_driver(image, node) is not False:
            continue
        if not _override_in_effect(build, image):
            continue
        compatible = _compatible(node)
        missing = [name for name in DRIVERS[compatible] if not image.config.enabled(name)]
        yield Finding(
            message=f"image '{image.name}' keeps the external partitions through the driver-check "
            f"override, but builds no driver for {node.label} ({compatible}): "
            + " and ".join(_setting(build, image, name) for name in missing)
            + ". The link will fail with \"undefined reference to '__device_dts_ord_…'\"",
            location=image.config.where(missing[0]),
            image=image.name,
            evidence=[_setting(build, image, f"CONFIG_{OVERRIDE}"), _setting(build, image, HAS_DRIVER)],
            fixes=_driver_fixes(build, image, compatible),
            subject=("override-no-driver", image.name),
        )


def _override_in_effect(build: Build, image: Image) -> bool:
    """HAS_DRIVER without a driver can only come from the override."""
    return image.config.enabled(f"CONFIG_{OVERRIDE}") or build.sysbuild_config.enabled(
        f"SB_CONFIG_{OVERRIDE}"
    )
