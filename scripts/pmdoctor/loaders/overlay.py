"""Find the ``chosen`` properties in devicetree overlays the user wrote.

Overlays are fragments: they use labels defined elsewhere and C
preprocessor ``#include`` lines, so dtlib cannot parse them on their own.
Only ``chosen { prop = <target>; };`` blocks are needed (to say which line
to drop or change), so a scanner that tracks brace depth is enough.
Comments are blanked first; anything it does not recognise is skipped.
Every step is linear in the text, whatever it holds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional, Tuple

from ..model import ChosenLine, Source
from . import LoadError, read_text
from .dts_source import SourceTooLarge, blank_comments

# An overlay has a few dozen statements; more than this is no overlay.
MAX_STATEMENTS = 200_000

_DELIMITER = re.compile(r"[{};]")
_NAME = re.compile(r"[A-Za-z0-9_,.+-]+")
_NON_SPACE = re.compile(r"\S")


def scan_chosen(text: str, path: Path) -> List[ChosenLine]:
    """Every ``prop = target;`` directly inside a ``chosen`` node, with its line.

    Text far larger than any overlay gives nothing here; the devicetree
    source reader says why.
    """
    try:
        return _scan(text, path)
    except SourceTooLarge:
        return []


def load_overlay_chosen(path: Path) -> List[ChosenLine]:
    try:
        return _scan(read_text(path), path)
    except SourceTooLarge as error:
        raise LoadError(path, f"overlay not read: {error}") from None


def _scan(text: str, path: Path) -> List[ChosenLine]:
    text = blank_comments(text)
    found: List[ChosenLine] = []
    depth = 0
    chosen_depth: Optional[int] = None  # brace depth of the chosen node's body while inside it
    start = 0  # where the text since the last ; { or } begins
    line, counted = 1, 0
    for count, match in enumerate(_DELIMITER.finditer(text)):
        if count >= MAX_STATEMENTS:
            raise SourceTooLarge(f"more than {MAX_STATEMENTS} statements")
        char = match.group(0)
        if char == "{":
            depth += 1
            if chosen_depth is None and text[start : match.start()].rstrip().endswith("chosen"):
                chosen_depth = depth
        elif char == "}":
            if chosen_depth is not None and depth == chosen_depth:
                chosen_depth = None
            depth -= 1
        elif chosen_depth is not None and depth == chosen_depth:
            assignment = _assignment(text[start : match.start()])
            if assignment:
                first = _NON_SPACE.search(text, start).start()  # the statement's line is its first word's
                line += text.count("\n", counted, first)
                counted = first
                found.append(ChosenLine(assignment[0], assignment[1], Source(path, line)))
        start = match.end()
    return found


def _assignment(statement: str) -> Optional[Tuple[str, str]]:
    """``name = value`` as (name, value with whitespace collapsed); None for anything else."""
    name, equals, value = statement.partition("=")
    name = name.strip()
    if not equals or not value or not _NAME.fullmatch(name):
        return None
    return name, " ".join(value.split())
