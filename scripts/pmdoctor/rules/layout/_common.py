"""What the layout rules share."""

from __future__ import annotations

from typing import List, Optional

from ...model import Build, LayoutKind, Partition
from ...model.findings import Finding, Fix, Severity
from .._shared.edit_helpers import static_target, target_words
from .._shared.layouts import (
    Checked,
    edit_path,
    hexrange,
    where_to_edit,
)


def layout_finding(
    build: Build,
    checked: Checked,
    parts: List[Partition],
    message: str,
    fix: str,
    severity: Optional[Severity] = None,
    evidence: Optional[List[str]] = None,
    cure: Optional[Fix] = None,
) -> Finding:
    """A finding on partitions of a layout; ``cure`` replaces the plain-words fix built from ``fix``."""
    layout = checked.layout
    return Finding(
        message=message,
        location=parts[0].source,
        image=checked.image,
        domain=layout.domain,
        evidence=evidence or [f"{p.name}: {hexrange(p)} in {p.region}" for p in parts],
        fixes=[cure or Fix(fix + where_to_edit(build, layout), edit_path(build, layout))],
        severity=severity,
        subject=(layout.kind.value, *(p.name for p in parts)),
    )


def extent_parts(parts: List[Partition]) -> List[Partition]:
    return [p for p in parts if p.has_extent and p.size > 0]


def region_words(region: str) -> str:
    return f"flash device {region[3:]}" if region.startswith("dt:") else f"region {region}"


def layout_advice(build: Build, checked: Checked, words: str) -> Fix:
    """Advice on a layout, pointing at the file the build reads for it (never partitions.yml)."""
    layout = checked.layout
    if layout.kind is LayoutKind.DEVICETREE or edit_path(build, layout) is not None:
        return Fix(words + where_to_edit(build, layout), edit_path(build, layout))
    target = static_target(build, layout.domain)
    return Fix(
        f"{words}; partitions.yml is generated, so copy it to {target_words(target)} "
        "and make the change there",
        target.file,
    )
