"""PMD104 container-mismatch."""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

from ...model import Build, Layout, LayoutKind, Partition
from ...model.findings import Finding, Severity
from .. import rule
from .._shared.layouts import (
    KNOWN_SPANS,
    checked_layouts,
    hexrange,
    hx,
    static_twins,
)
from ._common import layout_finding


@rule("PMD104", "container-mismatch", Severity.ERROR, rank=65)
def container_mismatch(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Checks the arithmetic that ties partitions together: a container (`span`)
    must start at its first member and end at its last; every
    member must exist; `end_address` must equal `address + size`;
    `mcuboot_primary` must be exactly `mcuboot_pad` + `mcuboot_primary_app`,
    and must be a container, not a plain partition. Mismatches in containers
    MCUboot and NSIB do not boot through (`tfm_nonsecure`, `tfm_storage`,
    `app_image` …) are notes: NCS's own board layouts carry some.

    ## Why it matters
    MCUboot, the signing step and the flash map all read these numbers.
    When `mcuboot_primary` is smaller than the application it holds, the
    image is signed for the wrong slot size or overflows into the secondary
    slot; Partition Manager stops with "Error when inspecting …, invalid
    address" or "does not span over consecutive parts".

    ## Example
    ```yaml
    mcuboot_primary: {address: 0xe000, size: 0x61000, span: [mcuboot_pad, mcuboot_primary_app]}
    app: {address: 0xe200, size: 0xe6e00}      # ends far beyond mcuboot_primary
    ```

    ## How to fix
    Recompute containers from their members (or copy a generated
    `partitions.yml`); keep `mcuboot_pad` in front of the application.
    """
    for checked in checked_layouts(build):
        layout = checked.layout
        if layout.kind is LayoutKind.DEVICETREE:
            continue
        twins = static_twins(build, layout)
        for part in layout.partitions.values():
            for message, parts, severity in _container_problems(layout, part):
                if all(p.name in twins for p in parts):
                    continue
                yield layout_finding(
                    build,
                    checked,
                    parts,
                    message,
                    severity=severity,
                    fix=f"recompute `{part.name}` from the partitions it spans",
                )


def _boot_container(part: Partition) -> bool:
    """MCUboot and NSIB boot and update through these; TF-M and storage spans are bookkeeping."""
    return part.name.startswith(("mcuboot", "s0", "s1", "b0"))


def _container_problems(
    layout: Layout, part: Partition
) -> Iterator[Tuple[str, List[Partition], Optional[Severity]]]:
    """(message, partitions, severity override) for each inconsistency of `part`."""
    lesser = None if _boot_container(part) else Severity.NOTE
    if part.end_address is not None and part.end is not None and part.end_address != part.end:
        yield (
            f"`{part.name}` has end_address {hx(part.end_address)} but address + size is {hx(part.end)}",
            [part],
            None,
        )
    span = part.span
    if not span and part.name in KNOWN_SPANS:
        expected = [m for m in KNOWN_SPANS[part.name] if m in layout.partitions]
        if expected and part.has_extent:
            members = [layout.partitions[m] for m in expected]
            inside = all(m.has_extent and part.address <= m.address and m.end <= part.end for m in members)
            if not inside or sum(m.size or 0 for m in members) != part.size:
                yield (
                    f"`{part.name}` is a plain partition ({hexrange(part)}), not a container "
                    f"spanning {', '.join(KNOWN_SPANS[part.name])}; its members lie at "
                    + ", ".join(f"{m.name} {hexrange(m)}" for m in members),
                    [part, *members],
                    None,
                )
        return
    if not span or not part.has_extent:
        return
    absent = [m for m in span if m not in layout.partitions]
    missing = absent
    if layout.kind is LayoutKind.STATIC:
        missing = [m for m in missing if m != "app"]  # app is placed dynamically
    if missing:
        yield (
            f"container `{part.name}` spans {', '.join(missing)}, which "
            f"{'does' if len(missing) == 1 else 'do'} not exist",
            [part],
            lesser,
        )
    if absent:  # the members present cannot say where the container should end
        return
    members = [m for m in layout.members(part) if m.has_extent and m.size > 0]
    if not members:
        return
    low = min(m.address for m in members)
    high = max(m.end for m in members)
    if (low, high) != (part.address, part.end):
        yield (
            f"container `{part.name}` is {hexrange(part)} but its members "
            f"({', '.join(m.name for m in members)}) cover 0x{low:x}-0x{high:x}",
            [part, *members],
            lesser,
        )
