"""What every command shares: its context, where build directories come from, and writing the report."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Sequence, TextIO, Tuple

from ..inputs.locate import build_key, build_top, find_build_dir
from ..inputs.scope import Environment, real
from ..report import RenderOptions

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

ConfigGet = Callable[[str], Optional[str]]


@dataclass(frozen=True)
class Context:
    """What a command needs besides its options: west's config, the streams, where it runs."""

    config_get: ConfigGet
    stdout: TextIO
    stderr: TextIO
    cwd: Path
    command: str = "pmdoctor"  # how the user ran pmdoctor, so hints name a command that works
    environment: Environment = field(default_factory=Environment)


class UsageError(Exception):
    """The command cannot run as asked; the message is the one line the user sees (exit 2)."""


@dataclass(frozen=True)
class OutputOptions:
    """How the report is rendered and where it goes, and what makes the exit code 1."""

    format: Optional[str] = None  # None: west config pmdoctor.format, else text
    output: Optional[str] = None
    fail_on: str = "error"
    exit_zero: bool = False
    color: str = "auto"
    verbose: bool = False
    sarif_root: Optional[str] = None
    # Further reports of the same run, each (format, file): --format sarif:FILE, --sarif FILE …
    also: Tuple[Tuple[str, str], ...] = ()
    width: Optional[int] = None  # columns for the text report (None: the terminal's, or 100)


def build_dirs(explicit: Optional[Sequence[str]], ctx: Context) -> List[Path]:
    """``-d`` as given (each build once), else the one ``west build`` would use
    (``build.dir-fmt``, cwd, ./build)."""
    if explicit:
        found = [find_build_dir(explicit=d, cwd=ctx.cwd, command=ctx.command) for d in explicit]
        return distinct(found)
    board = ctx.config_get("build.board") or os.environ.get("BOARD")
    return [find_build_dir(dir_fmt=ctx.config_get("build.dir-fmt"), cwd=ctx.cwd, board=board)]


def distinct(directories: Iterable[Path]) -> List[Path]:
    """Each build once: ``-d build`` twice, or ``-d build -d build/mcuboot`` of a sysbuild build."""
    seen = {}
    for directory in directories:
        seen.setdefault(build_key(directory), build_top(directory))
    return list(seen.values())


def selected_rules(spec: Optional[str]) -> Optional[List[str]]:
    """``--rules PMD101,slot-size-mismatch`` → rule IDs; an unknown name is a usage error."""
    if not spec:
        return None
    from ..rules import find

    selected = []
    for item in spec.split(","):
        rule = find(item)
        if rule is None:
            raise UsageError(f"unknown rule {item.strip()!r} (see --list-rules)")
        selected.append(rule.id)
    return selected


def absolute(paths: Iterable[str], ctx: Context) -> List[Path]:
    """Paths the user typed, relative to where the command runs (an absolute one stays absolute)."""
    return [ctx.cwd / path for path in paths]


def emit(analyses: list, output: OutputOptions, ctx: Context) -> int:
    """Render analyses in the chosen formats, write them, and compute the exit code."""
    from ..report import renderer, streamer
    from ..report.stream import whole

    try:
        for report in plan_reports(output, ctx):
            stream = streamer(report.fmt)
            if stream is not None:
                text = whole(stream, analyses, report.options)
            else:
                text = renderer(report.fmt)(analyses, report.options)
            write_document(report, text, ctx)
    except UsageError as error:
        ctx.stderr.write(f"pmdoctor: {error}\n")
        return EXIT_USAGE
    findings = [finding for analysis in analyses for finding in analysis.findings]
    return findings_exit_code(findings, output.fail_on, output.exit_zero)


def findings_exit_code(findings: Iterable, fail_on: str, exit_zero: bool) -> int:
    """1 when a finding is at or above ``--fail-on`` (unless ``--exit-zero``), else 0."""
    from ..model.findings import Severity

    threshold = Severity(fail_on)
    failing = any(finding.effective_severity.at_least(threshold) for finding in findings)
    return EXIT_FINDINGS if failing and not exit_zero else EXIT_OK


def write_document(report: Report, text: str, ctx: Context) -> None:
    """One whole report to standard output or its file (UsageError when the file cannot be written)."""
    if report.path is None:
        ctx.stdout.write(text)
        return
    try:
        with open(Path(ctx.cwd, report.path), "a" if report.append else "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        raise UsageError(f"cannot write {report.path}: {error.strerror or error}") from None


@dataclass(frozen=True)
class Report:
    """One report of a run: its format, where it goes (None: standard output), how it is rendered."""

    fmt: str
    path: Optional[str]
    options: RenderOptions
    append: bool = False  # $GITHUB_STEP_SUMMARY collects every step's summary


def plan_reports(output: OutputOptions, ctx: Context, step_summary: bool = True) -> List[Report]:
    """Every report this run writes, resolved: the format (``auto``, west config), colour, width, root.

    The first goes to standard output, or to ``-o``; each of ``output.also`` to its file. Under
    GitHub Actions a table of the builds is also appended to ``$GITHUB_STEP_SUMMARY``.
    """
    from ..report import AUTO, FORMATS

    # The command line's choices are checked by argparse (and `map` sets its own
    # renderer); only a format from west's configuration needs checking here.
    fmt = output.format or ctx.config_get("pmdoctor.format") or "text"
    if output.format is None and fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} in west config pmdoctor.format")
    wanted = [(fmt, output.output), *output.also]
    targets = [str(real(ctx.cwd / path)) for _, path in wanted if path is not None]
    repeated = next((path for path in targets if targets.count(path) > 1), None)
    if repeated is not None:
        raise UsageError(f"two reports would be written to {repeated}")
    github = os.environ.get("GITHUB_ACTIONS") == "true"
    reports = []
    for chosen, path in wanted:
        if chosen == AUTO:  # annotations where GitHub reads them: its log, not a file
            chosen = "github" if github and path is None else "text"
        reports.append(Report(chosen, path, _render_options(chosen, path, output, ctx)))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary and github and summary:
        options = _render_options("step-summary", summary, output, ctx)
        reports.append(Report("step-summary", summary, options, append=True))
    return reports


def _render_options(fmt: str, path: Optional[str], output: OutputOptions, ctx: Context):
    terminal = path is None and is_terminal(ctx.stdout)
    return RenderOptions(
        color=use_color(output.color, terminal, ctx),
        cwd=ctx.cwd,
        verbose=output.verbose,
        command=ctx.command,
        # SARIF URIs and GitHub annotations name files relative to the repository.
        sarif_root=sarif_root(output.sarif_root, ctx.cwd) if fmt in ("sarif", "github") else None,
        width=output.width or (terminal_width() if terminal else None),
    )


def use_color(choice: str, terminal: bool, ctx: Context) -> bool:
    """``--color``: always; never; auto — on a terminal, unless ``NO_COLOR`` or ``color.ui`` say no."""
    if choice != "auto":
        return choice == "always"
    if not terminal or os.environ.get("NO_COLOR"):  # no-color.org: any non-empty value
        return False
    return ctx.config_get("color.ui") not in ("false", "0", "no")


def terminal_width() -> int:
    """The terminal's columns (``$COLUMNS`` wins), at least 80."""
    import shutil

    return max(80, shutil.get_terminal_size().columns)


def is_terminal(stream: object) -> bool:
    """Whether ``stream`` is a terminal (False for a pipe, a file, a closed stream, a StringIO)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no such method, or a closed stream
        return False


def sarif_root(given: Optional[str], cwd: Path) -> Path:
    """``--sarif-root``, else the git work tree around the cwd (code scanning wants
    repository-relative URIs), else the cwd."""
    if given:
        return real(cwd / given)
    for directory in (cwd, *cwd.parents):
        if (directory / ".git").exists():  # a file in worktrees and submodules
            return directory
    return cwd
