"""PMD701 images-disagree-on-partitions."""

from __future__ import annotations

import re
from typing import Dict, Iterator, List

from ...model import Build, Era, Image, Layout, Partition
from ...model.dt_map import (
    DtEquivalent,
    is_external,
    partition_node_snippet,
)
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule
from .._shared.edit_helpers import overlay_fix, reg_value
from .._shared.layouts import hx
from .._shared.targets import devicetree_snippet
from ._common import devicetree_images, flash_label_of, reference_image, region_base, span_text

# Partitions every image that touches the slots must see identically.
_SHARED = re.compile(r"(boot|scratch|storage|b0n?|s[01]|slot\d+(_s|_ns)?)_partition")


@rule(
    "PMD701",
    "images-disagree-on-partitions",
    Severity.ERROR,
    rank=72,
    explains=("slot-unreachable", "boot-hang", "bad-image-magic"),
)
def images_disagree(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    In a devicetree-era build, compares the `boot_partition`, `slotN_partition`,
    `scratch_partition`, `storage_partition` and NSIB (`b0`/`s0`/`s1`)
    partitions of every image of a domain with the application's (the network
    core's in the `CPUNET` domain): address, size and the flash device they sit
    on must be the same.

    ## Why it matters
    Without Partition Manager every image reads its own devicetree, and MCUboot
    does not inherit the application's overlays. When MCUboot's slot1 is not
    where the application writes the update, MCUboot never finds the new image
    (or swaps garbage), and a `boot_partition` that differs means the
    application overwrites the bootloader.

    ## Example
    App: `slot1_partition: partition@82000 { reg = <0x82000 0x76000>; }`;
    MCUboot: `slot1_partition: partition@80000 { reg = <0x80000 0x78000>; }`.

    ## How to fix
    Put the partitions in one `.dtsi` and include it from the board overlay of
    every image (`boards/<board>.overlay`, `sysbuild/mcuboot/boards/<board>.overlay`),
    so all images share one layout.

    Mechanical when the partition sits on the same flash device in both
    images: one overlay edit giving the other image's node the reference's
    `reg`, in that image's overlay. Advice when it sits on another device:
    the node must move to that device's `partitions`, which an overlay can
    only do by deleting and re-creating it.
    """
    if build.era is not Era.DEVICETREE:
        return
    by_domain: Dict[str, List[Image]] = {}
    for image in devicetree_images(build):
        by_domain.setdefault(image.domain or "", []).append(image)
    for domain in sorted(by_domain):
        members = by_domain[domain]
        reference = reference_image(members)
        for other in members:
            if other is reference:
                continue
            yield from _disagreements(build, reference, other)


def _disagreements(build: Build, reference: Image, other: Image) -> Iterator[Finding]:
    mine, theirs = reference.devicetree.layout, other.devicetree.layout
    for name in sorted(set(mine.partitions) & set(theirs.partitions)):
        if not _SHARED.fullmatch(name):
            continue
        ref, part = mine.partitions[name], theirs.partitions[name]
        differences = _differences(ref, part, reference, other)
        if not differences:
            continue
        base = region_base(mine, ref)
        yield Finding(
            message=(
                f"{other.name} and {reference.name} see different {name}: {'; '.join(differences)}. "
                f"{other.name} uses its own devicetree, so it looks for the partition somewhere else"
            ),
            location=part.source,
            image=other.name,
            domain=other.domain,
            evidence=[
                Text(
                    f"{reference.name}: {name} {span_text(ref.address, ref.size)} on {ref.device} (",
                    ref.source,
                    ")",
                ),
                Text(
                    f"{other.name}: {name} {span_text(part.address, part.size)} on {part.device} (",
                    part.source,
                    ")",
                ),
            ],
            fixes=[_same_partition(build, reference, other, mine, ref, part, base)],
            subject=(other.name, name),
        )


def _same_partition(
    build: Build, reference: Image, other: Image, layout: Layout, ref: Partition, part: Partition, base: int
) -> Fix:
    """The other image's node gets the reference's `reg`; a partition on another device needs moving."""
    words = (
        f"give {other.name} the same {ref.name} as {reference.name} (best: one shared "
        "partitions .dtsi included by every image's overlay)"
    )
    same_device = ref.region == part.region and is_external(reference, ref) == is_external(other, part)
    if same_device and ref.address is not None and ref.size is not None:
        reg = reg_value(ref.address - base, ref.size)
        return overlay_fix(build, other, [(f"&{ref.name}", "reg", reg)], words)
    return devicetree_snippet(build, other, _node_snippet(reference, layout, ref, base), words)


def _differences(ref: Partition, part: Partition, reference: Image, other: Image) -> List[str]:
    found = []
    if ref.address != part.address:
        found.append(f"starts at {hx(part.address)} in {other.name}, {hx(ref.address)} in {reference.name}")
    if ref.size != part.size:
        found.append(f"is {hx(part.size)} bytes in {other.name}, {hx(ref.size)} in {reference.name}")
    if is_external(reference, ref) != is_external(other, part) or (
        ref.device != part.device and ref.region != part.region
    ):
        found.append(f"sits on {part.device} in {other.name}, on {ref.device} in {reference.name}")
    return found


def _node_snippet(image: Image, layout: Layout, part: Partition, base: int) -> str:
    node = image.devicetree.nodes.get(part.dt_path or "")
    label = node.props.get("label") if node is not None else None
    entry = DtEquivalent(
        label=part.name,
        name=label if isinstance(label, str) else part.name.replace("_partition", "").replace("_", "-"),
        pm_name=part.name,
        address=part.address or 0,
        size=part.size or 0,
        external=False,
        source=part.source,
    )
    return partition_node_snippet(flash_label_of(layout, part), entry, base)
