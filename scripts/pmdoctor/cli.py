"""Command line: ``pmdoctor``, ``python -m pmdoctor`` and (through west_pmdoctor.py) ``west pmdoctor``.

:func:`run` takes argv and returns the exit code; it never lets a traceback
out. Exit codes: 0 nothing at or above ``--fail-on``, 1 findings at or above
it, 2 usage or input error, 3 internal error (a bug: please report it).
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
from pathlib import Path
from typing import Optional, Sequence, TextIO

from . import __version__
from .commands.common import (
    EXIT_FINDINGS,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    ConfigGet,
    Context,
    OutputOptions,
)
from .inputs.scope import Environment
from .model.findings import Severity
from .report import FORMATS

__all__ = ["EXIT_FINDINGS", "EXIT_INTERNAL", "EXIT_OK", "EXIT_USAGE", "main", "run"]

COMMANDS = ("check", "migrate", "triage")

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
        choices=FORMATS,
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


def _standalone_config(cwd: Path) -> ConfigGet:
    """West configuration of the workspace around ``cwd``, when there is one."""
    topdir = _west_topdir(cwd)
    if topdir is None:  # no workspace: west would find no configuration either
        return lambda option: None
    try:
        # Only now: importing west costs more than a whole check of a small build.
        from west.configuration import Configuration

        config = Configuration(topdir=topdir)
        return lambda option: config.get(option)
    except Exception:  # no west, or an unreadable config
        return lambda option: None


def _west_topdir(start: Path, fall_back: bool = True) -> Optional[str]:
    """The workspace around ``start`` as west finds it: the nearest directory holding ``.west/``,
    else (like west) the one around ``$ZEPHYR_BASE``."""
    directory = Path(start)
    for candidate in (directory, *directory.parents):
        if os.path.isdir(candidate / ".west"):
            return os.fspath(candidate)
    zephyr_base = os.environ.get("ZEPHYR_BASE")
    return _west_topdir(Path(zephyr_base), fall_back=False) if fall_back and zephyr_base else None


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
            import traceback  # only on this path: it is not cheap to import

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


def _run(args: argparse.Namespace, ctx: Context) -> int:
    stdout, stderr = ctx.stdout, ctx.stderr
    if args.list_rules or args.rules_doc or args.explain:
        from .report.explain import explain, list_rules, rules_markdown
        from .rules import find

        if args.list_rules:
            stdout.write(list_rules())
        elif args.rules_doc:
            stdout.write(rules_markdown())
        else:
            rule = find(args.explain)
            if rule is None:
                stderr.write(f"pmdoctor: unknown rule {args.explain!r} (see --list-rules)\n")
                return EXIT_USAGE
            stdout.write(explain(rule))
        return EXIT_OK
    return _DISPATCH[args.command](args, ctx)


# Each subcommand's module is imported only when it runs.


def _check(args: argparse.Namespace, ctx: Context) -> int:
    from .commands.check import CheckOptions, run_check

    if args.paths:
        ctx.stderr.write("pmdoctor: check takes build directories with -d, not positional paths\n")
        return EXIT_USAGE
    options = CheckOptions(
        build_dirs=args.build_dir or (),
        rules=args.rules,
        baseline=args.baseline,
        logs=args.log or (),
        output=output_options(args),
    )
    return run_check(options, ctx)


def _triage(args: argparse.Namespace, ctx: Context) -> int:
    from .commands.triage import TriageOptions, run_triage

    options = TriageOptions(
        paths=args.paths,
        logs=args.log or (),
        soc=args.soc,
        board=args.board,
        rules=args.rules,
        output=output_options(args),
    )
    return run_triage(options, ctx)


def _migrate(args: argparse.Namespace, ctx: Context) -> int:
    from .commands.migrate import MigrateOptions, run_migrate

    options = MigrateOptions(args.build_dir or (), args.format, args.output, args.force)
    return run_migrate(options, ctx)


_DISPATCH = {"check": _check, "migrate": _migrate, "triage": _triage}


def output_options(args: argparse.Namespace) -> OutputOptions:
    """The report options every command shares, from the parsed command line."""
    return OutputOptions(
        format=args.format,
        output=args.output,
        fail_on=args.fail_on,
        exit_zero=args.exit_zero,
        color=args.color,
        verbose=args.verbose,
        sarif_root=args.sarif_root,
    )


def main() -> None:
    code = run()
    _exit_now(code)
    sys.exit(code)  # when leaving at once is not safe


def _exit_now(code: int) -> None:
    """End the process at once, skipping the interpreter's teardown.

    The report is written; tearing down frees every module and object one by
    one, which takes longer than checking a small build. Only when nothing
    waits for the exit: no atexit handler is registered (logging registers
    one, for instance) and both streams flush cleanly; otherwise Python's own
    exit runs, and reports a failed flush as it always has.
    """
    registered = getattr(atexit, "_ncallbacks", None)
    if registered is None or registered():
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
