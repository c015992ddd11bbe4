"""Command line: ``pmdoctor``, ``python -m pmdoctor`` and (through west_pmdoctor.py) ``west pmdoctor``.

:func:`run` takes argv and returns the exit code; it never lets a traceback
out. Exit codes: 0 nothing at or above ``--fail-on``, 1 findings at or above
it, 2 usage or input error, 3 internal error (a bug: please report it).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, TextIO

from . import __version__, migrate, triage
from .api import Analysis, check
from .baseline import BaselineError, load_baseline
from .build import NoBuildDirectory, attach_logs, find_build_dir, load_build
from .explain import explain, list_rules, rules_markdown
from .findings import Severity
from .inputs.scope import Environment
from .report import RenderOptions, renderers
from .rules import find

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

ConfigGet = Callable[[str], Optional[str]]

DESCRIPTION = """\
Check the flash layout of a Zephyr / nRF Connect SDK build: Partition Manager
(partitions.yml, pm_static.yml), MCUboot slots, external flash and devicetree
partitions. Reads the build directory only; never changes a file.
"""


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options, shared by the standalone CLI and the west command."""
    parser.add_argument(
        "command",
        nargs="?",
        default="check",
        choices=sorted(COMMANDS),
        help="what to do (default: check the build directory)",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or folders, for commands that take them"
    )
    parser.add_argument(
        "-d",
        "--build-dir",
        action="append",
        metavar="DIR",
        help="build directory (repeat for several); default: as `west build`",
    )
    parser.add_argument(
        "-f",
        "--format",
        choices=sorted(renderers()),
        default=None,
        help="output format (default: text, or west config pmdoctor.format)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="write the report to this file instead of standard output "
        "(migrate: the directory for the .overlay files)",
    )
    parser.add_argument(
        "--fail-on",
        choices=[s.value for s in Severity],
        default="error",
        help="lowest severity that makes the exit code 1 (default: error)",
    )
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    parser.add_argument(
        "--force",
        action="store_true",
        help="migrate: overwrite .overlay files already in the --output directory",
    )
    parser.add_argument(
        "--rules", metavar="IDS", help="comma-separated rule IDs or names to run (default: all)"
    )
    parser.add_argument(
        "--baseline",
        metavar="PATH",
        help="layout deployed in the field (partitions.yml, pm_static.yml or a PM-era build "
        "directory): report every partition this build moved (PMD704)",
    )
    parser.add_argument(
        "--log",
        action="append",
        metavar="FILE",
        help="a console or build log (repeat for several): recognised lines rank the findings "
        "that explain them",
    )
    parser.add_argument("--soc", metavar="SOC", help="triage: the SoC when the attachments do not say")
    parser.add_argument("--board", metavar="BOARD", help="triage: the board when the attachments do not say")
    parser.add_argument("--explain", metavar="RULE", help="explain a rule (ID or name) and exit")
    parser.add_argument("--list-rules", action="store_true", help="list the rules and exit")
    parser.add_argument("--rules-doc", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--sarif-root",
        metavar="DIR",
        help="make SARIF file URIs relative to DIR (default: the git work tree around the "
        "current directory, else the current directory)",
    )
    parser.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour the text report (default: auto, on a terminal)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show all evidence; on internal errors, the traceback"
    )
    return parser


def build_parser(prog: str = "pmdoctor") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return add_arguments(parser)


def _selected_rules(spec: Optional[str]) -> Optional[List[str]]:
    if not spec:
        return None
    selected = []
    for item in spec.split(","):
        rule = find(item)
        if rule is None:
            raise ValueError(f"unknown rule {item.strip()!r} (see --list-rules)")
        selected.append(rule.id)
    return selected


def _standalone_config(cwd: Path) -> ConfigGet:
    """West configuration of the workspace around ``cwd``, when there is one."""
    try:
        from west.configuration import Configuration
        from west.util import west_topdir

        config = Configuration(topdir=west_topdir(start=cwd))
        return lambda option: config.get(option)
    except Exception:  # no workspace, no west, or an unreadable config
        return lambda option: None


def run(
    argv: Optional[Sequence[str]] = None,
    *,
    config_get: Optional[ConfigGet] = None,
    stdout: Optional[TextIO] = None,
    stderr: Optional[TextIO] = None,
    cwd: Optional[Path] = None,
    args: Optional[argparse.Namespace] = None,
    command: Optional[str] = None,
    environment: Optional[Environment] = None,
) -> int:
    """Run pmdoctor; return the exit code.

    ``command`` is how the user invoked it (``west pmdoctor``, ``pmdoctor``,
    ``python -m pmdoctor``), so that hints in the report name a command that works.
    ``environment`` names the trusted Zephyr tree (default: ``$ZEPHYR_BASE``).
    """
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    command = command or invoked_as()
    if args is None:
        try:
            args = build_parser(command).parse_args(argv)
        except SystemExit as exit_:  # argparse already printed the usage error
            return EXIT_USAGE if exit_.code else EXIT_OK
    cwd = Path(cwd or os.getcwd())
    config_get = config_get or _standalone_config(cwd)
    environment = environment or Environment.detect(cwd)
    try:
        return _run(args, Context(config_get, stdout, stderr, cwd, command, environment))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the promise: no traceback, ever, unless asked
        if getattr(args, "verbose", False):
            traceback.print_exc(file=stderr)
        stderr.write(
            f"pmdoctor: internal error: {type(exc).__name__}: {exc} "
            "(please report it with the build directory)\n"
        )
        return EXIT_INTERNAL


def invoked_as(argv0: Optional[str] = None) -> str:
    """``python -m pmdoctor`` or ``pmdoctor``, from how this process was started."""
    started = Path(argv0 if argv0 is not None else (sys.argv[0] if sys.argv else ""))
    module = started.name == "__main__.py" and started.parent.name == "pmdoctor"
    return "python -m pmdoctor" if module else "pmdoctor"


def _run(args, ctx: Context) -> int:
    stdout, stderr = ctx.stdout, ctx.stderr
    if args.list_rules:
        stdout.write(list_rules())
        return EXIT_OK
    if args.rules_doc:
        stdout.write(rules_markdown())
        return EXIT_OK
    if args.explain:
        rule = find(args.explain)
        if rule is None:
            stderr.write(f"pmdoctor: unknown rule {args.explain!r} (see --list-rules)\n")
            return EXIT_USAGE
        stdout.write(explain(rule))
        return EXIT_OK
    return COMMANDS[args.command](args, ctx)


@dataclass(frozen=True)
class Context:
    """What a command needs besides its arguments."""

    config_get: ConfigGet
    stdout: TextIO
    stderr: TextIO
    cwd: Path
    command: str = "pmdoctor"
    environment: Environment = field(default_factory=Environment)


def check_command(args: argparse.Namespace, ctx: Context) -> int:
    """The default command: analyse build directories and report."""
    if args.paths:
        ctx.stderr.write("pmdoctor: check takes build directories with -d, not positional paths\n")
        return EXIT_USAGE
    try:
        selected = _selected_rules(args.rules)
        directories = _build_dirs(args, ctx.config_get, ctx.cwd)
        baselines = load_baseline(ctx.cwd / args.baseline) if getattr(args, "baseline", None) else []
        logs = [ctx.cwd / name for name in args.log or []]  # an absolute name stays absolute
        missing = [str(path) for path in logs if not path.is_file()]
        if missing:
            raise ValueError(f"no such log file: {', '.join(missing)}")
    except (ValueError, NoBuildDirectory, BaselineError) as error:
        ctx.stderr.write(f"pmdoctor: {error}\n")
        return EXIT_USAGE
    analyses: List[Analysis] = []
    for directory in directories:
        build = load_build(directory, ctx.environment)
        build.baselines = baselines
        attach_logs(build, logs)
        analyses.append(check(build, selected))
    return emit(analyses, args, ctx)


def emit(analyses: List[Analysis], args: argparse.Namespace, ctx: Context) -> int:
    """Render analyses in the chosen format, write them, and compute the exit code."""
    config_get, stdout, stderr, cwd = ctx.config_get, ctx.stdout, ctx.stderr, ctx.cwd
    fmt = args.format or config_get("pmdoctor.format") or "text"
    if fmt not in renderers():
        stderr.write(f"pmdoctor: unknown format {fmt!r} in west config pmdoctor.format\n")
        return EXIT_USAGE
    stream_is_tty = args.output is None and hasattr(stdout, "isatty") and stdout.isatty()
    color = args.color == "always" or (
        args.color == "auto" and stream_is_tty and config_get("color.ui") not in ("false", "0", "no")
    )
    options = RenderOptions(
        color=color,
        cwd=cwd,
        verbose=args.verbose,
        command=ctx.command,
        sarif_root=_sarif_root(args, cwd) if fmt == "sarif" else None,
    )
    text = renderers()[fmt](analyses, options)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as error:
            stderr.write(f"pmdoctor: cannot write {args.output}: {error.strerror or error}\n")
            return EXIT_USAGE
    else:
        stdout.write(text)
    return _exit_code(analyses, Severity(args.fail_on), args.exit_zero)


# Subcommands: name -> handler(args, ctx) -> exit code.
COMMANDS: Dict[str, Callable[[argparse.Namespace, Context], int]] = {
    "check": check_command,
    "migrate": migrate.migrate_command,
    "triage": triage.triage_command,
}


def _sarif_root(args: argparse.Namespace, cwd: Path) -> Path:
    """``--sarif-root``, else the git work tree around the cwd (code scanning wants
    repository-relative URIs), else the cwd."""
    given = getattr(args, "sarif_root", None)
    if given:
        return (cwd / given).resolve()
    for directory in (cwd, *cwd.parents):
        if (directory / ".git").exists():  # a file in worktrees and submodules
            return directory
    return cwd


def _build_dirs(args, config_get: ConfigGet, cwd: Path) -> List[Path]:
    if args.build_dir:
        return [find_build_dir(explicit=d, cwd=cwd) for d in args.build_dir]
    board = config_get("build.board") or os.environ.get("BOARD")
    return [find_build_dir(dir_fmt=config_get("build.dir-fmt"), cwd=cwd, board=board)]


def _exit_code(analyses: List[Analysis], fail_on: Severity, exit_zero: bool) -> int:
    if exit_zero:
        return EXIT_OK
    failing = any(f.effective_severity.at_least(fail_on) for a in analyses for f in a.findings)
    return EXIT_FINDINGS if failing else EXIT_OK


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":  # pragma: no cover
    main()
