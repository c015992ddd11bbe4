"""``--format json``: the documented, stable machine-readable shape.

    {"tool": {"name", "version"},
     "builds": [{"build_dir", "era", "board", "soc", "images",
                 "findings": [{"rule", "name", "severity", "message", "image", "domain",
                               "location": {"file", "line"}, "evidence",
                               "fixes": [{"description", "file", "snippet", "status", "mechanical",
                                          "checked", "conflict", "field_warning",
                                          "edits": [{"kind", "action", "file", "convention",
                                                     "creates_file", "outside_source", "text", …}]}]}],
                 "summary": {"error", "warning", "note"},
                 "inferred": {"board"|"soc": {"value", "evidence", "confidence"}}, …}]}

Keys are only ever added, never renamed or removed.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

from .. import __version__
from ..analysis import Analysis
from ..model.findings import Finding, shown
from . import RenderOptions
from ._edits import fix_data
from .paths import display_path, relative_shower


def finding_dict(finding: Finding, options: RenderOptions) -> Dict[str, Any]:
    show = relative_shower(options.cwd)
    return {
        "rule": finding.rule,
        "name": finding.name,
        "severity": finding.effective_severity.value,
        "message": shown(finding.message, show),
        "image": finding.image,
        "domain": finding.domain,
        "location": {
            "file": display_path(finding.location.file, options.cwd) or None,
            "line": finding.location.line,
        },
        "evidence": [
            *(f"explains {show(s.source)}: {s.text.strip()} — {s.meaning}" for s in finding.observed),
            *(shown(item, show) for item in finding.evidence),
        ],
        "fixes": [
            {
                "description": shown(fix.description, show),
                "file": display_path(fix.file, options.cwd) or None,
                "snippet": fix.snippet,
                **fix_data(fix, lambda path: display_path(path, options.cwd) or None),
            }
            for fix in finding.fixes
        ],
        "observed": [
            {
                "symptom": s.id,
                "text": s.text.strip(),
                "meaning": s.meaning,
                "file": display_path(s.source.file, options.cwd) or None,
                "line": s.source.line,
            }
            for s in finding.observed
        ],
    }


def build_dict(analysis: Analysis, options: RenderOptions) -> Dict[str, Any]:
    build = analysis.build
    return {
        "build_dir": display_path(build.path, options.cwd) or ".",
        "era": build.era.value,
        "board": build.board,
        "soc": build.soc,
        "images": [image.name for image in build.images],
        "findings": [finding_dict(f, options) for f in analysis.findings],
        "summary": analysis.summary,
        "sysbuild": build.sysbuild,
        "partition_manager": build.partition_manager,
        "static_files": [display_path(s.path, options.cwd) for s in build.static_files],
        "versions": {"ncs": build.ncs_version, "zephyr": build.zephyr_version},
        # Triage and --log: what each file was taken for, or why it could not be used.
        "inputs": [
            {
                "path": display_path(item.path, options.cwd),
                "taken_as": item.taken_as or None,
                "image": item.image,
                "detail": item.detail,
            }
            for item in build.inputs
        ],
        "notes": [shown(note, relative_shower(options.cwd)) for note in build.notes],
        # Facts pmdoctor inferred, each with the signal it came from.
        "inferred": {
            name: {"value": fact.value, "evidence": fact.evidence, "confidence": fact.confidence.value}
            for name, fact in build.inferred.items()
        },
        "wanted": list(build.wanted),
    }


def render(analyses: List[Analysis], options: RenderOptions) -> str:
    document = {
        "tool": {"name": "pmdoctor", "version": __version__},
        "builds": [build_dict(a, options) for a in analyses],
    }
    return json.dumps(document, indent=2) + "\n"
