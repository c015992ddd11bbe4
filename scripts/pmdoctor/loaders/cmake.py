"""Read ``CMakeCache.txt`` (``NAME:TYPE=VALUE`` lines)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict

from . import MISSING, file_problem, read_text

_ENTRY = re.compile(r"^([^#/][^:=]*):([A-Z]+)=(.*)$")


def parse_cmake_cache(text: str) -> Dict[str, str]:
    entries: Dict[str, str] = {}
    for line in text.splitlines():
        match = _ENTRY.match(line.strip())
        if match:
            entries[match.group(1)] = match.group(3)
    return entries


def load_cmake_cache(path: Path) -> Dict[str, str]:
    return parse_cmake_cache(read_text(path))


def is_build_dir(path: Path) -> bool:
    """A build directory is one with a CMakeCache.txt, as for ``west build``.

    Whatever is there counts: a CMakeCache.txt that is a folder or a FIFO is
    reported as unreadable (PMD001), not taken for a missing one.
    """
    return file_problem(path / "CMakeCache.txt") != MISSING
