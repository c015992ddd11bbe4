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

A build directory that could not be checked (in a batch) keeps the keys above,
empty, and adds ``"error"``: why. Keys are only ever added, never renamed or removed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Tuple

from .. import __version__
from ..analysis import Analysis
from ..model.findings import Finding, Severity, shown
from . import RenderOptions
from ._edits import fix_data
from .paths import display_path, relative_shower
from .stream import (
    Failure,
    Piece,
    Stream,
    Totals,
    first_rule,
    json_close,
    json_frame,
    json_item,
    severity_counts,
    whole,
)


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


def failure_dict(failure: Failure, options: RenderOptions) -> Dict[str, Any]:
    """A build directory that could not be checked: the usual keys, empty, and ``error`` saying why."""
    return {
        "build_dir": display_path(failure.path, options.cwd) or ".",
        "era": None,
        "board": None,
        "soc": None,
        "images": [],
        "findings": [],
        "summary": {severity.value: 0 for severity in Severity},
        "error": failure.message,
    }


@lru_cache(maxsize=1)
def _frame() -> Tuple[str, str, str]:
    return json_frame({"tool": {"name": "pmdoctor", "version": __version__}, "builds": []}, ("builds",))


class JsonStream(Stream):
    """``{"tool": …, "builds": [`` + one object per build + ``]}``."""

    separator = ","

    def head(self, totals: Totals, options: RenderOptions) -> str:
        return _frame()[0]

    def piece(self, analysis: Analysis, options: RenderOptions) -> Piece:
        text = json_item(build_dict(analysis, options), _frame()[1])
        return Piece(text, severity_counts(analysis), first_rule(analysis))

    def failed(self, failure: Failure, options: RenderOptions) -> Piece:
        return Piece(json_item(failure_dict(failure, options), _frame()[1]), failure=failure)

    def tail(self, totals: Totals, options: RenderOptions) -> str:
        return json_close(_frame()[2], empty=not totals.builds) + "\n"


STREAM = JsonStream()


def render(analyses: List[Analysis], options: RenderOptions) -> str:
    return whole(STREAM, analyses, options)
