"""``pmdoctor [check]``: analyse build directories and report.

One build or a thousand (``-d`` repeated, ``--recursive DIR``): each is
checked and written out as it finishes (:mod:`.batch`), in worker processes
with ``--jobs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

from ..baseline import BaselineError, load_baseline
from ..inputs.locate import NoBuildDirectory
from .common import (
    EXIT_USAGE,
    Context,
    OutputOptions,
    UsageError,
    absolute,
    plan_reports,
    selected_rules,
)


@dataclass(frozen=True)
class CheckOptions:
    """What ``pmdoctor check`` was asked to do, as parsed from its command line."""

    build_dirs: Sequence[str] = ()  # -d, as typed; empty: as `west build` would find it
    rules: Optional[str] = None  # --rules
    baseline: Optional[str] = None  # --baseline
    logs: Sequence[str] = ()  # --log
    output: OutputOptions = field(default_factory=OutputOptions)
    recursive: Sequence[str] = ()  # --recursive: every build directory below each
    jobs: Optional[int] = None  # --jobs: worker processes (None: the CPUs this process may use)


def run_check(options: CheckOptions, ctx: Context) -> int:
    from .batch import available_cpus, build_targets, job_for, write_reports

    try:
        selected = selected_rules(options.rules)
        targets = build_targets(options.build_dirs, options.recursive, ctx)
        baselines = load_baseline(ctx.cwd / options.baseline) if options.baseline else []
        logs = absolute(options.logs, ctx)
        missing = [str(path) for path in logs if not path.is_file()]
        if missing:
            raise UsageError(f"no such log file: {', '.join(missing)}")
        reports = plan_reports(options.output, ctx)
        job = job_for(
            reports,
            options.output,
            rules=tuple(selected) if selected else None,
            baselines=tuple(baselines),
            logs=tuple(logs),
            environment=ctx.environment,
        )
        return write_reports(targets, job, reports, ctx, options.jobs or available_cpus())
    except (UsageError, NoBuildDirectory, BaselineError) as error:
        ctx.stderr.write(f"pmdoctor: {error}\n")
        return EXIT_USAGE
