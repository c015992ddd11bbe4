"""``west pmdoctor migrate``: the devicetree overlays that reproduce a Partition Manager layout.

Partition Manager (PM) is deprecated from NCS 3.3 and removed later; NCS 3.4+
builds lay out flash with devicetree partitions. Devices in the field keep the
PM layout, so the first devicetree-era image they receive by DFU must put
MCUboot, every slot and every storage area at exactly the same addresses.
This module turns a PM-era build's ``partitions*.yml`` into one overlay per
image that needs one (per domain on nRF5340) and then checks its own output:
each overlay is parsed by the same devicetree loader that reads ``zephyr.dts``
and compared with the source layout by rule PMD704.

PM ↔ devicetree name mapping
----------------------------
The node labels and ``label`` properties follow Nordic's ``pm_to_dts.py`` and
the aliases of ``flash_map_pm.h``:

==========================  ===========================  ==================
Partition Manager            devicetree node label        ``label``
==========================  ===========================  ==================
mcuboot                      boot_partition               "mcuboot"
mcuboot_primary (pad + app)  slot0_partition              "image-0"
app (no MCUboot, no NSIB)    slot0_partition              "image-0"
mcuboot_secondary            slot1_partition              "image-1"
mcuboot_primary_N            slot{2N}_partition           "image-{2N}"
mcuboot_secondary_N          slot{2N+1}_partition         "image-{2N+1}"
mcuboot_scratch              scratch_partition            "image-scratch"
settings_storage             storage_partition            "storage"
b0 / b0n / provision         b0_partition / b0n_partition / provision_partition
s0_image / s1_image          s0_partition / s1_partition
tfm_secure / tfm_nonsecure   slot0_s_partition / slot0_ns_partition (inside slot0)
tfm_its / tfm_ps             tfm_its_partition / tfm_ps_partition
tfm_otp_nv_counters          tfm_otp_partition
factory_data                 factory_data_partition
anything else (plain)        its PM name                  name with ``-``
==========================  ===========================  ==================

Why ``mcuboot_primary`` and not ``app`` becomes ``slot0_partition``: MCUboot's
primary slot starts with the image header (``mcuboot_pad``), and
``slot0_partition`` is the whole slot. ``pm_to_dts.py`` reaches the same
extent by mapping ``app`` and widening it by the pad. ``mcuboot_pad``,
``mcuboot_primary_app``, ``tfm``, ``app_image``, ``s0``/``s1`` wrappers,
``b0_container``/``b0n_container``, ``tfm_storage``, ``nonsecure_storage`` and
``EMPTY_n`` have no node: they are containers or fillers. With NSIB (``b0``),
MCUboot is the ``s0_image``, so ``mcuboot`` gets no ``boot_partition`` of its
own. With TF-M, ``slot0_partition`` becomes a ``fixed-subpartitions`` node
holding ``slot0_s_partition`` and ``slot0_ns_partition``, as ``pm_to_dts.py``
writes it. Only flash regions get nodes: ``flash_primary`` under the SoC's
NVM node (``cpuapp_rram`` on nRF54L, ``flash1`` for the nRF5340 network core,
``flash0`` elsewhere, or the ``zephyr,flash`` node of the image's own
devicetree), ``external_flash`` under the NOR node's own ``partitions``.
RAM (``sram_*``, ``pcd_sram``), ``otp``, ``bootconf`` and ``ram_flash``
(``mcuboot_primary_1`` on the nRF5340 flash simulator) are not flash partitions.

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

import contextlib
import json
import os
import secrets
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Tuple

from . import soc as socs
from .findings import Finding
from .loaders import LoadError
from .loaders.devicetree import is_nor, load_devicetree
from .model import (
    DEFAULT_PLACEMENT,
    Build,
    Devicetree,
    DtNode,
    DtReference,
    Era,
    Image,
    Layout,
    Partition,
    Source,
)
from .names import PM_SLOT, devicetree_names, pm_name
from .report._neutral import one_line

if TYPE_CHECKING:  # pragma: no cover
    import argparse

    from .commands.common import Context

INTERNAL, EXTERNAL = "flash_primary", "external_flash"

# Containers and fillers that have no devicetree node of their own.
_NO_NODE = {
    "mcuboot_pad",
    "mcuboot_primary_app",
    "mcuboot_secondary_pad",
    "mcuboot_secondary_app",
    "s0_pad",
    "s1_pad",
    "s0",
    "s1",
    "app_image",
    "tfm",
    "b0_container",
    "b0n_container",
    "nrf70_wifi_fw_mcuboot_pad",
}
_TFM_CHILDREN = ("tfm_secure", "tfm_nonsecure")


@dataclass(frozen=True)
class DtEquivalent:
    """The devicetree partition that stands for one Partition Manager partition."""

    label: str  # node label: slot0_partition
    name: str  # `label` property: "image-0"
    pm_name: str  # mcuboot_primary
    address: int  # absolute, as Partition Manager placed it
    size: int
    external: bool
    source: Source
    parent: Optional[str] = None  # node label of an enclosing fixed-subpartitions node
    # Labels of the board's deleted nodes that the image's tree still refers to.
    extra_labels: Tuple[str, ...] = ()

    @property
    def end(self) -> int:
        return self.address + self.size


def _devicetree_name(layout: Layout, part: Partition) -> Optional[Tuple[str, str]]:
    """(node label, label property) for a PM partition, or None when it gets no node."""
    name = part.name
    fixed = devicetree_names(name)
    if fixed is not None:
        return fixed
    if name == "app":
        return "slot0_partition", "image-0"
    if name in _NO_NODE or name.startswith("EMPTY_") or part.is_container:
        return None
    return name, name.replace("_", "-")


def _skipped(layout: Layout, part: Partition) -> bool:
    if part.region not in (INTERNAL, EXTERNAL) or not part.has_extent or part.size <= 0:
        return True
    if part.name in layout.regions or part.name in DEFAULT_PLACEMENT:
        return True  # the free-space placeholder named after its region
    has = layout.partitions.__contains__
    if part.name == "app" and (has("mcuboot_primary") or has("s0_image") or has("tfm_nonsecure")):
        return True  # inside the MCUboot slot, the NSIB slot or TF-M's non-secure partition
    return part.name == "mcuboot" and has("s0_image")  # NSIB boots MCUboot from s0


def devicetree_equivalents(layout: Layout) -> List[DtEquivalent]:
    """The devicetree partitions that reproduce a Partition Manager layout, by address."""
    mapped: Dict[str, DtEquivalent] = {}
    covered: set = set()
    parts = sorted(layout.partitions.values(), key=lambda p: (p.region, p.address or 0, -(p.size or 0)))
    for part in parts:
        if _skipped(layout, part):
            continue
        names = _devicetree_name(layout, part)
        if names is None or names[0] in mapped:
            continue
        if part.name in covered and part.name not in _TFM_CHILDREN:
            continue  # a member of a partition that already has a node (ipc_radio in app)
        parent = (
            "slot0_partition"
            if part.name in _TFM_CHILDREN and "mcuboot_primary" in layout.partitions
            else None
        )
        mapped[names[0]] = DtEquivalent(
            label=names[0],
            name=names[1],
            pm_name=part.name,
            address=part.address,
            size=part.size,
            external=part.region == EXTERNAL,
            source=part.source,
            parent=parent,
        )
        covered |= layout.descendants(part)
    return sorted(mapped.values(), key=lambda e: (e.external, e.address, -e.size))


def code_partition_for(image: Image, labels: List[str]) -> Optional[str]:
    """The partition an image runs from in the devicetree era, if its layout has it."""
    wanted = {
        "mcuboot": ("boot_partition", "s0_partition"),
        "b0": ("b0_partition",),
        "b0n": ("b0n_partition",),
        "app": ("slot0_ns_partition", "slot0_partition"),
        "netcore": ("slot0_partition",),
    }.get(image.role, ())
    if image.name == "s1_image":
        wanted = ("s1_partition",)
    return next((label for label in wanted if label in labels), None)


# ----------------------------------------------------------------- overlays


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
        or (build.board if image.role in ("app", "mcuboot", "b0") else None)
        or image.config.str("CONFIG_BOARD")
        or build.board
        or "board"
    )
    return board.split("@", 1)[0].replace("/", "_")


def _destination(build: Build, image: Image) -> str:
    board = _board_target(build, image)
    if image.role == "app":
        return f"boards/{board}.overlay"
    return f"sysbuild/{image.name}/boards/{board}.overlay"


def _main_image(build: Build, domain: Optional[str]) -> Optional[Image]:
    images = build.images_in_domain(domain)
    for role in ("app", "netcore"):
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


def _hex(value: int) -> str:
    return f"0x{value:x}"


def _node_lines(entry: DtEquivalent, offset: int, indent: str, children: List[DtEquivalent]) -> List[str]:
    labels = "".join(f"{label}: " for label in (entry.label, *entry.extra_labels))
    lines = [f"{indent}{labels}partition@{offset:x} {{"]
    if children:
        lines.append(f'{indent}\tcompatible = "fixed-subpartitions";')
    lines.append(f'{indent}\tlabel = "{entry.name}";')
    lines.append(f"{indent}\treg = <{_hex(offset)} {_hex(entry.size)}>;")
    if children:
        lines += [
            f"{indent}\tranges = <0x0 {_hex(offset)} {_hex(entry.size)}>;",
            f"{indent}\t#address-cells = <1>;",
            f"{indent}\t#size-cells = <1>;",
        ]
        for child in children:
            lines += _node_lines(child, child.address - entry.address, indent + "\t", [])
    lines.append(f"{indent}}};")
    return lines


def partition_node_snippet(flash_label: str, entry: DtEquivalent, base: int = 0) -> str:
    """One partition node inside its flash device, for fix suggestions."""
    body = _node_lines(entry, entry.address - base, "\t\t", [])
    return "\n".join([f"&{flash_label} {{", "\tpartitions {", *body, "\t};", "};"])


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
        lines += _node_lines(entry, entry.address - node.base, "\t\t", children)
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
        f"from {_build_relative(build, layout.file)}.",
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


# ---------------------------------------------------- labels still in use

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
    return f"{_hex(part.address)}..{_hex(part.address + part.size)}"


def _span_of(entry: DtEquivalent) -> str:
    return f"{_hex(entry.address)}..{_hex(entry.end)}"


def _describe(entry: DtEquivalent) -> str:
    return f"Partition Manager's {entry.pm_name} {_span_of(entry)}"


# ---------------------------------------------------------------- round trip


def _minimal_tree(blocks: List[FlashNode]) -> str:
    """A flattened tree with only the flash devices an overlay references."""
    lines = ["/dts-v1/;", "", "/ {", "\t#address-cells = <1>;", "\t#size-cells = <1>;", "\tchosen {", "\t};"]
    for node in blocks:
        if node.nor:
            bits = (node.size or 0x800000) * 8
            lines += [
                f"\t{node.label}: nor-flash {{",
                '\t\tcompatible = "jedec,spi-nor";',
                f"\t\tsize = <{_hex(bits)}>;",
                "\t};",
            ]
        else:
            lines += [
                f"\t{node.label}: flash@{node.base:x} {{",
                '\t\tcompatible = "soc-nv-flash";',
                f"\t\treg = <{_hex(node.base)} {_hex(node.size or 0x100000)}>;",
                f"\t\terase-block-size = <{_hex(node.erase_block)}>;",
                f"\t\twrite-block-size = <{_hex(node.write_block)}>;",
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
    from .analysis import check  # the rules import this module's mapping

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
            role = image.role if image else "other"
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


# ------------------------------------------------------------------ command


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


def migrate_command(args: argparse.Namespace, ctx: Context) -> int:
    """Print (or write with --output DIR) the overlays, then verify them (exit 1 on drift)."""
    from .assemble import load_build
    from .commands.common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, build_dirs
    from .inputs.locate import NoBuildDirectory

    fmt = args.format or "text"
    if fmt not in ("text", "json"):
        ctx.stderr.write(f"pmdoctor: migrate prints text or json, not {fmt}\n")
        return EXIT_USAGE
    try:
        directories = build_dirs(args.build_dir, ctx)
    except NoBuildDirectory as error:
        ctx.stderr.write(f"pmdoctor: {error}\n")
        return EXIT_USAGE
    reports, drift = [], False
    for directory in directories:
        build = load_build(directory, ctx.environment)
        try:
            overlays = plan(build)
        except MigrateError as error:
            ctx.stderr.write(f"pmdoctor: {error}\n")
            return EXIT_USAGE
        trip = verify(build, overlays)
        drift = drift or not trip.clean
        reports.append((build, overlays, trip))
    if args.output:
        files = [(o.destination, o.text) for _, overlays, _ in reports for o in overlays]
        try:
            write_files(Path(ctx.cwd, args.output), files, force=args.force)
        except WriteRefused as refusal:
            ctx.stderr.write(f"pmdoctor: {refusal}\n")
            return EXIT_USAGE
        except OSError as error:
            ctx.stderr.write(f"pmdoctor: cannot write {one_line(args.output)}: {error.strerror or error}\n")
            return EXIT_USAGE
    out = _json(reports) if fmt == "json" else _text(reports, args.output)
    ctx.stdout.write(out)
    return EXIT_FINDINGS if drift else EXIT_OK


class WriteRefused(Exception):
    """A destination that will not be written (and so nothing was): the message names it and says why."""

    def __init__(self, path: Path, why: str):
        super().__init__(f"refusing to write {one_line(path)}: {why}")


def write_files(folder: Path, files: List[Tuple[str, str]], force: bool = False) -> None:
    """Write each ``(relative path, text)`` below ``folder``: all of them, or none.

    Every destination is checked before anything is written. Refused (raises
    :class:`WriteRefused`): a path that leaves ``folder``, one given twice, a
    symbolic link at the destination or at any folder between ``folder`` and
    it (a link would send the write elsewhere), an existing file unless
    ``force`` (it may hold the user's hand edits). Each file goes to a
    temporary file in its own folder, renamed over the destination, so no
    reader ever sees half a file.
    """
    targets = [_checked_destination(folder, relative, force) for relative, _ in files]
    seen = set()
    for target in targets:
        if target in seen:
            raise WriteRefused(target, "two overlays would go to this file")
        seen.add(target)
    for target, (_, text) in zip(targets, files):
        _replace_atomically(target, text)


def _checked_destination(folder: Path, relative: str, force: bool) -> Path:
    parts = PurePath(relative).parts
    if not parts or PurePath(relative).anchor or ".." in parts:
        raise WriteRefused(folder / relative, f"the path leaves {one_line(folder)}")
    if folder.exists() and not folder.is_dir():
        raise WriteRefused(folder, "it exists and is not a folder")
    current = folder
    for part in parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise WriteRefused(current, "it is a symbolic link (migrate never writes through one)")
        if current.exists() and not current.is_dir():
            raise WriteRefused(current, "it exists and is not a folder")
    target = current / parts[-1]
    if target.is_symlink():
        raise WriteRefused(target, "it is a symbolic link (migrate never writes through one)")
    if target.exists():
        if not target.is_file():
            raise WriteRefused(target, "it exists and is not a regular file")
        if not force:
            raise WriteRefused(target, "it already exists and may hold your edits (--force overwrites it)")
    return target


def _replace_atomically(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never open an existing file (or a link planted under this name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(temporary, flags, 0o666)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _text(reports, output: Optional[str]) -> str:
    lines: List[str] = []
    for build, overlays, trip in reports:
        sources = ", ".join(str(layout.file) for layout in source_layouts(build))
        lines.append(f"=== {build.path} — {len(overlays)} overlay(s) reproducing {sources}")
        for overlay in overlays:
            where = f"{output}/{overlay.destination}" if output else overlay.destination
            code = f", zephyr,code-partition = &{overlay.code_partition}" if overlay.code_partition else ""
            lines.append("")
            lines.append(f"--- {where}  [image {overlay.image}{code}]")
            lines += [f"keeps {line}" for line in overlay.kept]
            lines += [f"REVIEW {line}" for line in overlay.review]
            if not output:
                lines.append(overlay.text.rstrip())
        lines.append("")
        lines += _trip_lines(trip)
    return "\n".join(lines) + "\n"


def _trip_lines(trip: RoundTrip) -> List[str]:
    if trip.clean:
        return ["round trip: every overlay loads back to the same layout (PMD704: no drift)"]
    lines = ["round trip FAILED:"]
    lines += [f"  {error}" for error in trip.errors]
    lines += [f"  PMD704 [{f.image}] {f.message}" for f in trip.findings]
    return lines


def _json(reports) -> str:
    data = []
    for build, overlays, trip in reports:
        data.append(
            {
                "build": str(build.path),
                "sources": [str(layout.file) for layout in source_layouts(build)],
                "overlays": [
                    {
                        "image": o.image,
                        "domain": o.domain,
                        "file": o.destination,
                        "code_partition": o.code_partition,
                        "kept_labels": o.kept,
                        "review": o.review,
                        "text": o.text,
                    }
                    for o in overlays
                ],
                "round_trip": {
                    "clean": trip.clean,
                    "errors": trip.errors,
                    "drift": [{"image": f.image, "message": f.message} for f in trip.findings],
                },
            }
        )
    return json.dumps(data, indent=2) + "\n"


def is_external(image: Image, part: Partition) -> bool:
    """True when a devicetree partition sits on a NOR chip (off-chip flash)."""
    node = image.devicetree.nodes.get(part.device or "")
    return node is not None and is_nor(node)


__all__ = [
    "DtEquivalent",
    "MigrateError",
    "Overlay",
    "RoundTrip",
    "code_partition_for",
    "devicetree_equivalents",
    "is_external",
    "keep_referenced_labels",
    "migrate_command",
    "overlays_for",
    "partition_node_snippet",
    "plan",
    "source_layouts",
    "verify",
    "write_files",
]


def _build_relative(build: Build, path: Optional[Path]) -> str:
    """``build/partitions.yml``: the file as seen from the application directory."""
    if path is None:
        return "the Partition Manager layout"
    try:
        return (Path(build.path.name) / Path(path).relative_to(build.path)).as_posix()
    except ValueError:
        return Path(path).name
