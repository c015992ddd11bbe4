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
from typing import Dict, List, Optional, Tuple

from ..model import Devicetree, DtNode, Source
from .devicetree import _KEPT_PROPS, _partition_layout

_TOKEN = re.compile(
    r'(?P<string>"(?:\\.|[^"\\])*")'
    r"|(?P<cells><[^<>]*(?:<[^<>]*>[^<>]*)*>)"
    r"|(?P<bytes>\[[^\]]*\])"
    r"|(?P<ref>&\{[^}]*\}|&[A-Za-z_][\w]*)"
    r"|(?P<directive>/[a-z-]+/)"
    r"|(?P<punct>[{};=,])"
    r"|(?P<word>[A-Za-z0-9_,.+?#@/-]+:?)"
    r"|(?P<other>\S)"
)
_SIZE_MACRO = re.compile(r"DT_SIZE_([KM])\s*\(\s*(\d+)\s*\)")
_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')
_DEFINE = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)\s+(.+?)\s*$")


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


def _strip_comments(text: str) -> str:
    """Blank out comments but keep every newline (and strings), so line numbers stay right."""

    def blank(match: re.Match) -> str:
        found = match.group(0)
        return found if found.startswith('"') else re.sub(r"[^\n]", " ", found)

    return re.sub(r'"(?:\\.|[^"\\\n])*"|/\*.*?(?:\*/|$)|//[^\n]*', blank, text, flags=re.S)


_DIRECTIVE = re.compile(r"#\s*(include|define|undef|if|ifdef|ifndef|elif|else|endif|pragma|error|warning)\b")


def _preprocess(text: str, includes: List[str], macros: Dict[str, str]) -> str:
    lines = []
    for line in text.split("\n"):
        if _DIRECTIVE.match(line.strip()):
            include = _INCLUDE.match(line)
            if include:
                includes.append(include.group(1))
            define = _DEFINE.match(line)
            if define:
                macros[define.group(1)] = define.group(2)
            lines.append("")  # #if/#ifdef/#endif: both branches are kept
            continue
        lines.append(line)
    return "\n".join(lines)


def _tokens(text: str) -> List[_Token]:
    tokens = []
    line = 1
    position = 0
    for match in _TOKEN.finditer(text):
        line += text.count("\n", position, match.start())
        position = match.start()
        kind = match.lastgroup or "other"
        tokens.append(_Token(kind, match.group(0), line))
    return tokens


# --------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, tokens: List[_Token], path: Path, problems: List[str]):
        self.tokens = tokens
        self.index = 0
        self.path = path
        self.problems = problems

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
                self.body(node)
                blocks.append(_Block(token.text, node, self.path))
                continue
            self.skip_statement(f"cannot read {token.text!r} at the top level", token.line)
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

    def body(self, node: _Node) -> None:
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
                self.skip_statement(f"unexpected {name.text!r}", name.line)
                continue
            if following.text == "{":
                self.index += 1
                child = _Node(name.text, labels, name.line)
                self.body(child)
                node.children.append(child)
            elif following.text == ";":
                self.index += 1
                node.props[name.text] = (True, name.line)
            elif following.text == "=":
                self.index += 1
                node.props[name.text] = (self.value(), name.line)
            else:
                self.skip_statement(f"unexpected {following.text!r} after {name.text!r}", following.line)
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
            return _atom(parts[0])
        return tuple(_atom(part) for part in parts)


def _atom(token: _Token) -> object:
    if token.kind == "string":
        return token.text[1:-1]
    if token.kind == "cells":
        return _Cells(token.text[1:-1])
    return token.text  # a phandle reference (&label) or an unknown word


class _Cells(list):
    """The items of ``< … >``: ints where they evaluate, strings (``&label``, macros) otherwise."""

    def __init__(self, inner: str):
        super().__init__()
        inner = _SIZE_MACRO.sub(
            lambda m: str(int(m.group(2)) * (1024 if m.group(1) == "K" else 1024 * 1024)), inner
        )
        for item in re.findall(r"\([^()]*(?:\([^()]*\)[^()]*)*\)|&\{[^}]*\}|[^\s()]+", inner):
            self.append(_number(item))


def _number(text: str) -> object:
    """An integer cell or a small constant expression; anything else stays text."""
    candidate = text.strip()
    if candidate.startswith("&"):
        return candidate
    try:
        return _evaluate(ast.parse(candidate, mode="eval").body)
    except (SyntaxError, ValueError, TypeError, ZeroDivisionError, RecursionError):
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
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand)
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, (ast.LShift, ast.RShift)):
            if not 0 <= right <= 64:
                raise ValueError("shift out of range")
            return left << right if isinstance(node.op, ast.LShift) else left >> right
        operator = _OPERATORS.get(type(node.op))
        if operator is not None:
            result = operator(left, right)
            if abs(result) < 1 << 64:
                return result
    raise ValueError("not a cell expression")


# --------------------------------------------------------------- merging


class _Merger:
    def __init__(self, image: str):
        self.image = image
        self.tree = Devicetree()
        self.raw: Dict[str, Dict[str, Tuple[object, int, Path]]] = {}
        self.chosen_raw: Dict[str, Tuple[object, Source]] = {}

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
        existing = self.tree.nodes.get(path)
        labels = tuple(dict.fromkeys((existing.labels if existing else ()) + tuple(node.labels)))
        if path.startswith("&") and "/" not in path:
            labels = tuple(dict.fromkeys((*labels, path[1:])))
        name = path.rsplit("/", 1)[-1] or "/"
        source = existing.source if existing and existing.source.file else Source(file, node.line)
        self.tree.nodes[path] = DtNode(path=path, name=name, labels=labels, source=source)
        for label in labels:
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
        if not isinstance(target, str):
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
        compatibles = (
            (compatible,)
            if isinstance(compatible, str)
            else tuple(c for c in (compatible or ()) if isinstance(c, str))
        )
        kept = {name: _plain(props[name][0]) for name in _KEPT_PROPS if name in props}
        return DtNode(
            path=node.path,
            name=node.name,
            labels=node.labels,
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
    for path, text in texts:
        try:
            cleaned = _preprocess(_strip_comments(text), includes, macros)
            blocks += _Parser(_tokens(cleaned), path, problems).blocks()
        except RecursionError:
            problems.append(f"{path.name}: nested too deeply to read")
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
    return bool(
        re.search(r"^\s*#\s*include\b", text, re.M)
        or re.search(r"^\s*&[A-Za-z_]\w*\s*\{", text, re.M)
        or re.search(r"^\s*/\s*\{", text, re.M)
    )
