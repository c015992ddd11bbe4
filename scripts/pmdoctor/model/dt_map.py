"""Partition Manager partitions and the devicetree partitions that stand for them.

The node labels and ``label`` properties follow Nordic's ``pm_to_dts.py`` and
the aliases of ``flash_map_pm.h``; :data:`pmdoctor.model.names.PM_TO_DT` is the
table, extended here by the rules that need a whole layout to decide:

* ``mcuboot_primary`` (header pad + image) becomes ``slot0_partition``: the
  slot starts with the image header, and ``slot0_partition`` is the whole
  slot (``pm_to_dts.py`` reaches the same extent by mapping ``app`` and
  widening it by the pad). ``app`` is ``slot0_partition`` only without
  MCUboot, NSIB or TF-M around it.
* Containers and fillers (``mcuboot_pad``, ``mcuboot_primary_app``, ``tfm``,
  ``app_image``, the ``s0``/``s1`` wrappers, ``b0_container``/``b0n_container``,
  ``EMPTY_n`` …) get no node. With NSIB (``b0``), MCUboot is ``s0_image``, so
  ``mcuboot`` gets no ``boot_partition`` of its own. With TF-M,
  ``slot0_partition`` becomes a ``fixed-subpartitions`` node holding
  ``slot0_s_partition`` and ``slot0_ns_partition``.
* Any other plain partition keeps its PM name as node label, with ``-`` for
  ``_`` in its ``label`` property. Only flash regions (``flash_primary``,
  ``external_flash``) get nodes; RAM, ``otp``, ``bootconf`` and ``ram_flash``
  are not flash partitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from . import DEFAULT_PLACEMENT, Image, Layout, Partition, Source
from .drivers import is_nor
from .names import devicetree_names

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


def is_external(image: Image, part: Partition) -> bool:
    """True when a devicetree partition sits on a NOR chip (off-chip flash)."""
    node = image.devicetree.nodes.get(part.device or "")
    return node is not None and is_nor(node)


def hex_value(value: int) -> str:
    return f"0x{value:x}"


def partition_node_lines(
    entry: DtEquivalent, offset: int, indent: str, children: List[DtEquivalent]
) -> List[str]:
    labels = "".join(f"{label}: " for label in (entry.label, *entry.extra_labels))
    lines = [f"{indent}{labels}partition@{offset:x} {{"]
    if children:
        lines.append(f'{indent}\tcompatible = "fixed-subpartitions";')
    lines.append(f'{indent}\tlabel = "{entry.name}";')
    lines.append(f"{indent}\treg = <{hex_value(offset)} {hex_value(entry.size)}>;")
    if children:
        lines += [
            f"{indent}\tranges = <0x0 {hex_value(offset)} {hex_value(entry.size)}>;",
            f"{indent}\t#address-cells = <1>;",
            f"{indent}\t#size-cells = <1>;",
        ]
        for child in children:
            lines += partition_node_lines(child, child.address - entry.address, indent + "\t", [])
    lines.append(f"{indent}}};")
    return lines


def partition_node_snippet(flash_label: str, entry: DtEquivalent, base: int = 0) -> str:
    """One partition node inside its flash device, for fix suggestions."""
    body = partition_node_lines(entry, entry.address - base, "\t\t", [])
    return "\n".join([f"&{flash_label} {{", "\tpartitions {", *body, "\t};", "};"])
