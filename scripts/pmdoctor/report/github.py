"""``--format github``: GitHub Actions workflow commands, one annotation per finding.

GitHub shows only a handful of annotations per step, so the most important
(ranked first) come first; every line also stays readable in a raw log.
Under GitHub Actions a table of the builds also goes to the job summary
(``$GITHUB_STEP_SUMMARY``), whatever the format.
"""

from __future__ import annotations

from typing import List

from ..analysis import Analysis
from ..model.findings import Finding, shown
from . import RenderOptions
from ._neutral import md_code, md_text, one_line, workflow_data, workflow_property
from .paths import display_path, relative_shower
from .stream import Failure, Piece, Stream, Totals, first_rule, severity_counts, whole

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


class GithubStream(Stream):
    """A ``::group::`` of annotations per build."""

    def piece(self, analysis: Analysis, options: RenderOptions) -> Piece:
        lines = [_group(analysis.build.path, options)]
        lines += [_command(finding, options) for finding in analysis.findings]
        lines.append("::endgroup::")
        return Piece("\n".join(lines) + "\n", severity_counts(analysis), first_rule(analysis))

    def failed(self, failure: Failure, options: RenderOptions) -> Piece:
        where = one_line(display_path(failure.path, _root(options)) or ".")
        title = workflow_property("pmdoctor could not check a build")
        lines = [
            _group(failure.path, options),
            f"::error title={title}::{workflow_data(one_line(f'{where}: {failure.message}'))}",
            "::endgroup::",
        ]
        return Piece("\n".join(lines) + "\n", failure=failure)


def _group(path, options: RenderOptions) -> str:
    where = one_line(display_path(path, options.cwd) or ".")
    return f"::group::{workflow_data(f'pmdoctor {where}')}"


STREAM = GithubStream()


def render(analyses: List[Analysis], options: RenderOptions) -> str:
    return whole(STREAM, analyses, options)


# ------------------------------------------------------------- job summary


class StepSummaryStream(Stream):
    """The table appended to ``$GITHUB_STEP_SUMMARY``: one row per build, its top findings named."""

    TOP = 3  # findings named per row; the full report has the rest

    def head(self, totals: Totals, options: RenderOptions) -> str:
        return "### pmdoctor\n\n| build | errors | warnings | notes | top findings |\n|---|--:|--:|--:|---|\n"

    def piece(self, analysis: Analysis, options: RenderOptions) -> Piece:
        counts = analysis.summary
        top = ", ".join(
            md_code(f"{finding.rule} {finding.name}", table=True) for finding in analysis.findings[: self.TOP]
        )
        if len(analysis.findings) > self.TOP:
            top += f" and {len(analysis.findings) - self.TOP} more"
        where = md_code(display_path(analysis.build.path, options.cwd) or ".", table=True)
        cells = [where, *(str(counts[s]) for s in ("error", "warning", "note")), top or "—"]
        return Piece("| " + " | ".join(cells) + " |\n", severity_counts(analysis), first_rule(analysis))

    def failed(self, failure: Failure, options: RenderOptions) -> Piece:
        where = md_code(display_path(failure.path, options.cwd) or ".", table=True)
        why = md_text(f"not checked: {failure.message}", table=True)
        return Piece(f"| {where} | — | — | — | {why} |\n", failure=failure)

    def tail(self, totals: Totals, options: RenderOptions) -> str:
        return "\n"


STEP_SUMMARY = StepSummaryStream()
