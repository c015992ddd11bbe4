"""``pmdoctor map`` and ``triage --map``: the layout drawn in the terminal, findings marked.

``map`` is ``check`` whose text report is the map (:mod:`pmdoctor.report.map`):
the build is found, assembled and checked the same way, the exit code means
the same, and ``--format html`` (or json …) renders as it would for check.
"""

from __future__ import annotations

from dataclasses import replace

from .check import CheckOptions, run_check
from .common import Context, OutputOptions

# The renderer the map uses in place of the text report (report.renderers()).
MAP_RENDERER = "map"


def map_output(output: OutputOptions) -> OutputOptions:
    """The map in place of the text report; any other format the user chose stays."""
    if output.format in (None, "text"):
        return replace(output, format=MAP_RENDERER)
    return output


def run_map(options: CheckOptions, ctx: Context) -> int:
    return run_check(replace(options, output=map_output(options.output)), ctx)
