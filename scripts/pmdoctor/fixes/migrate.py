"""The devicetree overlays that reproduce a Partition Manager layout, checked by a round trip.

Partition Manager (PM) is deprecated from NCS 3.3 and removed later; NCS 3.4+
builds lay out flash with devicetree partitions. Devices in the field keep the
PM layout, so the first devicetree-era image they receive by DFU must put
MCUboot, every slot and every storage area at exactly the same addresses.
This module turns a PM-era build's ``partitions*.yml`` into one overlay per
image that needs one (per domain on nRF5340) and then checks its own output:
each overlay is parsed by the same devicetree loader that reads ``zephyr.dts``
and compared with the source layout by rule PMD704.

The names come from :mod:`pmdoctor.model.dt_map`.

Overlays
--------
Each overlay deletes the board's ``partitions`` node of every flash device it
uses and writes a complete one, so no board default survives at a different
address. Labels of the deleted board partitions that the image's tree still
uses (an fstab ``partition = <&lfs1_part>``, a chosen node, an alias) move to
the new partition with the same purpose, or the board's node is kept and
flagged for review (:func:`keep_referenced_labels`). Each overlay also
sets ``zephyr,code-partition`` for its image (app → slot0 or
slot0_ns with TF-M, MCUboot → boot_partition or s0_partition with NSIB, b0 →
b0_partition, b0n → b0n_partition, net core → its slot0_partition). Files are
named for the image's board target and placed as in a sysbuild application:
``boards/<board>.overlay`` for the app, ``sysbuild/<image>/boards/<board>.overlay``
for MCUboot, NSIB and the network core.

Round trip
----------
For each overlay, the image's own PM-era ``zephyr.dts`` (which still has the
board's partitions, flash nodes and labels) is concatenated with the overlay
into one flattened tree, exactly as dtc applies an overlay after the board
files; when that file is missing, a minimal tree is written with just the
flash devices the overlay references (``reg``, ``erase-block-size``,
``write-block-size`` from the layout's regions; the NOR node with its ``size``
in bits). The tree is parsed by :func:`pmdoctor.loaders.devicetree.load_devicetree`
and PMD704 runs with the source layout as baseline.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from ..analysis import check
from ..loaders import LoadError
from ..loaders.devicetree import load_devicetree
from ..model import (
    Build,
    Devicetree,
    DtNode,
    DtReference,
    Era,
    Image,
    Layout,
    Partition,
    Role,
)
from ..model import soc as socs
from ..model.dt_map import (
    EXTERNAL,
    INTERNAL,
    DtEquivalent,
    code_partition_for,
    devicetree_equivalents,
    hex_value,
    partition_node_lines,
)
from ..model.findings import Finding
from ..model.names import PM_SLOT, pm_name


@dataclass
class Overlay:
    """One generated overlay: for which image, where it goes, what it says."""

    image: str
    domain: Optional[str]
    destination: str  # path relative to the application directory
    code_partition: Optional[str]
    text: str
    nodes: List[str] = field(default_factory=list)  # flash node labels it rewrites
    # Labels of deleted board partitions the image still refers to: where each went.
    kept: List[str] = field(default_factory=list)
    review: List[str] = field(default_factory=list)  # what the user must check by hand


@dataclass
class FlashNode:
    """A flash device an overlay writes partitions under."""

    label: str
    base: int
    size: Optional[int]
    erase_block: int
    write_block: int
    nor: bool


def _board_target(build: Build, image: Image) -> str:
    board = (
        image.config.str("CONFIG_BOARD_TARGET")
        or (build.board if image.role in (Role.APP, Role.MCUBOOT, Role.B0) else None)
        or image.config.str("CONFIG_BOARD")
        or build.board
        or "board"
    )
    return board.split("@", 1)[0].replace("/", "_")


def _destination(build: Build, image: Image) -> str:
    board = _board_target(build, image)
    if image.role is Role.APP:
        return f"boards/{board}.overlay"
    return f"sysbuild/{image.name}/boards/{board}.overlay"


def _main_image(build: Build, domain: Optional[str]) -> Optional[Image]:
    images = build.images_in_domain(domain)
    for role in (Role.APP, Role.NETCORE):
        for image in images:
            if image.role == role:
                return image
    return images[0] if images else None


def _nvm_node(build: Build, layout: Layout, tree: Devicetree, domain: Optional[str]) -> FlashNode:
    region = layout.regions.get(INTERNAL)
    facts = socs.facts("nrf5340_cpunet" if domain == "CPUNET" else build.soc)
    node = tree.chosen_node("zephyr,flash")
    if node is not None and node.labels:
        label = node.labels[0]
    elif domain == "CPUNET":
        label = "flash1"
    elif socs.series(build.soc) == "nrf54l":
        label = "cpuapp_rram"
    else:
        label = "flash0"
    base = node.reg[0][0] if node is not None and node.reg else None
    if base is None:
        base = region.base if region and region.base is not None else (facts.flash_base if facts else 0)
    size = node.reg[0][1] if node is not None and node.reg else (region.size if region else None)
    erase = (region.erase_block if region else None) or (facts.erase_block if facts else 4096)
    write = (region.write_block if region else None) or (facts.write_block if facts else 4)
    return FlashNode(label, base, size, erase, write, nor=False)


def _nor_node(layout: Layout, trees: List[Devicetree]) -> FlashNode:
    region = layout.regions.get(EXTERNAL)
    label = None
    for tree in trees:
        node = tree.chosen_node("nordic,pm-ext-flash") or tree.node(region.device if region else None)
        if node is not None and node.labels:
            label = node.labels[0]
            break
    if label is None:  # no devicetree says which chip: the DK's
        label = "mx25r64"
    size = region.size if region else None
    return FlashNode(label, 0, size, 4096, 1, nor=True)


def _flash_block(node: FlashNode, entries: List[DtEquivalent]) -> List[str]:
    lines = [
        f"&{node.label} {{",
        "\t/delete-node/ partitions;",
        "",
        "\tpartitions {",
        '\t\tcompatible = "fixed-partitions";',
        "\t\t#address-cells = <1>;",
        "\t\t#size-cells = <1>;",
    ]
    for entry in entries:
        if entry.parent is not None:
            continue
        children = [e for e in entries if e.parent == entry.label]
        lines.append("")
        lines += partition_node_lines(entry, entry.address - node.base, "\t\t", children)
    lines += ["\t};", "};"]
    return lines


def render_overlay(
    title: List[str], code_partition: Optional[str], blocks: List[Tuple[FlashNode, List[DtEquivalent]]]
) -> str:
    lines = ["/*"] + [f" * {line}".rstrip() for line in title] + [" */", ""]
    if code_partition:
        lines += ["/ {", "\tchosen {", f"\t\tzephyr,code-partition = &{code_partition};", "\t};", "};", ""]
    for node, entries in blocks:
        lines += [*_flash_block(node, entries), ""]
    return "\n".join(lines)


def source_layouts(build: Build) -> List[Layout]:
    """The layouts a migration must reproduce: generated per domain, else the static files."""
    if build.layouts:
        return list(build.layouts)
    return [static.layout for static in build.static_files if static.layout is not None]


def overlays_for(build: Build) -> List[Overlay]:
    """One overlay per image that runs from a mapped partition (one per domain at least)."""
    overlays: List[Overlay] = []
    for layout in source_layouts(build):
        entries = devicetree_equivalents(layout)
        if not entries:
            continue
        domain_images = build.images_in_domain(layout.domain)
        main = _main_image(build, layout.domain)
        tree = main.devicetree if main else Devicetree()
        blocks = [(_nvm_node(build, layout, tree, layout.domain), [e for e in entries if not e.external])]
        external = [e for e in entries if e.external]
        if external:
            blocks.append((_nor_node(layout, [i.devicetree for i in domain_images]), external))
        blocks = [(node, items) for node, items in blocks if items]
        labels = [e.label for e in entries]
        targets = [(i, code_partition_for(i, labels)) for i in domain_images]
        targets = [(i, code) for i, code in targets if code] or ([(main, None)] if main else [])
        for image, code in targets:
            overlays.append(_overlay(build, layout, image, code, blocks))
        if not targets:
            overlays.append(_overlay(build, layout, None, None, blocks))
    return overlays


def _overlay(build, layout: Layout, image: Optional[Image], code, blocks) -> Overlay:
    name = image.name if image else (layout.domain or "app")
    domain = f" ({layout.domain} domain)" if layout.domain else ""
    destination = _destination(build, image) if image else f"{name}.overlay"
    keep = keep_referenced_labels(image.devicetree if image else Devicetree(), blocks)
    title = [
        f"Devicetree partitions for image '{name}'{domain}, written by `west pmdoctor migrate`",
        # Relative to the build directory: the overlay goes into the user's
        # repository, where this machine's absolute paths mean nothing.
        f"from {build_relative(build, layout.file)}.",
        "They reproduce the Partition Manager layout address for address, so devices",
        "updated by DFU keep MCUboot, their slots and their settings where they are.",
        "Use the same partitions in every image of this domain.",
    ]
    if keep.kept or keep.review:
        title += ["", "Labels of the board's partitions that this image's devicetree still uses:"]
        title += [f"- {line}" for line in keep.kept]
        title += [f"- REVIEW: {line}" for line in keep.review]
    return Overlay(
        image=name,
        domain=layout.domain,
        destination=destination,
        code_partition=code,
        text=render_overlay(title, code, keep.blocks),
        nodes=[node.label for node, _ in blocks],
        kept=keep.kept,
        review=keep.review,
    )


# PM partitions that hold code or boot data: a user's storage label must never land on one.
_IMAGE_AREAS = {
    "mcuboot",
    "mcuboot_primary",
    "mcuboot_secondary",
    "mcuboot_scratch",
    "app",
    "b0",
    "b0n",
    "provision",
    "s0_image",
    "s1_image",
    "tfm_secure",
    "tfm_nonsecure",
}


_NAME_SUFFIXES = ("_partition", "_part", "_storage")


Blocks = List[Tuple[FlashNode, List[DtEquivalent]]]


@dataclass
class KeptLabels:
    """The overlay's flash blocks with the still-referenced board labels placed, and what was done."""

    blocks: Blocks
    kept: List[str] = field(default_factory=list)
    review: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Orphan:
    """A board partition the overlay deletes while other nodes still refer to its labels."""

    part: Partition
    node: DtNode
    labels: Tuple[str, ...]
    users: Tuple[DtReference, ...]
    flash: FlashNode


def keep_referenced_labels(tree: Devicetree, blocks: Blocks) -> KeptLabels:
    """Put every label of a deleted board partition that the tree still refers to on the new layout.

    ``/delete-node/ partitions`` drops the labels of the board's partitions;
    an fstab entry (``partition = <&lfs1_part>``), a chosen node or an alias
    naming one of them would no longer compile. The label moves to the new
    partition with the same purpose: the one that carried another label of
    the same node, else the storage area that overlaps it, else one whose
    name matches. With no such partition the board's node is kept as it was,
    for the user to review.
    """
    entries = [entry for _, items in blocks for entry in items]
    defined = {entry.label for entry in entries} | {node.label for node, _ in blocks}
    extra: Dict[str, List[str]] = {}
    kept_nodes: Dict[str, List[DtEquivalent]] = {}
    result = KeptLabels(blocks=[])
    for orphan in _orphans(tree, blocks, defined):
        same_device = next(items for node, items in blocks if node is orphan.flash)
        target = _match(orphan, entries, same_device)
        users = ", ".join(f"{ref.node} {ref.prop}" for ref in orphan.users)
        refs = " ".join(f"&{label}" for label in orphan.labels)
        was = f"the board's {orphan.node.path.rsplit('/', 1)[-1]} ({_span(orphan.part)})"
        if target is None:
            kept_nodes.setdefault(orphan.flash.label, []).append(_kept_node(orphan))
            result.review.append(
                f"{refs} (used by {users}): no Partition Manager partition has its purpose; "
                f"{was} on {orphan.flash.label} is kept as it was"
            )
            continue
        extra.setdefault(target.label, []).extend(orphan.labels)
        result.kept.append(f"{refs} (used by {users}) is now on {target.label}: {_describe(target)}")
        if (target.address, target.size) != (orphan.part.address, orphan.part.size):
            result.review.append(
                f"{refs}: {was} differs from {target.label} ({_span_of(target)}): "
                f"check that {users} must use the Partition Manager area"
            )
    for node, items in blocks:
        placed = [replace(e, extra_labels=e.extra_labels + tuple(extra.get(e.label, ()))) for e in items]
        placed += kept_nodes.get(node.label, [])
        result.blocks.append((node, sorted(placed, key=lambda e: (e.address, -e.size))))
    return result


def _orphans(tree: Devicetree, blocks: Blocks, defined: set) -> Iterator[_Orphan]:
    if tree.layout is None:
        return
    for flash, _ in blocks:
        flash_path = tree.labels.get(flash.label)
        if flash_path is None:
            continue
        deleted = flash_path.rstrip("/") + "/partitions"
        for part in tree.layout.partitions.values():
            node = tree.nodes.get(part.dt_path or "")
            if node is None or not node.path.startswith(deleted + "/"):
                continue
            # References from inside the deleted subtree disappear with it.
            users = {
                label: [r for r in tree.references.get(label, []) if not _inside(r.node, deleted)]
                for label in node.labels
                if label not in defined
            }
            labels = tuple(label for label, refs in users.items() if refs)
            if labels:
                refs = tuple(dict.fromkeys(r for label in labels for r in users[label]))
                yield _Orphan(part, node, labels, refs, flash)


def _inside(path: str, subtree: str) -> bool:
    return path == subtree or path.startswith(subtree + "/")


def _match(
    orphan: _Orphan, entries: List[DtEquivalent], same_device: List[DtEquivalent]
) -> Optional[DtEquivalent]:
    by_label = {entry.label: entry for entry in entries}
    for label in orphan.node.labels:  # the node also had a label the new layout keeps
        if label in by_label:
            return by_label[label]
    image = any(_is_image_area(pm_name(label)) for label in orphan.node.labels)
    start, end = orphan.part.address, orphan.part.address + orphan.part.size
    overlapping = [
        e for e in same_device if e.address < end and start < e.end and _is_image_area(e.pm_name) == image
    ]
    if overlapping:
        return max(
            overlapping, key=lambda e: (e.address <= start < e.end, min(e.end, end) - max(e.address, start))
        )
    wanted = {_norm(label) for label in orphan.labels}
    return next((e for e in entries if {_norm(e.pm_name), _norm(e.label)} & wanted), None)


def _is_slot(name: Optional[str]) -> bool:
    return name is not None and PM_SLOT.fullmatch(name) is not None


def _is_image_area(name: Optional[str]) -> bool:
    return name in _IMAGE_AREAS or _is_slot(name)


def _norm(name: str) -> str:
    name = name.lower().replace("-", "_")
    for suffix in _NAME_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _kept_node(orphan: _Orphan) -> DtEquivalent:
    label_prop = orphan.node.props.get("label")
    return DtEquivalent(
        label=orphan.labels[0],
        name=label_prop if isinstance(label_prop, str) else orphan.labels[0].replace("_", "-"),
        pm_name="",  # not a Partition Manager partition: the board's own
        address=orphan.part.address,
        size=orphan.part.size,
        external=orphan.flash.nor,
        source=orphan.part.source,
        extra_labels=orphan.labels[1:],
    )


def _span(part: Partition) -> str:
    return f"{hex_value(part.address)}..{hex_value(part.address + part.size)}"


def _span_of(entry: DtEquivalent) -> str:
    return f"{hex_value(entry.address)}..{hex_value(entry.end)}"


def _describe(entry: DtEquivalent) -> str:
    return f"Partition Manager's {entry.pm_name} {_span_of(entry)}"


def _minimal_tree(blocks: List[FlashNode]) -> str:
    """A flattened tree with only the flash devices an overlay references."""
    lines = ["/dts-v1/;", "", "/ {", "\t#address-cells = <1>;", "\t#size-cells = <1>;", "\tchosen {", "\t};"]
    for node in blocks:
        if node.nor:
            bits = (node.size or 0x800000) * 8
            lines += [
                f"\t{node.label}: nor-flash {{",
                '\t\tcompatible = "jedec,spi-nor";',
                f"\t\tsize = <{hex_value(bits)}>;",
                "\t};",
            ]
        else:
            lines += [
                f"\t{node.label}: flash@{node.base:x} {{",
                '\t\tcompatible = "soc-nv-flash";',
                f"\t\treg = <{hex_value(node.base)} {hex_value(node.size or 0x100000)}>;",
                f"\t\terase-block-size = <{hex_value(node.erase_block)}>;",
                f"\t\twrite-block-size = <{hex_value(node.write_block)}>;",
                "\t};",
            ]
    return "\n".join([*lines, "};", ""])


@dataclass
class RoundTrip:
    """What loading the overlays back found: PMD704 findings and overlays that did not parse."""

    findings: List[Finding] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings and not self.errors


def verify(build: Build, overlays: List[Overlay]) -> RoundTrip:
    """Load every overlay back through the devicetree loader and run PMD704 against the source."""

    result = RoundTrip()
    images: List[Image] = []
    with tempfile.TemporaryDirectory(prefix="pmdoctor-migrate-") as scratch:
        for index, overlay in enumerate(overlays):
            image = build.image(overlay.image)
            path = Path(scratch) / f"{index}_{overlay.image}.dts"
            path.write_text(_base_tree(build, overlay, image) + "\n" + overlay.text, encoding="utf-8")
            try:
                tree = load_devicetree(path, overlay.image)
            except LoadError as error:
                hint = ""
                if "undefined node label" in error.message:
                    hint = (
                        " (the image's devicetree refers to a board partition that the Partition "
                        "Manager layout does not have: add that label to the overlay by hand)"
                    )
                result.errors.append(f"{overlay.destination}: {error.message}{hint}")
                continue
            chosen = tree.chosen_node("zephyr,code-partition")
            if overlay.code_partition and (chosen is None or overlay.code_partition not in chosen.labels):
                result.errors.append(
                    f"{overlay.destination}: zephyr,code-partition does not resolve to "
                    f"&{overlay.code_partition}"
                )
            role = image.role if image else Role.OTHER
            images.append(
                Image(
                    name=overlay.image,
                    build_dir=build.path,
                    role=role,
                    domain=overlay.domain,
                    devicetree=tree,
                )
            )
        replay = Build(path=build.path, era=Era.DEVICETREE, board=build.board, soc=build.soc, images=images)
        replay.baselines = source_layouts(build)
        result.findings = list(check(replay, ["PMD704"]).findings)
    return result


def _base_tree(build: Build, overlay: Overlay, image: Optional[Image]) -> str:
    if image is not None and image.devicetree.file is not None:
        try:
            text = Path(image.devicetree.file).read_text(encoding="utf-8")
            if all(f"{label}:" in text for label in overlay.nodes):
                return text
        except OSError:
            pass
    layout = next((lay for lay in source_layouts(build) if lay.domain == overlay.domain), None)
    nodes: List[FlashNode] = []
    if layout is not None:
        main = _main_image(build, overlay.domain)
        tree = main.devicetree if main else Devicetree()
        nodes.append(_nvm_node(build, layout, tree, overlay.domain))
        if any(e.external for e in devicetree_equivalents(layout)):
            nodes.append(_nor_node(layout, [i.devicetree for i in build.images_in_domain(overlay.domain)]))
    return _minimal_tree([n for n in nodes if n.label in overlay.nodes])


class MigrateError(Exception):
    """The build cannot be migrated (usage error): the message says why."""


def plan(build: Build) -> List[Overlay]:
    if build.era is Era.DEVICETREE or not source_layouts(build):
        raise MigrateError(
            f"{build.path} is not a Partition Manager build (no partitions.yml or pm_static.yml): "
            "its layout already comes from devicetree"
        )
    overlays = overlays_for(build)
    if not overlays:
        raise MigrateError(f"{build.path}: the Partition Manager layout has no flash partitions to migrate")
    return overlays


def build_relative(build: Build, path: Optional[Path]) -> str:
    """``build/partitions.yml``: the file as seen from the application directory."""
    if path is None:
        return "the Partition Manager layout"
    try:
        return (Path(build.path.name) / Path(path).relative_to(build.path)).as_posix()
    except ValueError:
        return Path(path).name
