"""Read a flattened ``zephyr.dts`` — text dtlib itself wrote — in one linear pass, without dtlib.

Every image of a build has one, so reading them is on the path of every
check. dtlib is a general parser (labels, expressions, includes, deletions,
overrides); what it writes is a small regular subset of that language::

    /dts-v1/;

    /* node '/' defined in zephyr/dts/common/skeleton.dtsi:9 */
    / {
        label: name@0 {
            prop = < 0x1 &ref >, "text", [ 0A ], &ref; /* in file.dts:12 */
            empty;
        };
    };

(indented with tabs, one per level), one node header, ``};`` or property per line (long values continue on the
next lines), node origin comments on their own line and property origin
comments after the ``;`` (Zephyr >= 4.2). :func:`scan` reads exactly that
subset into a tree shaped like dtlib's (``node_iter()``, ``root.nodes``,
``props`` with ``type``, ``value``, ``to_num()`` ...) so that
:mod:`pmdoctor.loaders.devicetree` builds the model with the same code for
both. For anything else — any construct dtlib would read differently or
refuse, or that the subset does not have — it returns None ("not mine")
rather than guessing, and the caller uses dtlib. So a text read here gives
the model dtlib would give, or is not read here at all.

Only what the model needs is decoded: the properties it reads by name, every
property of ``/chosen`` and ``/aliases``, and every property that refers to a
node. The rest is checked against the subset and skipped. The pass is linear
in the text and records, for the cost limits the caller applies, upper
bounds of what its limit scan measures (:class:`Stats`).
"""

from __future__ import annotations

import re
from typing import Dict, Iterator, List, Optional, Set, Tuple

# Properties the model reads by name (devicetree.py: compatible, status, reg and
# its cells, and the kept properties). They are decoded; a reference in one is
# not this reader's (dtlib would patch a phandle number into it).
DECODED = frozenset(
    {
        "compatible",
        "status",
        "reg",
        "#address-cells",
        "#size-cells",
        "size",
        "erase-block-size",
        "write-block-size",
        "label",
        "jedec-id",
        "ranges",
    }
)

# Sanity bounds of this reader's own work (memory is kept per node and path).
# Far beyond any build's devicetree and beyond the caller's limits, which then
# refuse such a file through dtlib's path; they only keep this pass bounded.
_MAX_DEPTH = 64
_MAX_PATH_CHARS = 16 * 1024 * 1024

# ------------------------------------------------------------- the subset

_LABEL = r"[A-Za-z_][A-Za-z0-9_]*"
_LABELS = rf"((?:{_LABEL}: )*)"
# dtlib lexes node and property names alike; a node name may not hold `*#?`, a property name no `@`.
_NODE_NAME = r"[A-Za-z0-9,._+@-]+"
_PROP_NAME = r"[A-Za-z0-9,._+*#?-]+"
_SPACE = r"[ \t\n]+"  # dtlib skips ASCII whitespace only
# A 32-bit cell as dtlib writes it (hex(n)); longer would not fit in 32 bits.
_NUMBER = r"0x[0-9a-fA-F]{1,8}"
_REFERENCE = r"&(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z0-9,._+*#?@/-]*\})"
_CELLS = rf"<{_SPACE}(?:(?:{_NUMBER}|{_REFERENCE}){_SPACE})+>"
# No escapes and no line breaks: dtlib writes neither in the strings of a build.
_STRING = r'"[^"\\\n]*"'
_BYTES = rf"\[(?:{_SPACE}[0-9A-Fa-f]{{2}})*{_SPACE}\]"
_ITEM = rf"(?:{_CELLS}|{_STRING}|{_BYTES}|{_REFERENCE})"
_VALUE = rf"{_ITEM}(?:,{_SPACE}{_ITEM})*"
_COMMENT = r"/\*(?:[^*]|\*(?!/))*\*/"  # ends at its first `*/`, as dtlib's does

_NODE = re.compile(rf"{_LABELS}({_NODE_NAME}) \{{")
_PROPERTY = re.compile(rf"{_LABELS}({_PROP_NAME})(?:;| = ({_VALUE});)(?:[ \t]*({_COMMENT}))?")
_PROPERTY_START = re.compile(rf"{_LABELS}({_PROP_NAME}) = ")
_COMMENT_LINE = re.compile(_COMMENT)
# A `;` outside strings (strings never span lines here).
_ENDS_STATEMENT = re.compile(r'(?:[^";]|"[^"]*")*;')

_VALUE_TOKEN = re.compile(
    r'[ \t\n]*(?:(<)|(>)|(\[)|(\])|(,)|0x([0-9a-fA-F]+)|"([^"]*)"|&([A-Za-z_][A-Za-z0-9_]*)'
    r"|&\{([^}]*)\}|([0-9A-Fa-f]{2}))"
)
_ONE_CELL = re.compile(r"< 0x([0-9a-fA-F]{1,8}) >")
_STRINGS = re.compile(rf"{_STRING}(?:, {_STRING})*")
_STRING_BODY = re.compile(r'"([^"]*)"')
_ALIAS_NAME = re.compile("[0-9a-z-]+")
_HEX = re.compile("0x([0-9a-fA-F]+)")


class Type:
    """dtlib's ``Property.type`` values, by the same names (what the model code compares against)."""

    EMPTY = 0
    BYTES = 1
    NUM = 2
    NUMS = 3
    STRING = 4
    STRINGS = 5
    PATH = 6
    PHANDLE = 7
    PHANDLES = 8
    PHANDLES_AND_NUMS = 9
    COMPOUND = 10


# Markers: what each piece of a value is (dtlib's _MarkerType, less what this reader declines).
_UINT8, _UINT32, _STRING_MARK, _PATH_MARK, _PHANDLE_MARK = range(5)


class NotMine(Exception):
    """The text is outside the subset this reader knows: dtlib reads it."""


# ------------------------------------------------------------- origin comments


def node_origin(comment: str) -> Optional[Tuple[str, int]]:
    """``/* node '/path' defined in file:line */`` (a whole line) as (file, line)."""
    if not comment.endswith("*/"):
        return None
    rest = _after_word(comment[2:-2].strip(), "node")
    if rest is None or not rest.startswith("'"):
        return None
    close = rest.find("'", 1)
    after = rest[close + 1 :] if close > 0 else ""
    if not after[:1].isspace():
        return None
    rest = _after_word(after.lstrip(), "defined in")
    return _file_line(rest.strip()) if rest is not None else None


def prop_origin(comment: str) -> Optional[Tuple[str, int]]:
    """``/* in file:line */`` after a property as (file, line)."""
    rest = _after_word(comment[2:-2].strip(), "in")
    return _file_line(rest.strip()) if rest is not None else None


def _after_word(text: str, word: str) -> Optional[str]:
    """The text after ``word`` and the whitespace that must follow it, or None."""
    if not text.startswith(word) or not text[len(word) : len(word) + 1].isspace():
        return None
    return text[len(word) :].lstrip()


# An origin comment's line number; longer is not a line number (and int() would refuse it).
_MAX_LINE_DIGITS = 9


def _file_line(text: str) -> Optional[Tuple[str, int]]:
    file, colon, digits = text.rpartition(":")
    if not colon or not file or not digits.isdecimal() or len(digits) > _MAX_LINE_DIGITS:
        return None
    return file, int(digits)


# ------------------------------------------------------------- the tree


class FlatNode:
    """A node, shaped like dtlib's: ``props`` holds the decoded properties only."""

    __slots__ = ("closed_props", "keep_all", "labels", "name", "nodes", "parent", "path", "props", "seen")

    # dtlib's Node; node_iter() is the tree's (FlatTree.node_iter).

    def __init__(self, name: str, path: str, labels: List[str], parent: Optional[FlatNode]):
        self.name = name
        self.path = path
        self.labels = labels
        self.parent = parent
        self.props: Dict[str, FlatProp] = {}
        self.nodes: Dict[str, FlatNode] = {}
        self.seen: Set[str] = set()  # every property name, decoded or not
        self.closed_props = False  # a child node came: dtlib lists properties before children
        # /chosen and /aliases: every property is decoded (the model reads them all).
        self.keep_all = parent is not None and parent.parent is None and name in ("chosen", "aliases")


class FlatProp:
    """A property, shaped like dtlib's; its value is decoded when first asked for."""

    __slots__ = ("_tree", "_type", "_value", "name", "targets", "text")

    def __init__(self, name: str, text: Optional[str], tree: FlatTree):
        self.name = name
        self.text = text  # the value as written (None: `name;`)
        self._type: Optional[int] = None
        self._value: Optional[bytes] = None
        self.targets: Optional[List[FlatNode]] = None  # nodes referred to, once resolved
        self._tree = tree

    @property
    def type(self) -> int:
        if self._type is None:
            self._decode()
        return self._type  # type: ignore[return-value]

    @property
    def value(self) -> bytes:
        if self._value is None:
            if self.targets is not None:  # never asked: such properties are not decoded by name
                raise NotMine(f"the value of {self.name} holds references")
            self._decode()
        return self._value  # type: ignore[return-value]

    def _decode(self) -> None:
        self._type, self._value, references = _decode(self.text)
        if references:  # resolved by the tree (the value keeps dtlib's patched numbers unknown)
            self.targets = self._tree.resolve(references, self)
            self._value = None

    # dtlib's conversions, with its type checks (a wrong type raises).
    def to_num(self) -> int:
        if self.type != Type.NUM:
            raise ValueError(f"{self.name} is not one number")
        return int.from_bytes(self.value, "big")

    def to_nums(self) -> List[int]:
        if self.type not in (Type.NUM, Type.NUMS):
            raise ValueError(f"{self.name} is not numbers")
        value = self.value
        return [int.from_bytes(value[i : i + 4], "big") for i in range(0, len(value), 4)]

    def to_string(self) -> str:
        if self.type != Type.STRING:
            raise ValueError(f"{self.name} is not one string")
        return self.value.decode("utf-8")[:-1]

    def to_strings(self) -> List[str]:
        if self.type not in (Type.STRING, Type.STRINGS):
            raise ValueError(f"{self.name} is not strings")
        return self.value.decode("utf-8").split("\0")[:-1]

    def to_path(self) -> FlatNode:
        if self.type == Type.PATH:
            return self.targets[0]  # type: ignore[index]
        if self.type == Type.STRING:
            node = self._tree.node_at(self.to_string())
            if node is not None:
                return node
        raise ValueError(f"{self.name} is no path to a node")

    def to_node(self) -> FlatNode:
        if self.type != Type.PHANDLE:
            raise ValueError(f"{self.name} is not one phandle")
        return self.targets[0]  # type: ignore[index]

    def to_nodes(self) -> List[FlatNode]:
        if self.type in (Type.PHANDLE, Type.PHANDLES):
            return list(self.targets)  # type: ignore[arg-type]
        raise ValueError(f"{self.name} is not phandles")


class Lines:
    """Where nodes and properties are, as :class:`pmdoctor.loaders.devicetree.LineMap` has them."""

    __slots__ = ("node_origin", "nodes", "prop_origin", "props")

    def __init__(self) -> None:
        self.nodes: Dict[str, int] = {}
        self.props: Dict[Tuple[str, str], int] = {}
        self.node_origin: Dict[str, Tuple[str, int]] = {}
        # Only for decoded properties: what the model reads (the chosen ones).
        self.prop_origin: Dict[Tuple[str, str], Tuple[str, int]] = {}


class Stats:
    """Upper bounds of what the cost scan in devicetree.py measures, counted on the way."""

    __slots__ = (
        "depth",
        "label_references",
        "lines",
        "literal_chars",
        "longest_line",
        "longest_statement",
        "longest_word",
        "most_labels",
        "nodes",
        "path_chars",
        "tokens",
    )

    def __init__(self) -> None:
        self.lines = self.tokens = self.nodes = self.depth = self.path_chars = 0
        self.label_references = self.longest_line = self.literal_chars = 0
        self.longest_statement = self.most_labels = 0
        self.longest_word = 10  # a number: `0x` and at most 8 digits


class FlatTree:
    """The whole devicetree: ``root``, nodes in dtlib's order, their lines, and the scan's statistics."""

    def __init__(self) -> None:
        self.root: Optional[FlatNode] = None
        self.order: List[FlatNode] = []  # preorder, as dtlib's node_iter()
        self.by_path: Dict[str, FlatNode] = {}
        self.node_labels: Dict[str, FlatNode] = {}
        self.other_labels: Set[str] = set()  # on properties: no reference may name them
        self.phandles: Set[int] = set()
        self.lines = Lines()
        self.stats = Stats()

    def node_iter(self) -> Iterator[FlatNode]:
        return iter(self.order)

    def node_at(self, path: str) -> Optional[FlatNode]:
        """The node at an absolute path, as dtlib resolves it (empty components are skipped)."""
        if not path.startswith("/"):
            return None
        return self.by_path.get("/" + "/".join(part for part in path.split("/") if part))

    def resolve(self, references: List[Tuple[int, str]], prop: FlatProp) -> List[FlatNode]:
        """The nodes ``&label`` and ``&{/path}`` references name; an unknown one is not this reader's."""
        nodes = []
        for kind, ref in references:
            if ref.startswith("{"):
                node = self.node_at(ref[1:-1])
            else:
                node = self.node_labels.get(ref)  # dtlib: node labels only, not property labels
                self.stats.label_references += 1
            if node is None:
                raise NotMine(f"{prop.name} refers to {ref!r}, which no node is")
            if kind == _PHANDLE_MARK and node.path == "/aliases":
                # dtlib would give /aliases a phandle property, then refuse it as an alias.
                raise NotMine("a phandle of /aliases")
            nodes.append(node)
        return nodes


# ------------------------------------------------------------- values


def _decode(text: Optional[str]) -> Tuple[int, bytes, List[Tuple[int, str]]]:
    """A value's dtlib type, bytes (references as zero cells) and references (marker, reference)."""
    if text is None:
        return Type.EMPTY, b"", []
    one = _ONE_CELL.fullmatch(text)
    if one:  # by far the most common: `< 0x1 >`
        return Type.NUM, int(one.group(1), 16).to_bytes(4, "big"), []
    if text[0] == '"' and _STRINGS.fullmatch(text):
        strings = _STRING_BODY.findall(text)
        value = b"".join(string.encode("utf-8") + b"\0" for string in strings)
        return (Type.STRING if len(strings) == 1 else Type.STRINGS), value, []
    if text[0] == "<" and '"' not in text and "&" not in text and "[" not in text:  # numbers only
        numbers = _HEX.findall(text)
        value = b"".join(int(number, 16).to_bytes(4, "big") for number in numbers)
        single = len(numbers) == 1 and text.count("<") == 1
        return (Type.NUM if single else Type.NUMS), value, []
    markers: List[int] = []
    references: List[Tuple[int, str]] = []
    value = bytearray()
    in_cells = False
    for match in _VALUE_TOKEN.finditer(text):
        opening, closing, bracket, _, _, number, string, label, path, byte = match.groups()
        if opening:
            markers.append(_UINT32)
            in_cells = True
        elif closing:
            in_cells = False
        elif number is not None:
            value += int(number, 16).to_bytes(4, "big")
        elif byte is not None:
            value.append(int(byte, 16))
        elif string is not None:
            markers.append(_STRING_MARK)
            value += string.encode("utf-8") + b"\0"
        elif label is not None or path is not None:
            kind = _PHANDLE_MARK if in_cells else _PATH_MARK  # `< &x >` a phandle, `&x` a path
            markers.append(kind)
            references.append((kind, label if label is not None else "{" + path + "}"))
            if kind == _PHANDLE_MARK:
                value += b"\0\0\0\0"  # dtlib's placeholder, patched later to the target's phandle
        elif bracket:
            markers.append(_UINT8)
    return _type(markers, len(value)), bytes(value), references


def _type(markers: List[int], length: int) -> int:
    """dtlib's Property.type, from the same markers."""
    if not markers:
        return Type.EMPTY
    kinds = set(markers)
    if markers == [_UINT8]:
        return Type.BYTES
    if markers == [_UINT32]:
        return Type.NUM if length == 4 else Type.NUMS
    if kinds == {_UINT32}:
        return Type.NUMS
    if kinds == {_STRING_MARK}:
        return Type.STRING if len(markers) == 1 else Type.STRINGS
    if markers == [_PATH_MARK]:
        return Type.PATH
    if markers == [_UINT32, _PHANDLE_MARK] and length == 4:
        return Type.PHANDLE
    if kinds == {_UINT32, _PHANDLE_MARK}:
        return Type.PHANDLES if length == 4 * markers.count(_PHANDLE_MARK) else Type.PHANDLES_AND_NUMS
    return Type.COMPOUND


# ------------------------------------------------------------- the scan


def scan(text: str) -> Optional[FlatTree]:
    """The tree of a text dtlib wrote, or None when the text is not in that form."""
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return None  # a lone CR: dtlib reads it as a line break, the line map does not
        text = text.replace("\r\n", "\n")  # as dtlib reads the file (universal newlines)
    try:
        return _Scan(text.split("\n")).run()
    except NotMine:
        return None


class _Scan:
    def __init__(self, lines: List[str]):
        self.lines = lines
        self.tree = FlatTree()
        self.stack: List[FlatNode] = []
        self.header = False
        self.pending_origin: Optional[Tuple[str, int]] = None
        self.references: List[FlatProp] = []

    def run(self) -> FlatTree:
        lines, tree, stats = self.lines, self.tree, self.tree.stats
        stats.lines = len(lines)
        stats.longest_line = max(map(len, lines))
        index, count = 0, len(lines)
        while index < count:
            stripped = lines[index].strip(" \t")
            index += 1
            if not stripped:
                continue
            first = stripped[0]
            if first == "/":
                self.slash(stripped, index)
            elif first == "}":
                if stripped != "};" or not self.stack:
                    raise NotMine("a `}` that closes nothing")
                self.stack.pop()
                stats.tokens += 2
            elif not self.stack:
                raise NotMine("text outside the root node")
            elif stripped[-1] == "{":
                self.node(stripped, index)
            else:
                index = self.prop(stripped, index)
        if tree.root is None or self.stack:
            raise NotMine("no root node, or one left open")
        for prop in self.references:  # every label is known now: resolve (an unknown one is not ours)
            prop.type  # noqa: B018 - decoding resolves
            if prop.targets is not None and prop.name in DECODED:
                raise NotMine(f"{prop.name} holds a reference (dtlib would patch a phandle into it)")
        self.check_aliases()
        return tree

    # -- lines -----------------------------------------------------------------

    def slash(self, stripped: str, number: int) -> None:
        stats = self.tree.stats
        if stripped.startswith("/*"):
            if not _COMMENT_LINE.fullmatch(stripped):
                raise NotMine("a comment line with more than one comment")
            stats.tokens += 1
            stats.literal_chars += len(stripped)
            origin = node_origin(stripped)
            if origin:
                self.pending_origin = origin
        elif stripped == "/dts-v1/;" and not self.header and self.tree.root is None:
            self.header = True
            stats.tokens += 2
        elif stripped == "/ {" and self.header and self.tree.root is None:
            root = FlatNode("/", "/", [], None)
            self.tree.root = root
            stats.tokens += 2
            self.open(root, number)
        else:
            raise NotMine(f"{stripped[:20]!r}")

    def node(self, stripped: str, number: int) -> None:
        match = _NODE.fullmatch(stripped)
        if match is None:
            raise NotMine("not a node header")
        labels, name = _labels(match.group(1)), match.group(2)
        parent = self.stack[-1]
        if name.count("@") > 1 or name in parent.nodes:
            raise NotMine("a node dtlib would refuse or merge")
        node = FlatNode(name, ("" if parent.path == "/" else parent.path) + "/" + name, labels, parent)
        parent.nodes[name] = node
        parent.closed_props = True
        for label in labels:
            self.label(label)
            self.tree.node_labels[label] = node
        stats = self.tree.stats
        stats.tokens += len(labels) + 2
        stats.most_labels = max(stats.most_labels, len(labels))
        stats.longest_statement = max(stats.longest_statement, len(stripped))
        stats.longest_word = max(stats.longest_word, len(name), *(len(label) + 1 for label in labels))
        self.open(node, number)

    def open(self, node: FlatNode, number: int) -> None:
        tree, stats = self.tree, self.tree.stats
        self.stack.append(node)
        tree.order.append(node)
        tree.by_path[node.path] = node
        tree.lines.nodes[node.path] = number
        if self.pending_origin:
            tree.lines.node_origin[node.path] = self.pending_origin
        self.pending_origin = None
        stats.nodes += 1
        stats.depth = max(stats.depth, len(self.stack))
        stats.path_chars += len(node.path) + 1
        if len(self.stack) > _MAX_DEPTH or stats.path_chars > _MAX_PATH_CHARS:
            raise NotMine("nested deeper than any build's devicetree")

    def prop(self, stripped: str, number: int) -> int:
        """Read the property starting on line ``number``; return the index of the line after it.

        The hot path of the reader (most lines are properties): kept to plain steps.
        """
        match = _PROPERTY.fullmatch(stripped)
        following = number
        if match is None:
            stripped, following = self.continued(stripped, number)
            match = _PROPERTY.fullmatch(stripped)
            if match is None:
                raise NotMine("not a property")
        labels, name, text, comment = match.groups()
        node = self.stack[-1]
        if node.closed_props or name in node.seen:
            raise NotMine("a property dtlib would place or merge differently")
        node.seen.add(name)
        stats = self.tree.stats
        # Bounds for the cost scan: a value has at most one token per character, a
        # statement at most one item per character; the rest of the line is 4 tokens.
        size = len(text) if text is not None else 0
        stats.tokens += size + 4
        stats.literal_chars += size + (len(comment) if comment else 0)
        if len(stripped) > stats.longest_statement:
            stats.longest_statement = len(stripped)
        if len(name) > stats.longest_word:
            stats.longest_word = len(name)
        if labels:
            self.prop_labels(_labels(labels))
        if name == "phandle":
            self.phandle(text)
        referring = text is not None and "&" in text
        if node.keep_all or referring or name in DECODED:
            prop = FlatProp(name, text, self.tree)
            node.props[name] = prop
            if referring:
                self.references.append(prop)
            # What LineMap maps: unlabelled properties whose names have no `*`, and
            # origin comments of one-line properties.
            if not labels and "*" not in name:
                lines = self.tree.lines
                lines.props[(node.path, name)] = number
                if comment and following == number and node.keep_all:
                    origin = prop_origin(comment)
                    if origin:
                        lines.prop_origin[(node.path, name)] = origin
        return following

    def prop_labels(self, labels: List[str]) -> None:
        stats = self.tree.stats
        stats.tokens += len(labels)
        stats.most_labels = max(stats.most_labels, len(labels))
        stats.longest_word = max(stats.longest_word, *(len(label) + 1 for label in labels))
        for label in labels:
            self.label(label)
            self.tree.other_labels.add(label)

    def continued(self, first: str, number: int) -> Tuple[str, int]:
        """A property whose value goes on over the next lines, joined; and the index after its last."""
        if not _PROPERTY_START.match(first) or _ENDS_STATEMENT.match(first):
            raise NotMine("not a property")
        parts = [first]
        index = number
        while index < len(self.lines):
            line = self.lines[index]
            index += 1
            end = _ENDS_STATEMENT.match(line)
            code = line[: end.end()] if end else line
            # The line map reads a continued line as a statement of its own: no `{`, `}` or `=` in it.
            if "{" in code or "}" in code or "=" in code:
                raise NotMine("a continued value with braces or `=`")
            parts.append(line.rstrip(" \t"))
            if end:
                return "\n".join(parts), index
        raise NotMine("a value that never ends")

    # -- checks dtlib makes ----------------------------------------------------

    def label(self, label: str) -> None:
        tree = self.tree
        if label in tree.node_labels or label in tree.other_labels:
            raise NotMine(f"label {label} used twice")

    def phandle(self, text: Optional[str]) -> None:
        """dtlib refuses a phandle that is not one cell, is 0 or ~0, or is used twice."""
        one = _ONE_CELL.fullmatch(text or "")
        number = int(one.group(1), 16) if one else 0
        if number in (0, 0xFFFFFFFF) or number in self.tree.phandles:
            raise NotMine("a phandle dtlib would refuse")
        self.tree.phandles.add(number)

    def check_aliases(self) -> None:
        """dtlib resolves every alias while reading: each must name a node (by reference or path)."""
        aliases = self.tree.root.nodes.get("aliases") if self.tree.root else None
        if aliases is None:
            return
        for name, prop in aliases.props.items():
            if not _ALIAS_NAME.fullmatch(name):
                raise NotMine(f"alias {name}")
            try:
                prop.to_path()
            except ValueError:
                raise NotMine(f"alias {name} names no node") from None


def _labels(text: str) -> List[str]:
    """``a: b: `` as ``["a", "b"]``; a label given twice is not this reader's (dtlib drops the copy)."""
    if not text:
        return []
    labels = text[:-2].split(": ")
    if len(set(labels)) != len(labels):
        raise NotMine("a label repeated on one node")
    return labels
