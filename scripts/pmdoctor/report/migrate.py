"""``migrate``'s report: the planned overlays and the round trip's verdict, as text or JSON."""

from __future__ import annotations

import json
import os
from typing import List, Optional

from ..fixes.migrate import RoundTrip, source_layouts


def render_text(reports, output: Optional[str]) -> str:
    lines: List[str] = []
    for build, overlays, trip in reports:
        sources = ", ".join(str(layout.file) for layout in source_layouts(build))
        lines.append(f"=== {build.path} — {len(overlays)} overlay(s) reproducing {sources}")
        for overlay in overlays:
            # os.path.join: `--output overlays/` must not print `overlays//`.
            where = os.path.join(output, overlay.destination) if output else overlay.destination
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


def render_json(reports) -> str:
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
