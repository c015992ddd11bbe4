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
from typing import List, Optional, Sequence, TextIO, Tuple

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

COMMANDS = ("check", "fix", "map", "migrate", "triage")

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
        help="what to do (default: check the build directory; map: draw its layout)",
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
        action=_FormatAction,
        metavar="FORMAT[:FILE]",
        help=f"output format: {', '.join(FORMATS)} (default: text, or west config pmdoctor.format; "
        "auto: GitHub annotations under GitHub Actions, else text). Repeat for several reports: "
        "FORMAT:FILE writes to FILE; of the formats without a file, the first goes to standard "
        "output and a second to -o FILE",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="write the report to this file instead of standard output (with two --format: the "
        "second one's file; migrate: the directory for the .overlay files)",
    )
    parser.add_argument(
        "--fail-on",
        choices=[s.value for s in Severity],
        default=None,
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
    parser.add_argument(
        "--rule",
        action="append",
        metavar="ID",
        help="fix: only the fixes of this rule (ID or name; repeat for several)",
    )
    parser.add_argument(
        "--write", action="store_true", help="fix: apply the changes (default: show them as a diff)"
    )
    parser.add_argument(
        "--backup-dir",
        metavar="DIR",
        help="fix --write: keep the originals in DIR (default: FILE.orig beside each file)",
    )
    parser.add_argument(
        "--allow-layout-change",
        action="store_true",
        help="fix: also apply edits that move or resize partitions devices in the field use",
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
        "--width",
        type=_width,
        metavar="COLUMNS",
        help="map: columns to fit (default: the terminal's width; at least 80)",
    )
    parser.add_argument(
        "--map", action="store_true", help="check, triage: draw the layout in place of the text report"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show all evidence and the files read; on internal errors, the traceback",
    )
    add_batch_arguments(parser)
    return parser


def _width(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of columns: {text!r}") from None
    if not 80 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{value} columns: give 80 to 1000")
    return value


# ----------------------------------------------------- batches and several reports


def add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    """Many builds in one run, and reports to files beside the one on standard output."""
    parser.add_argument(
        "--recursive",
        action="append",
        metavar="DIR",
        help="check every build directory below DIR (twister-out/, a folder of builds; repeatable); "
        "sysbuild image folders are part of their build",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_positive,
        metavar="N",
        help="check N builds at a time (default: the number of CPUs); results keep their order",
    )
    for fmt in ("sarif", "junit", "json"):
        parser.add_argument(
            f"--{fmt}",
            metavar="FILE",
            dest=f"{fmt}_file",
            help=f"also write a {fmt.upper() if fmt != 'junit' else 'JUnit XML'} report to FILE "
            f"(same as --format {fmt}:FILE)",
        )
    parser.set_defaults(formats=())


class _FormatAction(argparse.Action):
    """``--format FORMAT[:FILE]``, repeatable: every one in ``formats``, the first without a file
    in ``format`` (the report on standard output, as before several were possible)."""

    def __call__(self, parser, namespace, values, option_string=None):
        fmt, colon, path = str(values).partition(":")
        if fmt not in FORMATS:
            parser.error(
                f"argument {option_string}: invalid choice: {fmt!r} (choose from {', '.join(FORMATS)})"
            )
        if colon and not path:
            parser.error(f"argument {option_string}: {values!r} names no file after the colon")
        namespace.formats = (*(getattr(namespace, "formats", None) or ()), (fmt, path or None))
        if not colon and getattr(namespace, "format", None) is None:
            namespace.format = fmt


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: give 1 or more")
    return value


# Options that do something only in some modes, as typed, and whether they were given.
_GIVEN = {
    "-d": lambda a: a.build_dir,
    "--recursive": lambda a: a.recursive,
    "--jobs": lambda a: a.jobs is not None,
    "--format": lambda a: a.formats,
    "-o": lambda a: a.output,
    "--sarif": lambda a: a.sarif_file,
    "--junit": lambda a: a.junit_file,
    "--json": lambda a: a.json_file,
    "--rules": lambda a: a.rules,
    "--baseline": lambda a: a.baseline,
    "--log": lambda a: a.log,
    "--soc": lambda a: a.soc,
    "--board": lambda a: a.board,
    "--force": lambda a: a.force,
    "--fail-on": lambda a: a.fail_on is not None,
    "--exit-zero": lambda a: a.exit_zero,
    "--sarif-root": lambda a: a.sarif_root,
}
_REPORTS = (
    "--format",
    "-o",
    "--sarif",
    "--junit",
    "--json",
    "--rules",
    "--fail-on",
    "--exit-zero",
    "--sarif-root",
)
# What each command uses (a command not listed here checks its own options).
_TAKES = {
    "check": {"-d", "--recursive", "--jobs", "--baseline", "--log", *_REPORTS},
    "triage": {"--soc", "--board", "--log", *_REPORTS},
    "migrate": {"-d", "--format", "-o", "--force"},
}
_INFO = ("--list-rules", "--explain", "--rules-doc")


def usage_problem(args: argparse.Namespace) -> Optional[str]:
    """A flag that would do nothing, or two that conflict: the one line that says so (exit 2)."""
    modes = [flag for flag, given in zip(_INFO, (args.list_rules, args.explain, args.rules_doc)) if given]
    given = [flag for flag, test in _GIVEN.items() if hasattr(args, "formats") and test(args)]
    if len(modes) > 1:
        return f"{modes[0]} and {modes[1]} cannot be combined: choose one"
    if modes:
        inert = given + (["PATH"] if args.paths else [])
        return f"{inert[0]} does nothing with {modes[0]}" if inert else None
    takes = _TAKES.get(args.command)
    inert = [flag for flag in given if takes is not None and flag not in takes]
    if not inert:
        return _several_reports(args)
    users = [command for command, flags in _TAKES.items() if inert[0] in flags]
    where = f" (it is for {' and '.join(users)})" if users else ""
    return f"{inert[0]} does nothing with {args.command}{where}"


def _several_reports(args: argparse.Namespace) -> Optional[str]:
    to_stdout = [fmt for fmt, path in args.formats if path is None]
    if len(to_stdout) > 2 or (len(to_stdout) == 2 and not args.output):
        return (
            f"--format {' and --format '.join(to_stdout)}: only one report can go to standard output; "
            f"give the others a file (--format {to_stdout[-1]}:FILE), or -o FILE for the second"
        )
    if args.command == "migrate" and len(args.formats) > 1:
        return "migrate prints one report: give --format once"
    return None


def report_files(args: argparse.Namespace) -> Tuple[Optional[str], Tuple[Tuple[str, str], ...]]:
    """Where the report on standard output goes instead (-o), and every further report (format, file)."""
    also: List[Tuple[str, str]] = []
    plain = [fmt for fmt, path in args.formats if path is None]
    output = args.output
    if len(plain) == 2:  # the first to standard output, the second to -o
        also.append((plain[1], args.output))
        output = None
    also += [(fmt, path) for fmt, path in args.formats if path is not None]
    also += [
        (fmt, getattr(args, f"{fmt}_file"))
        for fmt in ("sarif", "junit", "json")
        if getattr(args, f"{fmt}_file")
    ]
    return output, tuple(also)


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
    problem = usage_problem(args) if hasattr(args, "formats") else None
    if problem is not None:
        stderr.write(f"pmdoctor: {problem}\n")
        return EXIT_USAGE
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
    return _dispatch(args, ctx)


# Each subcommand's module is imported only when it runs.


def _check(args: argparse.Namespace, ctx: Context) -> int:
    from .commands.check import run_check

    if args.map:
        return _map(args, ctx)
    options = _check_options(args, ctx)
    return run_check(options, ctx) if options is not None else EXIT_USAGE


def _map(args: argparse.Namespace, ctx: Context) -> int:
    from .commands.map import run_map

    options = _check_options(args, ctx)
    return run_map(options, ctx) if options is not None else EXIT_USAGE


def _check_options(args: argparse.Namespace, ctx: Context):
    """What check and map take; None (and a message) when positional paths were given."""
    from .commands.check import CheckOptions

    if args.paths:
        ctx.stderr.write(f"pmdoctor: {args.command} takes build directories with -d, not positional paths\n")
        return None
    return CheckOptions(
        build_dirs=args.build_dir or (),
        rules=args.rules,
        baseline=args.baseline,
        logs=args.log or (),
        output=output_options(args),
        recursive=args.recursive or (),
        jobs=args.jobs,
    )


def _triage(args: argparse.Namespace, ctx: Context) -> int:
    from .commands.triage import TriageOptions, run_triage

    output = output_options(args)
    if args.map:
        from .commands.map import map_output

        output = map_output(output)
    options = TriageOptions(
        paths=args.paths,
        logs=args.log or (),
        soc=args.soc,
        board=args.board,
        rules=args.rules,
        output=output,
    )
    return run_triage(options, ctx)


def _migrate(args: argparse.Namespace, ctx: Context) -> int:
    from .commands.migrate import MigrateOptions, run_migrate

    options = MigrateOptions(args.build_dir or (), args.format, args.output, args.force)
    return run_migrate(options, ctx)


def _fix(args: argparse.Namespace, ctx: Context) -> int:
    from .commands.fix import FixOptions, run_fix

    if args.paths:
        ctx.stderr.write("pmdoctor: fix takes build directories with -d, not positional paths\n")
        return EXIT_USAGE
    options = FixOptions(
        build_dirs=args.build_dir or (),
        rules=[*(args.rule or ()), *([args.rules] if args.rules else [])],
        write=args.write,
        backup_dir=args.backup_dir,
        allow_layout_change=args.allow_layout_change,
        baseline=args.baseline,
        format=args.format,
    )
    return run_fix(options, ctx)


# Not a subcommand of `pmdoctor`: the pre-commit hook's own entry point (pre_commit_main) runs it.
_PRE_COMMIT = "pre-commit"


def _dispatch(args: argparse.Namespace, ctx: Context) -> int:
    return {_PRE_COMMIT: _pre_commit, **_DISPATCH}[args.command](args, ctx)


_DISPATCH = {"check": _check, "fix": _fix, "map": _map, "migrate": _migrate, "triage": _triage}


def output_options(args: argparse.Namespace) -> OutputOptions:
    """The report options every command shares, from the parsed command line."""
    output, also = report_files(args)
    return OutputOptions(
        format=args.format,
        output=output,
        fail_on=args.fail_on or "error",
        exit_zero=args.exit_zero,
        color=args.color,
        verbose=args.verbose,
        sarif_root=args.sarif_root,
        width=args.width,
        also=also,
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


PRE_COMMIT_DESCRIPTION = """\
Check pm_static*.yml files without a build (the pre-commit hook): schema,
layout and foreign-layout rules, each file on its own. Exit 1 when a file has
an error (or a finding at --fail-on), 2 when a file cannot be read as asked.
"""


def pre_commit_main(argv: Optional[Sequence[str]] = None) -> None:
    """``pmdoctor-pre-commit [--soc SOC] [--board BOARD] FILE…``: the pre-commit hook's entry point."""
    parser = argparse.ArgumentParser(prog="pmdoctor-pre-commit", description=PRE_COMMIT_DESCRIPTION)
    parser.add_argument(
        "files", nargs="*", metavar="FILE", help="static layout files (pre-commit passes them)"
    )
    parser.add_argument("--soc", metavar="SOC", help="the SoC (default: from the board and the layout)")
    parser.add_argument("--board", metavar="BOARD", help="the board (default: from pm_static_<board>.yml)")
    parser.add_argument(
        "--fail-on", choices=[s.value for s in Severity], default="error", help="default: error"
    )
    parser.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    parser.set_defaults(command=_PRE_COMMIT, list_rules=False, rules_doc=False, explain=None, verbose=False)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        sys.exit(EXIT_USAGE if exit_.code else EXIT_OK)
    sys.exit(run(args=args, command="pmdoctor"))  # hints in the report name pmdoctor itself


def _pre_commit(args: argparse.Namespace, ctx: Context) -> int:
    from .commands.precommit import PreCommitOptions, run_precommit

    output = OutputOptions(format="text", fail_on=args.fail_on, color=args.color)
    return run_precommit(PreCommitOptions(args.files, args.soc, args.board, output), ctx)


if __name__ == "__main__":  # pragma: no cover
    main()
