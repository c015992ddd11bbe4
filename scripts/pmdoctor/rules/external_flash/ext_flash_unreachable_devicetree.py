"""PMD301 ext-flash-unreachable-devicetree."""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

from ...model import Build, DtNode, Image, Region, Source
from ...model.edits import OverlayEdit
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule
from .._shared import targets as fixes
from ._common import (
    CHOSEN,
    HAS_DRIVER,
    Elsewhere,
    chip,
    chip_words,
    devicetree_needs,
    from_regions_file,
    images_needing_external,
    node_label,
    part_evidence,
    region_evidence,
    slot_consequence,
)


def _via_chosen(build: Build, region: Optional[Region]) -> bool:
    """Whether Partition Manager reaches the chip through `DT_CHOSEN(nordic_pm_ext_flash)`.

    Older builds (NCS < 2.2) named the device by label or path instead, and
    there MCUboot needed no chosen node.
    """
    if from_regions_file(region):
        return (region.device or "").startswith("DT_CHOSEN(")
    return build.sysbuild or any(
        "CONFIG_PM_EXTERNAL_FLASH_PATH" in image.config or HAS_DRIVER in image.config
        for image in build.images
    )


def _dt_unreachable(build: Build) -> Iterator[Finding]:
    elsewhere = Elsewhere()
    for image, parts, node in devicetree_needs(build):
        if node.status_okay:
            continue
        disabled = _outermost_disabled(image, node)
        what = "is disabled" if disabled is node else f"sits on the bus {disabled.label}, which is disabled"
        snippet = f'{node_label(node)} {{\n\tstatus = "okay";\n}};'
        if disabled is not node:
            snippet += f'\n\n{node_label(disabled)} {{\n\tstatus = "okay";\n}};'
        yield Finding(
            message=(
                f"{parts[0].name} lives on {chip_words(node)}, but in image '{image.name}''s devicetree "
                f"{node.label} {what}. " + slot_consequence(image, parts) + "."
            ),
            location=disabled.origin or disabled.source,
            image=image.name,
            evidence=part_evidence(build, parts)
            + elsewhere.lines(image, ("enabled", node.path, node.label), _enabled_elsewhere, build, node),
            fixes=[
                fixes.overlay_fix(
                    build,
                    image,
                    [_okay(node)] + ([_okay(disabled)] if disabled is not node else []),
                    f"enable {node.label} for {image.name}",
                )
            ],
            subject=("ext-devicetree", image.name),
        )


def _okay(node: DtNode) -> OverlayEdit:
    return fixes.node_set(node_label(node), "status", '"okay"')


def _chosen_fix(
    build: Build, image: Image, node: Optional[DtNode], bus: Optional[DtNode], snippet: str
) -> Fix:
    why = f"give {image.name} the external flash chosen node, enabled"
    if node is None:  # the chip is unknown: the snippet names a placeholder label to fill in
        return fixes.devicetree_snippet(build, image, snippet, why)
    edits = [fixes.chosen_set(CHOSEN, node_label(node)), _okay(node)]
    return fixes.overlay_fix(build, image, edits + ([_okay(bus)] if bus is not None else []), why)


def _enabled_elsewhere(build: Build, node: DtNode) -> List[Tuple[Image, str]]:
    lines = []
    for other in build.images:
        theirs = other.devicetree.nodes.get(node.path)
        if theirs is not None and theirs.status_okay:
            where = Source(other.devicetree.file)
            lines.append((other, Text(f"image '{other.name}' has {node.label} enabled (", where, ")")))
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

    Mechanical: `status = "okay"` (and, in Partition Manager builds, the `nordic,pm-ext-flash` chosen node) is
    appended to the overlay the image reads, and checked against the image's devicetree. With the chip unknown
    it is advice to adapt.
    """
    yield from _dt_unreachable(build)
    elsewhere = Elsewhere()
    via_chosen: Optional[bool] = None
    for image, parts, region in images_needing_external(build):
        if via_chosen is None:  # every image needs the same layout's region: ask once
            via_chosen = _via_chosen(build, region)
        if not via_chosen:
            continue
        problem = _devicetree_problem(image)
        if problem is None:
            continue
        what, location, bus = problem
        node = chip(build, image)
        snippet = (
            f"/ {{\n\tchosen {{\n\t\t{CHOSEN} = {node_label(node)};\n\t}};\n}};\n\n{node_label(node)} {{\n"
        )
        snippet += '\tstatus = "okay";\n};'
        if bus is not None:
            snippet += f'\n\n{node_label(bus)} {{\n\tstatus = "okay";\n}};'
        yield Finding(
            message=f"{parts[0].name} lives on external flash but in image '{image.name}' {what}. "
            + slot_consequence(image, parts)
            + ".",
            location=location,
            image=image.name,
            evidence=part_evidence(build, parts)
            + region_evidence(build, region)
            + elsewhere.lines(image, ("chosen",), _chosen_elsewhere, build),
            fixes=[_chosen_fix(build, image, node, bus, snippet)],
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
                    f"image '{other.name}' has it: {CHOSEN} = {node_label(node)} "
                    + Text("(", Source(other.devicetree.file), ")"),
                )
            )
    return lines
