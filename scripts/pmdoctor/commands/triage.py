"""``pmdoctor triage PATH…``: diagnose loose forum attachments and report like ``check``.

Only the given files are read, and no Zephyr tree's code runs (not even
``$ZEPHYR_BASE``'s): the files come from strangers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

from ..assemble import triage_build
from ..fixes.verify import checked_analysis as check
from .common import EXIT_USAGE, Context, OutputOptions, UsageError, absolute, emit, selected_rules


@dataclass(frozen=True)
class TriageOptions:
    paths: Sequence[str] = ()
    logs: Sequence[str] = ()  # --log: more attachments, named as logs
    soc: Optional[str] = None
    board: Optional[str] = None
    rules: Optional[str] = None
    output: OutputOptions = field(default_factory=OutputOptions)


def run_triage(options: TriageOptions, ctx: Context) -> int:
    if not options.paths:
        ctx.stderr.write("pmdoctor: triage needs files or folders: pmdoctor triage FILE_OR_DIR…\n")
        return EXIT_USAGE
    paths, logs = absolute(options.paths, ctx), absolute(options.logs, ctx)
    missing = [str(p) for p in paths + logs if not p.exists()]
    if missing:
        ctx.stderr.write(f"pmdoctor: no such file or folder: {', '.join(missing)}\n")
        return EXIT_USAGE
    try:
        selected = selected_rules(options.rules)
    except UsageError as error:
        ctx.stderr.write(f"pmdoctor: {error}\n")
        return EXIT_USAGE
    build = triage_build(paths, options.soc, options.board, logs)
    return emit([check(build, selected)], options.output, ctx)
