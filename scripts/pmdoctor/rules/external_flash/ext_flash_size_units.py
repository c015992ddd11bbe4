"""PMD305 ext-flash-size-units."""

from __future__ import annotations

from typing import Iterator, Optional, Tuple

from ...model import Build
from ...model.findings import Finding, Severity, Text
from .. import rule
from .._shared import targets as fixes
from .._shared.common import next_power_of_two
from .._shared.layouts import hx
from ._common import CHOSEN, external_parts, node_label


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

    Mechanical: the `size` property in bits is appended to the application's overlay and checked against the
    chip's capacity.
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
            Text(f"size = <{hx(bits)}> bits = {hx(bits // 8)} bytes (", node.source, ")"),
            f"jedec-id {_jedec_text(node.props.get('jedec-id'))}: "
            + (f"{hx(capacity)} bytes" if capacity else "capacity unknown"),
        ]
        + ([f"static external partitions end at {hx(extent)}"] if extent else []),
        fixes=[
            fixes.overlay_fix(
                build,
                build.app,
                [fixes.node_set(node_label(node), "size", f"<{hx(correct_bits)}>")],
                f"give the chip size in bits ({hx(correct_bits)} bits = {_human(correct_bits // 8)})",
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
        ends += [part.end for part in external_parts(layout) if part.has_extent]
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
