"""A tolerant reader for devicetree *sources*: board ``.dts``, ``.dtsi``, ``.overlay`` fragments.

Forum attachments are rarely complete: an overlay ``#include``s files nobody
attached and patches nodes (``&mx25r64 { … };``) defined in a board file that
is not there. dtlib refuses such input, so this reader tokenises the text
itself and keeps whatever can be known: chosen properties, labelled nodes,
``status``, ``compatible``, ``size``, ``reg`` and fixed partitions. A node
patched through a label that no attached file defines becomes a placeholder
whose path is ``&label``; every unresolved include, label and macro is
recorded. It never raises on bad input: what it cannot read is a problem
string, and the rest is still used.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from ..model import Devicetree, DtNode, Source
from .devicetree import _KEPT_PROPS, _partition_layout, mask_escapes

# A hand-written source is small (an overlay has a few dozen statements, a SoC
# .dtsi a few thousand); these bound the work on anything else, so that triage
# stays quick on whatever is attached.
MAX_SOURCE_TOKENS = 200_000  # tokens and cell items of one image's sources together
MAX_SOURCE_DEPTH = 64
MAX_COMMENTS = 100_000  # comments and strings in one file
MAX_NAME = 256  # a name, label, reference or cell expression
MAX_STRING = 16 * 1024
# A kept property (size, label, status, ...) is a few cells or a short string.
MAX_KEPT_TEXT = 1024
MAX_KEPT_CELLS = 256

_WORD = re.compile(r"[A-Za-z0-9_,.+?#@/-]+:?")
_DIRECTIVE_TOKEN = re.compile(r"/[a-z-]+/")
_LABEL_REFERENCE = re.compile(r"&[A-Za-z_]\w*")
_ANGLES = re.compile(r"[<>]")
_PARENS = re.compile(r"[()]")
_NON_SPACE = re.compile(r"\S")
_CELL_START = re.compile(r"[^\s)]")
_CELL_WORD = re.compile(r"[^\s()]+")
_COMMENT_OR_STRING = re.compile(r'"|/\*|//')
_SIZE_MACRO = re.compile(r"DT_SIZE_([KM])\s*\(\s*(\d{1,12})\s*\)")
_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"\n]{1,256})[>"]')
_DEFINE = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)(.*)$")


class SourceTooLarge(ValueError):
    """More comments, tokens, nesting or longer names than any devicetree source has."""


class _Budget:
    """Tokens and cell items left for one call of :func:`parse_sources`."""

    def __init__(self, limit: int = MAX_SOURCE_TOKENS):
        self.left = limit

    def spend(self, count: int = 1) -> None:
        self.left -= count
        if self.left < 0:
            raise SourceTooLarge(f"more than {MAX_SOURCE_TOKENS} tokens")


@dataclass
class _Token:
    kind: str
    text: str
    line: int


@dataclass
class _Node:
    name: str
    labels: List[str]
    line: int
    props: Dict[str, Tuple[object, int]] = field(default_factory=dict)
    children: List[_Node] = field(default_factory=list)


@dataclass
class _Block:
    target: str  # "/" | "&label" | "&{/path}"
    node: _Node
    file: Path


@dataclass
class SourceTree:
    """What could be read from one image's devicetree sources, and what could not."""

    devicetree: Devicetree
    includes: List[str] = field(default_factory=list)
    unresolved_labels: List[str] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)


# ------------------------------------------------------------ tokenising


def blank_comments(text: str, limit: int = MAX_COMMENTS) -> str:
    """Blank out comments but keep every newline (and strings), so line numbers stay right.

    A string ends at its closing quote on the same line; a quote that is not
    closed on its line starts no string. One pass with ``str.find``: linear
    on any text. More than ``limit`` comments and strings raise
    :class:`SourceTooLarge`.
    """
    parts: List[str] = []
    code = mask_escapes(text)
    position = kept = count = 0
    line_end = dead_quotes = -1  # quotes before `dead_quotes` follow an unclosed one on their line
    while True:
        match = _COMMENT_OR_STRING.search(code, position)
        if match is None:
            break
        count += 1
        if count > limit:
            raise SourceTooLarge(f"more than {limit} comments and strings")
        start = match.start()
        if start > line_end:
            line_end = _line_end(text, start)
        if match.group() == '"':
            end = -1 if start < dead_quotes else code.find('"', start + 1, line_end)
            if end < 0:
                dead_quotes = line_end
            position = start + 1 if end < 0 else end + 1
            continue
        end = line_end if match.group() == "//" else _comment_end(text, start)
        parts += [text[kept:start], "\n".join(" " * len(line) for line in text[start:end].split("\n"))]
        kept = position = end
    parts.append(text[kept:])
    return "".join(parts)


def _line_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    return len(text) if end < 0 else end


def _comment_end(text: str, start: int) -> int:
    end = text.find("*/", start + 2)
    return len(text) if end < 0 else end + 2


_DIRECTIVE = re.compile(r"#\s*(include|define|undef|if|ifdef|ifndef|elif|else|endif|pragma|error|warning)\b")


_HASH_LINE = re.compile(r"#[^\n]*")


def _at_line_start(text: str, pattern: re.Pattern) -> Iterator[Tuple[int, re.Match]]:
    """(line start, match) for each line whose text after its blanks matches ``pattern``.

    ``pattern`` starts with a literal, so the search skips along in C; one
    match a line is tried, and each part of the text is read a fixed number
    of times (a ``^\\s*`` pattern under re.M rescans blank lines from every
    line start).
    """
    position = 0
    while True:
        match = pattern.search(text, position)
        if match is None:
            return
        line_start = text.rfind("\n", position, match.start()) + 1 or position
        if not text[line_start : match.start()].strip():
            yield line_start, match
        newline = text.find("\n", match.end())
        if newline < 0:
            return
        position = newline + 1


def _preprocess(text: str, includes: List[str], macros: Dict[str, str], budget: _Budget) -> str:
    """Record and empty the preprocessor lines; only lines starting with ``#`` are looked at."""
    parts = []
    kept = 0
    for line_start, match in _at_line_start(text, _HASH_LINE):
        budget.spend()
        line = text[line_start : match.end()]
        if not _DIRECTIVE.match(line.strip()):
            continue
        include = _INCLUDE.match(line)
        if include:
            includes.append(include.group(1))
        define = _DEFINE.match(line)
        value = define.group(2) if define else ""
        if value[:1].isspace() and value.strip():
            macros[define.group(1)] = value.strip()
        parts.append(text[kept:line_start])  # #if/#ifdef/#endif: both branches are kept
        kept = match.end()
    parts.append(text[kept:])
    return "".join(parts)


def _tokens(text: str, budget: _Budget) -> List[_Token]:
    tokens = []
    scanner = _Scanner(text)
    line = 1
    position = counted = 0
    while True:
        match = _NON_SPACE.search(text, position)
        if match is None:
            return tokens
        start = match.start()
        kind, position = scanner.token(start)
        budget.spend()
        line += text.count("\n", counted, start)
        counted = start
        tokens.append(_Token(kind, text[start:position], line))


class _Scanner:
    """Token kinds and ends, each found in time linear in the text.

    A bracket that never closes is remembered, so the next one is not looked
    for again to the end of the text.
    """

    def __init__(self, text: str):
        self.text = text
        self.code = mask_escapes(text)  # where strings end
        self.dead_quotes = self.no_bracket = self.no_brace = len(text) + 1

    def token(self, start: int) -> Tuple[str, int]:
        text = self.text
        char = text[start]
        if char == '"':
            end = -1 if start > self.dead_quotes else self.code.find('"', start + 1)
            if end < 0:
                self.dead_quotes = min(self.dead_quotes, start)
                return "other", start + 1
            if end - start > MAX_STRING:
                raise SourceTooLarge(f"a string of {end - start + 1} characters")
            return "string", end + 1
        if char == "<":
            end = _balanced_end(text, start, _ANGLES)
            return ("cells", end) if end > 0 else ("other", start + 1)
        if char == "[":
            end = -1 if start > self.no_bracket else text.find("]", start + 1)
            if end < 0:
                self.no_bracket = min(self.no_bracket, start)
                return "other", start + 1
            return "bytes", end + 1
        if char == "&":
            return self.reference(start)
        if char in "{};=,":
            return "punct", start + 1
        directive = _DIRECTIVE_TOKEN.match(text, start) if char == "/" else None
        if directive:
            return "directive", _short(start, directive.end())
        word = _WORD.match(text, start)
        if word is None:
            return "other", start + 1
        return "word", _short(start, word.end())

    def reference(self, start: int) -> Tuple[str, int]:
        text = self.text
        if text.startswith("&{", start):
            end = -1 if start > self.no_brace else text.find("}", start + 2)
            if end >= 0:
                return "ref", _short(start, end + 1)
            self.no_brace = min(self.no_brace, start)
        label = _LABEL_REFERENCE.match(text, start)
        return ("ref", _short(start, label.end())) if label else ("other", start + 1)


def _short(start: int, end: int) -> int:
    if end - start > MAX_NAME:
        raise SourceTooLarge(f"a name of {end - start} characters")
    return end


def _balanced_end(text: str, start: int, brackets: re.Pattern) -> int:
    """End of ``<…>`` or ``(…)`` at ``start``, holding pairs at most one level deep; -1 if not closed."""
    opening = text[start]
    nested = False
    position = start + 1
    while True:
        match = brackets.search(text, position)
        if match is None:
            return -1
        position = match.end()
        if match.group() != opening:
            if not nested:
                return position
            nested = False
        elif nested:
            return -1
        else:
            nested = True


# --------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, tokens: List[_Token], path: Path, problems: List[str], budget: _Budget):
        self.tokens = tokens
        self.index = 0
        self.path = path
        self.problems = problems
        self.budget = budget

    def peek(self, offset: int = 0) -> Optional[_Token]:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def take(self) -> Optional[_Token]:
        token = self.peek()
        self.index += 1
        return token

    def skip_statement(self, why: str, line: int) -> None:
        """Skip to the end of a statement (``;`` at this depth) or out of a broken block."""
        self.problems.append(f"{self.path.name}:{line}: {why}; skipped")
        depth = 0
        while (token := self.take()) is not None:
            if token.text == "{":
                depth += 1
            elif token.text == "}":
                depth -= 1
                if depth < 0:
                    self.index -= 1
                    return
            elif token.text == ";" and depth == 0:
                return

    def blocks(self) -> List[_Block]:
        blocks: List[_Block] = []
        while (token := self.peek()) is not None:
            if token.kind == "directive":
                self.skip_to_semicolon()
                continue
            labels = self.labels()
            token = self.peek()
            if token is None:
                break
            following = self.peek(1)
            if (token.text == "/" or token.kind == "ref") and following is not None and following.text == "{":
                self.index += 2
                node = _Node(token.text, labels, token.line)
                self.body(node, 1)
                blocks.append(_Block(token.text, node, self.path))
                continue
            self.skip_statement(f"cannot read {_shown(token.text)} at the top level", token.line)
            if self.peek() is not None and self.peek().text == "}":
                self.index += 1
        return blocks

    def skip_to_semicolon(self) -> None:
        while (token := self.take()) is not None and token.text != ";":
            if token.text in "{}":
                self.index -= 1
                return

    def labels(self) -> List[str]:
        labels = []
        while (token := self.peek()) is not None and token.kind == "word" and token.text.endswith(":"):
            labels.append(token.text[:-1])
            self.index += 1
        return labels

    def body(self, node: _Node, depth: int) -> None:
        """Read properties and child nodes up to the closing ``};``."""
        while (token := self.peek()) is not None:
            if token.text == "}":
                self.index += 1
                if self.peek() is not None and self.peek().text == ";":
                    self.index += 1
                return
            if token.kind == "directive":  # /delete-node/, /delete-property/
                self.skip_to_semicolon()
                continue
            labels = self.labels()
            name = self.take()
            if name is None:
                break
            following = self.peek()
            if name.kind not in ("word", "ref") or following is None:
                self.skip_statement(f"unexpected {_shown(name.text)}", name.line)
                continue
            if following.text == "{":
                if depth >= MAX_SOURCE_DEPTH:
                    raise SourceTooLarge(
                        f"nodes nested more than {MAX_SOURCE_DEPTH} levels deep (line {name.line})"
                    )
                self.index += 1
                child = _Node(name.text, labels, name.line)
                self.body(child, depth + 1)
                node.children.append(child)
            elif following.text == ";":
                self.index += 1
                node.props[name.text] = (True, name.line)
            elif following.text == "=":
                self.index += 1
                node.props[name.text] = (self.value(), name.line)
            else:
                self.skip_statement(
                    f"unexpected {_shown(following.text)} after {_shown(name.text)}", following.line
                )
        self.problems.append(f"{self.path.name}: node {node.name!r} is not closed (file cut off?)")

    def value(self) -> object:
        parts: List[_Token] = []
        while (token := self.peek()) is not None and token.text not in (";", "}", "{"):
            if token.text != ",":
                parts.append(token)
            self.index += 1
        if self.peek() is not None and self.peek().text == ";":
            self.index += 1
        if len(parts) == 1:
            return _atom(parts[0], self.budget)
        return tuple(_atom(part, self.budget) for part in parts)


def _shown(text: str) -> str:
    """A token as a problem quotes it: short."""
    return repr(text if len(text) <= 40 else text[:39] + "…")


def _atom(token: _Token, budget: _Budget) -> object:
    if token.kind == "string":
        return token.text[1:-1]
    if token.kind == "cells":
        return _Cells(token.text[1:-1], budget)
    return token.text  # a phandle reference (&label) or an unknown word


class _Cells(list):
    """The items of ``< … >``: ints where they evaluate, strings (``&label``, macros) otherwise."""

    def __init__(self, inner: str, budget: _Budget):
        super().__init__()
        inner = _SIZE_MACRO.sub(
            lambda m: str(int(m.group(2)) * (1024 if m.group(1) == "K" else 1024 * 1024)), inner
        )
        for item in _cell_items(inner):
            budget.spend()
            if len(item) > MAX_NAME:
                raise SourceTooLarge(f"a cell of {len(item)} characters")
            self.append(_number(item))


def _cell_items(inner: str) -> Iterator[str]:
    """``(expression)`` with pairs one level deep, ``&{/path}`` or a word; a stray parenthesis is skipped."""
    position = 0
    no_brace = len(inner) + 1
    while True:
        match = _CELL_START.search(inner, position)
        if match is None:
            return
        start = match.start()
        if inner[start] == "(":
            end = _balanced_end(inner, start, _PARENS)
            if end > 0:
                yield inner[start:end]
            position = end if end > 0 else start + 1
            continue
        if inner.startswith("&{", start) and start < no_brace:
            close = inner.find("}", start + 2)
            if close >= 0:
                yield inner[start : close + 1]
                position = close + 1
                continue
            no_brace = start
        word = _CELL_WORD.match(inner, start)
        yield word.group(0)
        position = word.end()


def _number(text: str) -> object:
    """An integer cell or a small constant expression; anything else stays text."""
    candidate = text.strip()
    if candidate.startswith("&"):
        return candidate
    try:
        return _evaluate(ast.parse(candidate, mode="eval").body)
    except (SyntaxError, ValueError, TypeError, ZeroDivisionError, RecursionError, MemoryError):
        return candidate


_OPERATORS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Div: lambda a, b: a // b,
    ast.BitOr: lambda a, b: a | b,
    ast.BitAnd: lambda a, b: a & b,
}


def _evaluate(node: ast.AST) -> int:
    """Integer arithmetic as devicetree cells use it, bounded to 64 bits (no huge shifts)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return _bounded(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand)
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, (ast.LShift, ast.RShift)):
            if not 0 <= right <= 64:
                raise ValueError("shift out of range")
            return _bounded(left << right if isinstance(node.op, ast.LShift) else left >> right)
        operator = _OPERATORS.get(type(node.op))
        if operator is not None:
            return _bounded(operator(left, right))
    raise ValueError("not a cell expression")


def _bounded(value: int) -> int:
    """Cells are 32 bits, two of them 64: anything larger is no cell (and too long to print)."""
    if abs(value) >= 1 << 64:
        raise ValueError("out of range")
    return value


# --------------------------------------------------------------- merging


class _Merger:
    def __init__(self, image: str):
        self.image = image
        self.tree = Devicetree()
        self.raw: Dict[str, Dict[str, Tuple[object, int, Path]]] = {}
        self.chosen_raw: Dict[str, Tuple[object, Source]] = {}
        # Labels per node path, in order; a dict so that many blocks patching one node stay linear.
        self.node_labels: Dict[str, Dict[str, None]] = {}

    def merge(self, blocks: List[_Block]) -> None:
        # Root blocks first: they define the labels that `&label { }` blocks patch.
        pending = [block for block in blocks if block.target == "/"]
        pending += [block for block in blocks if block.target != "/"]
        for block in pending:
            path = self.resolve(block.target)
            self.node(block.node, path, block.file)

    def resolve(self, target: str) -> str:
        if target == "/":
            return "/"
        if target.startswith("&{"):
            return target[2:-1] or "/"
        return self.tree.labels.get(target[1:], target)

    def node(self, node: _Node, path: str, file: Path) -> None:
        labels = self.node_labels.setdefault(path, {})
        added = [label for label in node.labels if label not in labels]
        if path.startswith("&") and "/" not in path and path[1:] not in labels and path[1:] not in added:
            added.append(path[1:])
        labels.update(dict.fromkeys(added))
        if path not in self.tree.nodes:
            name = path.rsplit("/", 1)[-1] or "/"
            self.tree.nodes[path] = DtNode(path=path, name=name, source=Source(file, node.line))
        for label in added:
            self.tree.labels.setdefault(label, path)
        props = self.raw.setdefault(path, {})
        for prop, (value, line) in node.props.items():
            props[prop] = (value, line, file)
            if path == "/chosen":
                self.chosen_raw[prop] = (value, Source(file, line))
        for child in node.children:
            child_path = ("" if path == "/" else path) + "/" + child.name
            self.node(child, child_path, file)

    def chosen(self, prop: str, value: object, source: Source) -> None:
        target = value[0] if isinstance(value, list) and len(value) == 1 else value
        if not isinstance(target, str) or not _small(target):
            return
        path = self.resolve(target) if target.startswith("&") else target
        if path.startswith("&") and path not in self.tree.nodes:
            # A label no attached file defines: keep it as a placeholder node.
            self.tree.nodes[path] = DtNode(path=path, name=path, labels=(path[1:],), source=source)
            self.tree.labels.setdefault(path[1:], path)
        self.tree.chosen[prop] = path
        self.tree.chosen_source[prop] = source

    def finish(self, file: Optional[Path]) -> SourceTree:
        tree = self.tree
        tree.file = file
        for prop, (value, source) in self.chosen_raw.items():
            self.chosen(prop, value, source)
        for path in list(tree.nodes):
            tree.nodes[path] = self.complete(tree.nodes[path])
        tree.layout = _partition_layout(tree, file, self.image) if file else None
        unresolved = sorted(
            {p[1:].split("/", 1)[0] for p in tree.nodes if p.startswith("&") and not p.startswith("&{")}
        )
        return SourceTree(tree, unresolved_labels=unresolved)

    def complete(self, node: DtNode) -> DtNode:
        props = self.raw.get(node.path, {})
        compatible = props.get("compatible", (None,))[0]
        if not _small(compatible):
            compatible = None
        compatibles = (
            (compatible,)
            if isinstance(compatible, str)
            else tuple(c for c in (compatible or ()) if isinstance(c, str))
        )
        kept = {
            name: _plain(props[name][0]) for name in _KEPT_PROPS if name in props and _small(props[name][0])
        }
        labels = self.node_labels.get(node.path)
        return DtNode(
            path=node.path,
            name=node.name,
            labels=tuple(labels) if labels is not None else node.labels,
            compatible=compatibles,
            status_okay=self.okay(node.path),
            reg=self.reg(node.path, props),
            props=kept,
            source=node.source,
        )

    def okay(self, path: str) -> bool:
        walker: Optional[str] = path
        while walker:
            status = self.raw.get(walker, {}).get("status")
            if status is not None and status[0] not in ("okay", "ok"):
                return False
            walker = None if walker in ("/", "") or "/" not in walker else (walker.rsplit("/", 1)[0] or "/")
        return True

    def reg(self, path: str, props: Dict[str, Tuple[object, int, Path]]) -> Tuple[Tuple[int, int], ...]:
        value = props.get("reg", (None,))[0]
        cells = list(value) if isinstance(value, list) else []
        parent = self.raw.get(path.rsplit("/", 1)[0] or "/", {})
        address_cells = _cell_count(parent.get("#address-cells"), 1)
        size_cells = _cell_count(parent.get("#size-cells"), 1)
        step = address_cells + size_cells
        if not cells or step == 0 or len(cells) % step or not all(isinstance(c, int) for c in cells):
            return ()
        entries = []
        for offset in range(0, len(cells), step):
            address = _join(cells[offset : offset + address_cells])
            size = _join(cells[offset + address_cells : offset + step])
            entries.append((address, size))
        return tuple(entries)


def _cell_count(prop: Optional[Tuple[object, int, Path]], default: int) -> int:
    if prop is None:
        return default
    value = prop[0]
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], int):
        return value[0]
    return default


def _join(cells: List[int]) -> int:
    total = 0
    for cell in cells:
        total = (total << 32) | (cell & 0xFFFFFFFF)
    return total


def _small(value: object) -> bool:
    """A value short enough to keep: the model holds sizes, labels and names, never bulk data."""
    if isinstance(value, str):
        return len(value) <= MAX_KEPT_TEXT
    if isinstance(value, (list, tuple)):
        return len(value) <= MAX_KEPT_CELLS and all(_small(item) for item in value)
    return True


def _plain(value: object) -> object:
    """Cells of one number are that number, like the flattened-DTS loader gives."""
    if isinstance(value, list):
        return value[0] if len(value) == 1 else list(value)
    return value


# ------------------------------------------------------------------ entry


def parse_sources(texts: List[Tuple[Path, str]], image: str = "app") -> SourceTree:
    """Merge the devicetree sources of one image (board files first, overlays last)."""
    includes: List[str] = []
    problems: List[str] = []
    macros: Dict[str, str] = {}
    blocks: List[_Block] = []
    budget = _Budget()
    for path, text in texts:
        try:
            cleaned = _preprocess(blank_comments(text), includes, macros, budget)
            blocks += _Parser(_tokens(cleaned, budget), path, problems, budget).blocks()
        except SourceTooLarge as error:
            problems.append(f"{path.name}: not read as devicetree source: {error}")
    merger = _Merger(image)
    merger.merge(blocks)
    result = merger.finish(texts[-1][0] if texts else None)
    result.includes = list(dict.fromkeys(includes))
    result.problems = problems
    for node in result.devicetree.nodes.values():
        for name, value in node.props.items():
            if isinstance(value, str) and re.fullmatch(r"[A-Z_][A-Z0-9_]*(\(.*\))?", value):
                problems.append(
                    f"{name} of {node.label} is the macro {value}, defined in a file not attached"
                )
    return result


def looks_like_source_dts(text: str) -> bool:
    """Devicetree source rather than the flattened zephyr.dts: includes, label fragments, macros."""
    return any(next(_at_line_start(text, pattern), None) for pattern in _SOURCE_SIGNS)


# Lines that only a devicetree source starts with.
_SOURCE_SIGNS = (re.compile(r"#\s*include\b"), re.compile(r"&[A-Za-z_]\w*\s*\{"), re.compile(r"/\s*\{"))
