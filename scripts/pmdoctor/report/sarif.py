"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning and other viewers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, List

from .. import __version__
from ..api import Analysis
from ..build import display_path
from ..findings import Finding, where_seen
from ..rules import Rule, load_all
from . import RenderOptions


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


def _uri(path, options: RenderOptions) -> str:
    shown = display_path(path, options.cwd)
    candidate = Path(shown)
    return candidate.as_uri() if candidate.is_absolute() else candidate.as_posix()


def _result(finding: Finding, index: int, options: RenderOptions) -> Dict[str, Any]:
    text = finding.message
    for symptom in finding.observed:
        text += f"\nExplains {where_seen(symptom)}: {symptom.text.strip()}"
    if finding.fixes:
        text += "\nFix: " + "; ".join(fix.description for fix in finding.fixes)
    fingerprint = hashlib.sha256(
        "\0".join((finding.rule, finding.image or "", finding.domain or "", *finding.subject)).encode()
    ).hexdigest()[:32]
    result: Dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": finding.effective_severity.value,
        "message": {"text": text},
        "partialFingerprints": {"pmdoctor/v1": fingerprint},
    }
    if finding.location.file is not None:
        region = {"startLine": finding.location.line} if finding.location.line else {}
        physical = {"artifactLocation": {"uri": _uri(finding.location.file, options)}}
        if region:
            physical["region"] = region
        result["locations"] = [{"physicalLocation": physical}]
    return result


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
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
