"""``--format github``: GitHub Actions workflow commands, one annotation per finding.

GitHub shows only a handful of annotations per step, so the most important
(ranked first) come first; every line also stays readable in a raw log.
"""

from __future__ import annotations

from typing import List

from ..analysis import Analysis
from ..model.findings import Finding, shown
from . import RenderOptions
from ._neutral import one_line, workflow_data, workflow_property
from .paths import display_path, relative_shower

_LEVELS = {"error": "error", "warning": "warning", "note": "notice"}


def _root(options: RenderOptions):
    """Annotations name files relative to the repository (GitHub resolves them from there)."""
    return options.sarif_root or options.cwd


def _command(finding: Finding, options: RenderOptions) -> str:
    # User values are made one-line first, so the only line breaks in the
    # data are the reporter's own (before "Fix:"), and those are escaped too.
    properties = []
    if finding.location.file is not None:
        where = one_line(display_path(finding.location.file, _root(options)))
        properties.append(f"file={workflow_property(where)}")
        if finding.location.line:
            properties.append(f"line={finding.location.line}")
    title = one_line(f"pmdoctor {finding.rule} {finding.name}")
    properties.append(f"title={workflow_property(title)}")
    show = relative_shower(_root(options))
    body = one_line(shown(finding.message, show))
    if finding.fixes:
        body += "\nFix: " + "; ".join(one_line(shown(fix.description, show)) for fix in finding.fixes)
    level = _LEVELS[finding.effective_severity.value]
    return f"::{level} {','.join(properties)}::{workflow_data(body)}"


def render(analyses: List[Analysis], options: RenderOptions) -> str:
    lines: List[str] = []
    for analysis in analyses:
        where = one_line(display_path(analysis.build.path, options.cwd) or ".")
        lines.append(f"::group::{workflow_data(f'pmdoctor {where}')}")
        lines += [_command(finding, options) for finding in analysis.findings]
        lines.append("::endgroup::")
    return "\n".join(lines) + "\n"
