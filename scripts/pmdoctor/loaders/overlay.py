"""Find the ``chosen`` properties in devicetree overlays the user wrote.

Overlays are fragments: they use labels defined elsewhere and C
preprocessor ``#include`` lines, so dtlib cannot parse them on their own.
Only ``chosen { prop = <target>; };`` blocks are needed (to say which line
to drop or change), so a line scanner that tracks brace depth is enough.
Comments are removed first; anything it does not recognise is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List

from ..model import ChosenLine, Source
from . import read_text

_TOKEN = re.compile(r"[{};]|[^{};]+")
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z0-9_,.+-]+)\s*=\s*(.+?)\s*$", re.DOTALL)
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def _strip_comments(text: str) -> str:
    """Blank out comments but keep line breaks, so line numbers stay right."""
    text = _BLOCK_COMMENT.sub(lambda match: "\n" * match.group(0).count("\n"), text)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def scan_chosen(text: str, path: Path) -> List[ChosenLine]:
    """Every ``prop = target;`` directly inside a ``chosen`` node, with its line."""
    found: List[ChosenLine] = []
    depth = 0
    chosen_depth = None  # brace depth of the chosen node's body while inside it
    pending, pending_line = "", 0  # text since the last ; { or }
    for number, line in enumerate(_strip_comments(text).splitlines(), start=1):
        for token in _TOKEN.findall(line):
            if token == "{":
                depth += 1
                if chosen_depth is None and pending.strip().endswith("chosen"):
                    chosen_depth = depth
            elif token == "}":
                if chosen_depth is not None and depth == chosen_depth:
                    chosen_depth = None
                depth -= 1
            elif token == ";":
                match = _ASSIGNMENT.match(pending)
                if match and chosen_depth is not None and depth == chosen_depth:
                    target = " ".join(match.group(2).split())
                    found.append(ChosenLine(match.group(1), target, Source(path, pending_line)))
            else:
                if not pending.strip():  # the statement starts on this line
                    pending_line = number
                pending += token
                continue
            pending = ""
    return found


def load_overlay_chosen(path: Path) -> List[ChosenLine]:
    return scan_chosen(read_text(path), path)
