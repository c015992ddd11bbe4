"""``--format github``: GitHub Actions workflow commands, one annotation per finding.

GitHub shows only a handful of annotations per step, so the most important
(ranked first) come first; every line also stays readable in a raw log.
"""

from __future__ import annotations

from typing import List

from ..analysis import Analysis
from ..findings import Finding
from . import RenderOptions
from .paths import display_path

_LEVELS = {"error": "error", "warning": "warning", "note": "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(finding: Finding, options: RenderOptions) -> str:
    properties = []
    if finding.location.file is not None:
        properties.append(f"file={_escape_property(display_path(finding.location.file, options.cwd))}")
        if finding.location.line:
            properties.append(f"line={finding.location.line}")
    properties.append(f"title={_escape_property(f'pmdoctor {finding.rule} {finding.name}')}")
    body = finding.message
    if finding.fixes:
        body += "\nFix: " + "; ".join(fix.description for fix in finding.fixes)
    level = _LEVELS[finding.effective_severity.value]
    return f"::{level} {','.join(properties)}::{_escape_data(body)}"


def render(analyses: List[Analysis], options: RenderOptions) -> str:
    lines: List[str] = []
    for analysis in analyses:
        where = display_path(analysis.build.path, options.cwd) or "."
        lines.append(f"::group::pmdoctor {where}")
        lines += [_command(finding, options) for finding in analysis.findings]
        lines.append("::endgroup::")
    return "\n".join(lines) + "\n"
