"""What every command shares: its context, where build directories come from, and writing the report."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Sequence, TextIO

from ..inputs.locate import find_build_dir
from ..inputs.scope import Environment, real

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


def build_dirs(explicit: Optional[Sequence[str]], ctx: Context) -> List[Path]:
    """``-d`` as given, else the one ``west build`` would use (``build.dir-fmt``, cwd, ./build)."""
    if explicit:
        return [find_build_dir(explicit=d, cwd=ctx.cwd) for d in explicit]
    board = ctx.config_get("build.board") or os.environ.get("BOARD")
    return [find_build_dir(dir_fmt=ctx.config_get("build.dir-fmt"), cwd=ctx.cwd, board=board)]


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
    """Render analyses in the chosen format, write them, and compute the exit code."""
    from ..model.findings import Severity
    from ..report import FORMATS, RenderOptions, renderer

    fmt = output.format or ctx.config_get("pmdoctor.format") or "text"
    if fmt not in FORMATS:
        ctx.stderr.write(f"pmdoctor: unknown format {fmt!r} in west config pmdoctor.format\n")
        return EXIT_USAGE
    stream_is_tty = output.output is None and hasattr(ctx.stdout, "isatty") and ctx.stdout.isatty()
    color = output.color == "always" or (
        output.color == "auto" and stream_is_tty and ctx.config_get("color.ui") not in ("false", "0", "no")
    )
    options = RenderOptions(
        color=color,
        cwd=ctx.cwd,
        verbose=output.verbose,
        command=ctx.command,
        # SARIF URIs and GitHub annotations name files relative to the repository.
        sarif_root=sarif_root(output.sarif_root, ctx.cwd) if fmt in ("sarif", "github") else None,
    )
    text = renderer(fmt)(analyses, options)
    if output.output:
        try:
            Path(ctx.cwd, output.output).write_text(text, encoding="utf-8")
        except OSError as error:
            ctx.stderr.write(f"pmdoctor: cannot write {output.output}: {error.strerror or error}\n")
            return EXIT_USAGE
    else:
        ctx.stdout.write(text)
    if output.exit_zero:
        return EXIT_OK
    fail_on = Severity(output.fail_on)
    failing = any(f.effective_severity.at_least(fail_on) for a in analyses for f in a.findings)
    return EXIT_FINDINGS if failing else EXIT_OK


def sarif_root(given: Optional[str], cwd: Path) -> Path:
    """``--sarif-root``, else the git work tree around the cwd (code scanning wants
    repository-relative URIs), else the cwd."""
    if given:
        return real(cwd / given)
    for directory in (cwd, *cwd.parents):
        if (directory / ".git").exists():  # a file in worktrees and submodules
            return directory
    return cwd
