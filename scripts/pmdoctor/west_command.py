"""``west pmdoctor``: a thin WestCommand over :func:`pmdoctor.cli.run`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

from west.commands import WestCommand

from .cli import DESCRIPTION, add_arguments, run
from .inputs.scope import Environment


class PmDoctor(WestCommand):
    def __init__(self) -> None:
        # `help` is positional and ignored by newer west (west-commands.yml
        # supplies it); an empty string works with west 1.x and main.
        super().__init__("pmdoctor", "", DESCRIPTION, requires_workspace=False)

    def do_add_parser(self, parser_adder):
        parser = parser_adder.add_parser(
            self.name,
            help="check Partition Manager / MCUboot / devicetree flash layouts of a build",
            description=self.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        return add_arguments(parser)

    def do_run(self, args, unknown):
        def config_get(option):
            return self.config.get(option) if self.has_config else None

        code = run(
            args=args,
            stdout=_unwrapped_stdout(args),
            config_get=config_get,
            command="west pmdoctor",
            environment=Environment.detect(west_zephyr=self._zephyr_project()),
        )
        if code:
            sys.exit(code)

    def _zephyr_project(self) -> Optional[Path]:
        """The workspace's zephyr project (west also exports it as ZEPHYR_BASE, which wins)."""
        if not self.topdir:
            return None
        configured = self.config.get("zephyr.base") if self.has_config else None
        return Path(self.topdir) / (configured or "zephyr")


def _unwrapped_stdout(args: argparse.Namespace):
    """Standard output as pmdoctor found it, for ``--color always``.

    west calls ``colorama.init()``, whose wrapper strips ANSI escapes whenever
    standard output is not a terminal: that would undo ``--color always`` in a
    pipe (``| less -R``). Every other choice keeps west's stream.
    """
    if getattr(args, "color", None) != "always":
        return None
    try:
        from colorama import initialise
    except ImportError:  # pragma: no cover - west depends on colorama
        return None
    wrapped = getattr(initialise, "wrapped_stdout", None)  # older colorama: set by init() only
    if wrapped is not None and sys.stdout is wrapped:
        return getattr(initialise, "orig_stdout", None)
    return None
