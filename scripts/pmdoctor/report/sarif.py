"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning and other viewers."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path, PurePath, PureWindowsPath
from typing import Any, Dict, List, Optional

from .. import __version__
from ..analysis import Analysis
from ..model.findings import Finding, Fix, shown
from ..rules import Rule, load_all
from . import RenderOptions
from .paths import source_shower
from .stream import Failure, Piece, Stream, Totals, first_rule, json_close, json_frame, json_item, whole


def _rule(rule: Rule) -> Dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.doc},
        "help": {"text": rule.doc, "markdown": rule.doc},
        "defaultConfiguration": {"level": rule.severity.value},
        "properties": {"tags": [rule.family]},
    }


SRCROOT = "%SRCROOT%"


def _root(options: RenderOptions) -> Optional[Path]:
    return options.sarif_root or options.cwd


def _artifact(path, options: RenderOptions) -> Dict[str, Any]:
    """A repository-relative URI (against ``%SRCROOT%``) when the file is below the root.

    GitHub code scanning matches results to files by repository-relative
    URIs; files elsewhere (the SDK, a build outside the repository) keep an
    absolute ``file:`` URI.
    """
    if isinstance(path, PureWindowsPath) or not Path(path).is_absolute():
        return {"uri": PurePath(str(path)).as_posix()}
    root = _root(options)
    relative = _below(Path(path), root) if root is not None else None
    if relative is None:
        return {"uri": Path(path).as_uri()}
    return {"uri": relative.as_posix(), "uriBaseId": SRCROOT}


def _below(path: Path, root: Path) -> Optional[PurePath]:
    # Compare as given and resolved: the cwd may be reached through a symlink.
    try:
        return path.relative_to(root)
    except ValueError:
        pass
    try:
        return path.resolve().relative_to(root.resolve())
    except (OSError, ValueError, RuntimeError):  # elsewhere, a NUL in a name, or a link loop
        return None


def _display(path, options: RenderOptions) -> str:
    """A path in a message: relative to the repository root when below it (as the URIs are)."""
    artifact = _artifact(path, options)
    return artifact["uri"] if artifact.get("uriBaseId") == SRCROOT else str(path)


def _result(finding: Finding, index: int, options: RenderOptions) -> Dict[str, Any]:
    show = source_shower(lambda path: _display(path, options))
    text = shown(finding.message, show)
    for symptom in finding.observed:
        text += f"\nExplains {show(symptom.source)}: {symptom.text.strip()}"
    if finding.fixes:
        text += "\nFix: " + "; ".join(shown(fix.description, show) for fix in finding.fixes)
    fingerprint = hashlib.sha256(
        # surrogatepass: a partition name may hold a lone surrogate (a YAML "\ud800" escape)
        "\0".join((finding.rule, finding.image or "", finding.domain or "", *finding.subject)).encode(
            "utf-8", "surrogatepass"
        )
    ).hexdigest()[:32]
    result: Dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": finding.effective_severity.value,
        "message": {"text": text},
        "partialFingerprints": {"pmdoctor/v1": fingerprint},
    }
    sarif_fixes = [change for fix in finding.fixes if (change := _fix(fix, show, options)) is not None]
    if sarif_fixes:
        result["fixes"] = sarif_fixes
    if finding.location.file is not None:
        region = {"startLine": finding.location.line} if finding.location.line else {}
        physical: Dict[str, Any] = {"artifactLocation": _artifact(finding.location.file, options)}
        if region:
            physical["region"] = region
        result["locations"] = [{"physicalLocation": physical}]
    return result


def _fix(fix: Fix, show, options: RenderOptions) -> Optional[Dict[str, Any]]:
    """A mechanical fix as SARIF ``fixes[]``, where an insertion says it exactly.

    SARIF describes a change as replaced regions. A new file is all insertion. An
    overlay addition must go at the end of an existing overlay (devicetree: what
    comes later wins, so a `/delete-property/` above the line it deletes would be
    undone), and a static-layout key or a Kconfig line is replaced in place: none
    of those is a region pmdoctor knows without reading the file (reporters read
    no file), so those fixes stay in the message and `pmdoctor fix` applies them.
    """
    if not fix.mechanical or any(edit.target.exists for edit in fix.edits):
        return None
    texts: Dict[Any, List[str]] = {}
    for edit in fix.edits:  # one insertion per file: two at the same place would be ambiguous
        texts.setdefault(edit.target.file, []).append(edit.text + "\n")
    changes = [
        {
            "artifactLocation": _artifact(file, options),
            "replacements": [
                {
                    "deletedRegion": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1},
                    "insertedContent": {"text": "".join(parts)},
                }
            ],
        }
        for file, parts in texts.items()
    ]
    return {"description": {"text": shown(fix.description, show)}, "artifactChanges": changes}


def _base_ids(options: RenderOptions) -> Dict[str, Any]:
    root = _root(options)
    if root is None:
        return {}
    try:
        uri = Path(root).resolve().as_uri() + "/"
    except (OSError, ValueError, RuntimeError):  # a link loop given as --sarif-root
        uri = Path(root).absolute().as_uri() + "/"
    return {"originalUriBaseIds": {SRCROOT: {"uri": uri}}}


def _document(options: RenderOptions, failures: List[Failure]) -> Dict[str, Any]:
    run: Dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "pmdoctor",
                "version": __version__,
                "rules": [_rule(rule) for rule in load_all().values()],
            }
        },
        "results": [],
    }
    if failures:  # build directories that could not be checked: the tool's own notifications
        run["invocations"] = [
            {
                "executionSuccessful": False,
                "toolExecutionNotifications": [_notification(failure, options) for failure in failures],
            }
        ]
    run.update(_base_ids(options))
    return {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [run]}


def _notification(failure: Failure, options: RenderOptions) -> Dict[str, Any]:
    where = _display(failure.path, options)
    return {
        "level": "error",
        "message": {"text": f"{where}: {failure.message}"},
        "locations": [{"physicalLocation": {"artifactLocation": _artifact(failure.path, options)}}],
    }


class SarifStream(Stream):
    """One run: the rules, then every build's results, then the notifications of failed builds."""

    separator = ","

    def head(self, totals: Totals, options: RenderOptions) -> str:
        return json_frame(_document(options, []), ("runs", 0, "results"))[0]

    def piece(self, analysis: Analysis, options: RenderOptions) -> Piece:
        index = _rule_index()
        indent = _indent()
        text = ",".join(
            json_item(_result(finding, index[finding.rule], options), indent) for finding in analysis.findings
        )
        return Piece(text, {"results": len(analysis.findings)}, first_rule(analysis))

    def failed(self, failure: Failure, options: RenderOptions) -> Piece:
        return Piece("", failure=failure)

    def tail(self, totals: Totals, options: RenderOptions) -> str:
        tail = json_frame(_document(options, totals.failures), ("runs", 0, "results"))[2]
        return json_close(tail, empty=not totals.count("results")) + "\n"


@lru_cache(maxsize=1)
def _rule_index() -> Dict[str, int]:
    return {rule_id: position for position, rule_id in enumerate(load_all())}


@lru_cache(maxsize=1)
def _indent() -> str:
    """How deep a result sits in the document (the same in any document of this shape)."""
    return json_frame({"runs": [{"results": []}]}, ("runs", 0, "results"))[1]


STREAM = SarifStream()


def render(analyses: List[Analysis], options: RenderOptions) -> str:
    return whole(STREAM, analyses, options)
