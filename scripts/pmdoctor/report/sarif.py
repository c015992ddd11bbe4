"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning and other viewers."""

from __future__ import annotations

import difflib
import hashlib
import json
from pathlib import Path, PurePath, PureWindowsPath
from typing import Any, Dict, List, Optional

from .. import __version__
from ..analysis import Analysis
from ..fixes.apply import EditError, plan_file
from ..model.findings import Finding, Fix, shown
from ..rules import Rule, load_all
from . import RenderOptions
from .paths import source_shower


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
    # Only a checked edit is a SARIF fix: advice has no artifactChanges to offer.
    fixes = [_fix(fix, show, options) for fix in finding.fixes if fix.mechanical]
    fixes = [fix for fix in fixes if fix]
    if fixes:
        result["fixes"] = fixes
    if finding.location.file is not None:
        region = {"startLine": finding.location.line} if finding.location.line else {}
        physical: Dict[str, Any] = {"artifactLocation": _artifact(finding.location.file, options)}
        if region:
            physical["region"] = region
        result["locations"] = [{"physicalLocation": physical}]
    return result


def _fix(fix: Fix, show, options: RenderOptions) -> Optional[Dict[str, Any]]:
    """A mechanical fix as SARIF ``artifactChanges``: what ``pmdoctor fix --write`` would replace.

    Each file's change is computed as ``fix`` computes it (the same edits on
    the file as it is now), as character ranges of the current text. None
    when a file cannot be read or the edit no longer fits it.
    """
    changes = []
    files: Dict[Path, list] = {}
    for edit in fix.edits:
        files.setdefault(Path(edit.target.file), []).append((edit, "pmdoctor"))
    for path, edits in files.items():
        try:
            change = plan_file(path, edits)
        except (EditError, OSError):
            return None
        replacements = _replacements(change.before or "", change.after)
        if replacements:
            changes.append({"artifactLocation": _artifact(path, options), "replacements": replacements})
    if not changes:
        return None
    return {"description": {"text": shown(fix.description, show)}, "artifactChanges": changes}


def _replacements(before: str, after: str) -> List[Dict[str, Any]]:
    """The changed stretches of lines, as (character offset, length, new text) of ``before``."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    offsets = [0]
    for line in old:
        offsets.append(offsets[-1] + len(line))
    replacements = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        replacements.append(
            {
                "deletedRegion": {"charOffset": offsets[i1], "charLength": offsets[i2] - offsets[i1]},
                "insertedContent": {"text": "".join(new[j1:j2])},
            }
        )
    return replacements


def _base_ids(options: RenderOptions) -> Dict[str, Any]:
    root = _root(options)
    if root is None:
        return {}
    try:
        uri = Path(root).resolve().as_uri() + "/"
    except (OSError, ValueError, RuntimeError):  # a link loop given as --sarif-root
        uri = Path(root).absolute().as_uri() + "/"
    return {"originalUriBaseIds": {SRCROOT: {"uri": uri}}}


def render(analyses: List[Analysis], options: RenderOptions) -> str:
    rules = list(load_all().values())
    index = {rule.id: position for position, rule in enumerate(rules)}
    results = [
        _result(finding, index[finding.rule], options)
        for analysis in analyses
        for finding in analysis.findings
    ]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "pmdoctor",
                        "version": __version__,
                        "rules": [_rule(rule) for rule in rules],
                    }
                },
                "results": results,
                **_base_ids(options),
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
