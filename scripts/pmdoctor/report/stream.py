"""Reports in pieces: a head, one piece per build, a tail — so a batch never holds its builds.

A batch of a thousand builds renders each build's piece as soon as it is
checked (in a worker process, where the build lives and dies) and writes the
pieces in order between one head and one tail, so every format still yields
one valid document: one JSON object, one SARIF run, one JUnit
``<testsuites>``. A piece carries the few numbers the tail (or, for JUnit,
the head) needs, so nothing else of a build outlives it.

Each format module defines ``STREAM`` (a :class:`Stream`); its ``render()``
is :func:`whole` over it, so the one-shot output and the streamed one are
the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from . import RenderOptions

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis import Analysis


@dataclass(frozen=True)
class Failure:
    """A build directory that could not be checked: what the user gave, and why (one line)."""

    path: Path
    message: str
    exit_code: int  # 2: not a build directory, unreadable; 3: internal error (a bug)


@dataclass(frozen=True)
class Piece:
    """One build as one format renders it, and the additive figures its head and tail need."""

    text: str
    counts: Dict[str, int] = field(default_factory=dict)
    first_rule: Optional[str] = None  # the build's top finding: the tail's `--explain` hint
    failure: Optional[Failure] = None


@dataclass
class Totals:
    """What the head and tail know of the whole run: summed piece figures, and the failures."""

    builds: int = 0
    counts: Dict[str, int] = field(default_factory=dict)
    first_rule: Optional[str] = None
    failures: List[Failure] = field(default_factory=list)

    def add(self, piece: Piece) -> None:
        self.builds += 1
        for key, value in piece.counts.items():
            self.counts[key] = self.counts.get(key, 0) + value
        self.first_rule = self.first_rule or piece.first_rule
        if piece.failure is not None:
            self.failures.append(piece.failure)

    def count(self, key: str) -> int:
        return self.counts.get(key, 0)


class Stream:
    """A format, piece by piece. ``piece`` runs where the build is (a worker process)."""

    separator = ""  # between two pieces (an empty piece, a build without SARIF results, takes none)
    # The head needs the totals (JUnit's counts): the pieces wait in a spool file, not in memory.
    totals_first = False

    def head(self, totals: Totals, options: RenderOptions) -> str:
        return ""

    def piece(self, analysis: Analysis, options: RenderOptions) -> Piece:
        raise NotImplementedError

    def failed(self, failure: Failure, options: RenderOptions) -> Piece:
        raise NotImplementedError

    def tail(self, totals: Totals, options: RenderOptions) -> str:
        return ""


def severity_counts(analysis: Analysis) -> Dict[str, int]:
    """The finding counts a piece carries, so tails can total them."""
    return dict(analysis.summary)


def first_rule(analysis: Analysis) -> Optional[str]:
    return analysis.findings[0].rule if analysis.findings else None


def whole(stream: Stream, analyses: List[Analysis], options: RenderOptions) -> str:
    """The document in one string, from the same pieces a batch streams."""
    pieces = [stream.piece(analysis, options) for analysis in analyses]
    return join(stream, pieces, options)


def join(stream: Stream, pieces: List[Piece], options: RenderOptions) -> str:
    totals = Totals()
    for piece in pieces:
        totals.add(piece)
    body = stream.separator.join(piece.text for piece in pieces if piece.text)
    return stream.head(totals, options) + body + stream.tail(totals, options)


# ------------------------------------------------------------ JSON arrays

_MARK = "\0pmdoctor-pieces\0"


def json_frame(document: Dict[str, Any], path: Tuple[Any, ...]) -> Tuple[str, str, str]:
    """Split ``json.dumps(document, indent=2)`` around the list at ``path``.

    Returns ``(head, indent, tail)``: the text up to and with the list's
    ``[``, the indentation of its items, and the text after its last item (a
    newline, the ``]`` and the rest). With items rendered by :func:`json_item`
    the result is byte for byte what ``json.dumps`` gives for the whole
    document; with none, :func:`json_close` gives the ``[]`` it would.
    """
    import json  # here, not at the top: a text report needs no json module

    target: Any = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = [_MARK]
    text = json.dumps(document, indent=2)
    marker = json.dumps(_MARK)
    at = text.index(marker)
    line = text.rindex("\n", 0, at)
    return text[:line], text[line + 1 : at], text[at + len(marker) :]


def json_item(value: Any, indent: str) -> str:
    """One list item, indented as ``json.dumps(indent=2)`` places it (a leading newline included)."""
    import json

    return "\n" + indent + json.dumps(value, indent=2).replace("\n", "\n" + indent)


def json_close(tail: str, empty: bool) -> str:
    """The text after the list's items; ``json.dumps`` writes an empty list as ``[]``."""
    return tail.lstrip() if empty else tail
