"""``--format concise``: one line per finding, ``path:line: ID severity message`` (as ruff and yamllint).

Paths are relative to the current directory, so editors and terminals open
them with a click. A finding without a file names the build directory. A
clean build prints nothing; the exit code says how it went.
"""

from __future__ import annotations

from typing import List

from ..analysis import Analysis
from ..model.findings import Finding, shown
from . import RenderOptions
from ._neutral import one_line
from .paths import near_path, near_shower
from .stream import Failure, Piece, Stream, first_rule, severity_counts, whole

_COLORS = {"error": "\x1b[91m", "warning": "\x1b[93m", "note": "\x1b[96m"}
_BOLD, _RESET = "\x1b[1m", "\x1b[0m"


def _line(finding: Finding, build_dir: str, options: RenderOptions) -> str:
    where = one_line(near_path(finding.location.file, options.cwd)) if finding.location.file else build_dir
    if finding.location.file is not None and finding.location.line:
        where += f":{finding.location.line}"
    severity = finding.effective_severity.value
    rule = one_line(finding.rule)
    if options.color:
        severity, rule = f"{_COLORS[severity]}{severity}{_RESET}", f"{_BOLD}{rule}{_RESET}"
    message = one_line(shown(finding.message, near_shower(options.cwd)))
    return f"{where}: {rule} {severity} {message}"


class ConciseStream(Stream):
    def piece(self, analysis: Analysis, options: RenderOptions) -> Piece:
        build_dir = one_line(near_path(analysis.build.path, options.cwd) or ".")
        text = "".join(_line(finding, build_dir, options) + "\n" for finding in analysis.findings)
        return Piece(text, severity_counts(analysis), first_rule(analysis))

    def failed(self, failure: Failure, options: RenderOptions) -> Piece:
        where = one_line(near_path(failure.path, options.cwd) or ".")
        return Piece(f"{where}: not checked: {one_line(failure.message)}\n", failure=failure)


STREAM = ConciseStream()


def render(analyses: List[Analysis], options: RenderOptions) -> str:
    return whole(STREAM, analyses, options)
