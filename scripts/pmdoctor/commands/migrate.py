"""``pmdoctor migrate``: the devicetree overlays that keep a Partition Manager layout, verified.

Prints the overlays (or writes them with ``--output DIR``), then checks them
by a round trip: exit 1 when an overlay would move a partition.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ..assemble import load_build
from ..fixes.migrate import MigrateError, plan, verify
from ..fixes.write import WriteRefused, write_files
from ..inputs.locate import NoBuildDirectory
from ..report._neutral import one_line
from ..report.migrate import render_json, render_text
from .common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Context, build_dirs


@dataclass(frozen=True)
class MigrateOptions:
    build_dirs: Sequence[str] = ()
    format: Optional[str] = None  # text (default) or json
    output: Optional[str] = None  # the folder to write the overlays into
    force: bool = False  # overwrite overlays already there


def run_migrate(options: MigrateOptions, ctx: Context) -> int:
    fmt = options.format or "text"
    if fmt not in ("text", "json"):
        ctx.stderr.write(f"pmdoctor: migrate prints text or json, not {fmt}\n")
        return EXIT_USAGE
    try:
        directories = build_dirs(options.build_dirs, ctx)
    except NoBuildDirectory as error:
        ctx.stderr.write(f"pmdoctor: {error}\n")
        return EXIT_USAGE
    reports, drift = [], False
    for directory in directories:
        build = load_build(directory, ctx.environment)
        try:
            overlays = plan(build)
        except MigrateError as error:
            ctx.stderr.write(f"pmdoctor: {error}\n")
            return EXIT_USAGE
        trip = verify(build, overlays)
        drift = drift or not trip.clean
        reports.append((build, overlays, trip))
    if options.output:
        files = [(o.destination, o.text) for _, overlays, _ in reports for o in overlays]
        try:
            write_files(Path(ctx.cwd, options.output), files, force=options.force)
        except WriteRefused as refusal:
            ctx.stderr.write(f"pmdoctor: {one_line(str(refusal))}\n")
            return EXIT_USAGE
        except OSError as error:
            ctx.stderr.write(
                f"pmdoctor: cannot write {one_line(options.output)}: {error.strerror or error}\n"
            )
            return EXIT_USAGE
    out = render_json(reports) if fmt == "json" else render_text(reports, options.output)
    ctx.stdout.write(out)
    return EXIT_FINDINGS if drift else EXIT_OK
