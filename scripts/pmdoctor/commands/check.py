"""``pmdoctor [check]``: analyse build directories and report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence

from ..assemble import load_build
from ..baseline import BaselineError, load_baseline
from ..fixes.verify import checked_analysis as check
from ..inputs.locate import NoBuildDirectory
from .common import EXIT_USAGE, Context, OutputOptions, UsageError, absolute, build_dirs, emit, selected_rules


@dataclass(frozen=True)
class CheckOptions:
    build_dirs: Sequence[str] = ()  # -d, as typed; empty: as `west build` would find it
    rules: Optional[str] = None  # --rules
    baseline: Optional[str] = None  # --baseline
    logs: Sequence[str] = ()  # --log
    output: OutputOptions = field(default_factory=OutputOptions)


def run_check(options: CheckOptions, ctx: Context) -> int:
    try:
        selected = selected_rules(options.rules)
        directories = build_dirs(options.build_dirs, ctx)
        baselines = load_baseline(ctx.cwd / options.baseline) if options.baseline else []
        logs = absolute(options.logs, ctx)
        missing = [str(path) for path in logs if not path.is_file()]
        if missing:
            raise UsageError(f"no such log file: {', '.join(missing)}")
    except (UsageError, NoBuildDirectory, BaselineError) as error:
        ctx.stderr.write(f"pmdoctor: {error}\n")
        return EXIT_USAGE
    analyses: List = []
    for directory in directories:
        build = load_build(directory, ctx.environment, logs=logs)
        build.baselines = baselines
        analyses.append(check(build, selected))
    return emit(analyses, options.output, ctx)
