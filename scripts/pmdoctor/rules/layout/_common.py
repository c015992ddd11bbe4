"""What the layout rules share."""

from __future__ import annotations

from typing import List, Optional

from ...model import Build, Partition
from ...model.findings import Finding, Fix, Severity
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
) -> Finding:
    layout = checked.layout
    return Finding(
        message=message,
        location=parts[0].source,
        image=checked.image,
        domain=layout.domain,
        evidence=evidence or [f"{p.name}: {hexrange(p)} in {p.region}" for p in parts],
        fixes=[Fix(fix + where_to_edit(build, layout), edit_path(build, layout))],
        severity=severity,
        subject=(layout.kind.value, *(p.name for p in parts)),
    )


def extent_parts(parts: List[Partition]) -> List[Partition]:
    return [p for p in parts if p.has_extent and p.size > 0]


def region_words(region: str) -> str:
    return f"flash device {region[3:]}" if region.startswith("dt:") else f"region {region}"
