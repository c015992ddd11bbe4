"""YAML with line numbers, duplicate keys and bounds on size, depth and alias expansion.

PyYAML composes the node graph (with the C parser when available); we then
build plain Python data ourselves, recording the line of every mapping key
and sequence item under its path, e.g. ``("mcuboot_primary", "size") -> 37``.
Before composing, the parser's event stream is counted, so a file too deep
or too large is refused before it costs memory. Aliases are followed, but
the total number of nodes built is bounded, so a "billion laughs" file
fails fast instead of eating memory.

A key given twice in one mapping keeps its last value, as in PyYAML and in
Partition Manager (which loads with PyYAML); each repeat is recorded in
:attr:`YamlDoc.duplicates` so the assembler can warn about it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import yaml

from . import MAX_INT_TEXT, LoadError, read_text

try:  # The C loader is ~10x faster on big files; fall back when not built.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_NODES = 50_000
# Partition Manager files nest 3 levels deep. libyaml composes recursively in
# C, so a file nested thousands deep would crash the interpreter: refuse it first.
MAX_DEPTH = 64

Path_ = Tuple[Any, ...]
_INT_TAG = "tag:yaml.org,2002:int"
_STR_TAG = "tag:yaml.org,2002:str"
# Integers Python reads the way YAML 1.1 does (no leading-zero octal, no sexagesimal 1:30).
_PLAIN_INT = re.compile(r"[-+]?(?:0|[1-9][0-9_]*|0x[0-9a-fA-F_]+)")
_TOO_DEEP = f"YAML nested more than {MAX_DEPTH} levels deep"


@dataclass(frozen=True)
class DuplicateKey:
    """A key given a second time in one mapping: the value at ``second`` is the one kept."""

    keys: Path_
    first: int
    second: int


@dataclass
class YamlDoc:
    """Parsed YAML data plus the line of each path in it, and the keys given twice."""

    path: Path
    data: Any
    lines: Dict[Path_, int] = field(default_factory=dict)
    duplicates: List[DuplicateKey] = field(default_factory=list)

    def line(self, *keys: Any) -> Optional[int]:
        """Line of the deepest known prefix of ``keys`` (1-based)."""
        for end in range(len(keys), -1, -1):
            line = self.lines.get(tuple(keys[:end]))
            if line is not None:
                return line
        return None


class _Builder:
    def __init__(self, path: Path):
        self.path = path
        self.count = 0
        self.lines: Dict[Path_, int] = {}
        self.scalars = yaml.SafeLoader("")  # only its scalar resolution is used
        self.active: set = set()
        self.built: set = set()
        self.aliased = False  # a node was built twice: the file uses aliases
        self.duplicates: List[DuplicateKey] = []
        self.seen_duplicates: Set[Tuple[int, int]] = set()
        self.replacing = 0  # inside the kept value of a duplicate key: its lines replace the first's

    def note_line(self, where: Path_, line: int) -> None:
        if self.replacing:
            self.lines[where] = line
        else:  # an alias or merge reaches a path again: the first line stays
            self.lines.setdefault(where, line)

    def build(self, node: yaml.Node, where: Path_) -> Any:
        self.count += 1
        if id(node) in self.built:
            self.aliased = True
        self.built.add(id(node))
        if self.count > MAX_NODES:
            why = "alias bomb?" if self.aliased else "far larger than any build file"
            raise LoadError(
                self.path,
                f"YAML expands to more than {MAX_NODES} nodes ({why})",
                node.start_mark.line + 1,
            )
        if len(self.active) > MAX_DEPTH:  # aliases of aliases can nest deeper than the text
            raise LoadError(self.path, _TOO_DEEP, node.start_mark.line + 1)
        if id(node) in self.active:
            raise LoadError(self.path, "recursive YAML alias", node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                items = []
                for index, child in enumerate(node.value):
                    self.note_line((*where, index), child.start_mark.line + 1)
                    items.append(self.build(child, (*where, index)))
                return items
            return self.mapping(node, where)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: yaml.MappingNode, where: Path_) -> Dict[Any, Any]:
        result: Dict[Any, Any] = {}
        given: Dict[Any, int] = {}  # key -> line, for the keys written in this mapping itself
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged = self.build(value_node, where)
                for item in merged if isinstance(merged, list) else [merged]:
                    if isinstance(item, dict):
                        for key, value in item.items():
                            result.setdefault(key, value)
                continue
            key = self.build(key_node, where)
            if isinstance(key, (list, dict)):
                raise LoadError(self.path, "a mapping key is not a scalar", key_node.start_mark.line + 1)
            line = key_node.start_mark.line + 1
            repeated = key in given
            if repeated:
                self.duplicate((*where, key), given[key], line)
            else:
                given[key] = line
            self.replacing += repeated
            try:
                self.note_line((*where, key), line)
                result[key] = self.build(value_node, (*where, key))
            finally:
                self.replacing -= repeated
        return result

    def duplicate(self, keys: Path_, first: int, second: int) -> None:
        # An aliased mapping is built once per alias: report its duplicate once.
        if (first, second) not in self.seen_duplicates:
            self.seen_duplicates.add((first, second))
            self.duplicates.append(DuplicateKey(keys, first, second))

    def scalar(self, node: yaml.ScalarNode) -> Any:
        line = node.start_mark.line + 1
        if node.tag == _INT_TAG and len(node.value) > MAX_INT_TEXT:
            # int() refuses more than 4300 digits, and a long hex number cannot be printed in decimal.
            raise LoadError(
                self.path, f"an integer {len(node.value)} characters long: no address or size is", line
            )
        # The scalars layouts are made of, without PyYAML's general constructor (a third of the load).
        if node.tag == _STR_TAG:
            return node.value
        if node.tag == _INT_TAG and _PLAIN_INT.fullmatch(node.value):
            return int(node.value.replace("_", ""), 0)
        try:
            return self.scalars.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise LoadError(self.path, _one_line(exc), line) from None
        except Exception:  # `!!int abc`, `2024-13-45`: PyYAML fails on the text, not on pmdoctor
            kind = str(node.tag).rsplit(":", 1)[-1]
            raise LoadError(self.path, f"invalid YAML value: not a valid {kind}", line) from None


def parse_yaml(text: str, path: Path) -> YamlDoc:
    """Parse YAML text; raise :class:`LoadError` with the line on any problem."""
    try:
        _check_events(text, path)
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        if "nesting depth" in str(exc.problem):
            # libyaml stops at its own depth limit (far above ours) before we see the events.
            raise LoadError(path, _TOO_DEEP, line) from None
        raise LoadError(path, _one_line(exc), line) from None
    except yaml.YAMLError as exc:
        raise LoadError(path, _one_line(exc)) from None
    if root is None:
        return YamlDoc(path, None)
    builder = _Builder(path)
    data = builder.build(root, ())
    return YamlDoc(path, data, builder.lines, builder.duplicates)


def _check_events(text: str, path: Path) -> None:
    """Refuse a file nested deeper than :data:`MAX_DEPTH` or holding more than :data:`MAX_NODES` nodes.

    This runs on the parser's event stream, before any node is built:
    the stream is flat (libyaml composes recursively in C, so a file nested
    thousands deep would crash the interpreter) and costs little memory
    (composing a 20 MB file took a gigabyte before the node limit was seen).
    """
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.NodeEvent):  # scalars, aliases, collection starts
            nodes += 1
            if nodes > MAX_NODES:
                raise LoadError(
                    path,
                    f"YAML holds more than {MAX_NODES} nodes (far larger than any build file)",
                    event.start_mark.line + 1,
                )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise LoadError(path, _TOO_DEEP, event.start_mark.line + 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def load_yaml(path: Path) -> YamlDoc:
    return parse_yaml(read_text(path), path)


def _one_line(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [exc.context, exc.problem]
        text = ", ".join(p for p in parts if p) or str(exc)
    else:
        text = str(exc)
    return "invalid YAML: " + " ".join(text.split())
