"""YAML with line numbers and a bound on alias expansion.

PyYAML composes the node graph (with the C parser when available); we then
build plain Python data ourselves, recording the line of every mapping key
and sequence item under its path, e.g. ``("mcuboot_primary", "size") -> 37``.
Aliases are followed, but the total number of nodes built is bounded, so a
"billion laughs" file fails fast instead of eating memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import yaml

from . import LoadError, read_text

try:  # The C loader is ~10x faster on big files; fall back when not built.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_NODES = 200_000
# Partition Manager files nest 3 levels deep. libyaml composes recursively in
# C, so a file nested thousands deep would crash the interpreter: refuse it first.
MAX_DEPTH = 64

Path_ = Tuple[Any, ...]


@dataclass
class YamlDoc:
    """Parsed YAML data plus the line of each path in it."""

    path: Path
    data: Any
    lines: Dict[Path_, int] = field(default_factory=dict)

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
            raise LoadError(
                self.path, f"YAML nested more than {MAX_DEPTH} levels deep", node.start_mark.line + 1
            )
        if id(node) in self.active:
            raise LoadError(self.path, "recursive YAML alias", node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                items = []
                for index, child in enumerate(node.value):
                    self.lines.setdefault((*where, index), child.start_mark.line + 1)
                    items.append(self.build(child, (*where, index)))
                return items
            return self.mapping(node, where)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: yaml.MappingNode, where: Path_) -> Dict[Any, Any]:
        result: Dict[Any, Any] = {}
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
            self.lines.setdefault((*where, key), key_node.start_mark.line + 1)
            result[key] = self.build(value_node, (*where, key))
        return result

    def scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            return self.scalars.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise LoadError(self.path, _one_line(exc), node.start_mark.line + 1) from None


def parse_yaml(text: str, path: Path) -> YamlDoc:
    """Parse YAML text; raise :class:`LoadError` with the line on any problem."""
    try:
        _refuse_deep_nesting(text, path)
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise LoadError(path, _one_line(exc), mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise LoadError(path, _one_line(exc)) from None
    if root is None:
        return YamlDoc(path, None)
    builder = _Builder(path)
    data = builder.build(root, ())
    return YamlDoc(path, data, builder.lines)


def _refuse_deep_nesting(text: str, path: Path) -> None:
    """Raise when collections nest deeper than :data:`MAX_DEPTH`.

    The parser's event stream is flat (no recursion), so counting start and
    end events is safe at any depth; a cheap bound on the depth (indent plus
    open brackets) skips that second pass for every ordinary file.
    """
    indent = max((len(m.group(1)) for m in re.finditer(r"^( *)\S", text, re.MULTILINE)), default=0)
    flow = depth = 0
    for bracket in re.sub(r"[^\[\]{}]", "", text):
        depth = depth + 1 if bracket in "[{" else depth - 1
        flow = max(flow, depth)
    if indent + flow <= MAX_DEPTH:
        return
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise LoadError(
                    path, f"YAML nested more than {MAX_DEPTH} levels deep", event.start_mark.line + 1
                )
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
