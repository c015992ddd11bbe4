"""Read an image's flattened ``zephyr/zephyr.dts`` with Zephyr's dtlib.

The dtlib of the Zephyr tree the user's environment names
(``$ZEPHYR_BASE/scripts/dts/python-devicetree``) is preferred; the PyPI
``devicetree`` package is the fallback. The ``ZEPHYR_BASE`` a build's cache
records is never used: importing runs code, and the cache is an input. dtlib does not give line numbers in
every version, so a small scanner over the text (which dtlib itself wrote,
one node or property per line) maps node paths and properties to lines and
to the ``/* in file:line */`` origin comments that Zephyr >= 4.2 adds.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Optional, Tuple

from ..model import (
    Devicetree,
    DtNode,
    DtReference,
    Layout,
    LayoutKind,
    Partition,
    Region,
    Source,
    devicetree_region,
)
from ..model.drivers import NOR_ERASE_BLOCK, is_nor
from . import LoadError, dts_flat, read_text
from .dts_flat import node_origin, prop_origin

PARTITION_COMPATIBLES = ("fixed-partitions", "zephyr,mapped-partition")
# Nodes whose children are partitions: `fixed-subpartitions` nests partitions in a partition.
_PARTITION_PARENTS = ("fixed-partitions", "fixed-subpartitions")
_KEPT_PROPS = ("size", "erase-block-size", "write-block-size", "label", "jedec-id", "ranges")

# One dtlib per Zephyr tree (None: the installed `devicetree` package).
_DTLIBS: Dict[Optional[Path], Optional[ModuleType]] = {}

NO_PARSER = (
    "no devicetree parser: set ZEPHYR_BASE to your Zephyr tree, or install the "
    "`devicetree` package (pip install devicetree)"
)
# The file is fine: what is missing is on this machine, so rebuilding would not help.
INSTALL_PARSER = (
    "install the `devicetree` package where pmdoctor runs (pip install devicetree), "
    "or set ZEPHYR_BASE to your Zephyr tree"
)


def dtlib_module(zephyr_base: Optional[Path] = None) -> Optional[ModuleType]:
    """dtlib from ``zephyr_base`` when it has a working copy, else the installed package.

    ``zephyr_base`` must come from the user's environment (see
    :mod:`pmdoctor.inputs.scope`), never from a file being analysed: importing
    a module runs its code. None when no dtlib can be imported at all.
    """
    if zephyr_base is not None:
        if zephyr_base not in _DTLIBS:
            _DTLIBS[zephyr_base] = _zephyr_dtlib(
                zephyr_base / "scripts" / "dts" / "python-devicetree" / "src"
            )
        if _DTLIBS[zephyr_base] is not None:
            return _DTLIBS[zephyr_base]
    if None not in _DTLIBS:
        try:
            _DTLIBS[None] = importlib.import_module("devicetree.dtlib")
        except ImportError:
            _DTLIBS[None] = None
    return _DTLIBS[None]


def dtlib_origin(zephyr_base: Optional[Path] = None) -> str:
    """Which parser :func:`dtlib_module` gives, in words for a note."""
    module = dtlib_module(zephyr_base)
    if module is None:
        return "none"
    if zephyr_base is not None and _DTLIBS.get(zephyr_base) is module:
        return f"dtlib of {zephyr_base}"
    return "the installed devicetree package"


def _zephyr_dtlib(src: Path) -> Optional[ModuleType]:
    """dtlib from a Zephyr tree, or None when it is absent or does not import.

    The tree's package is imported under its usual name and then taken out of
    ``sys.modules`` again, so the installed package stays what
    ``import devicetree`` gives everyone else.
    """
    if not (src / "devicetree" / "dtlib.py").is_file():
        return None
    saved = _forget_devicetree()
    sys.path.insert(0, str(src))
    try:
        module = importlib.import_module("devicetree.dtlib")
        found = Path(module.__file__ or "").resolve()
        return module if src.resolve() in found.parents else None
    except Exception:  # a broken tree must not stop the analysis: use the package
        return None
    finally:
        sys.path.remove(str(src))
        _forget_devicetree()
        sys.modules.update(saved)


def _forget_devicetree() -> Dict[str, ModuleType]:
    names = [name for name in sys.modules if name == "devicetree" or name.startswith("devicetree.")]
    return {name: sys.modules.pop(name) for name in names}


# ------------------------------------------------------------ cost limits

# dtlib is fine on what a build writes but not on everything it accepts: its
# string, character and comment patterns keep 200-340 bytes per character
# matched, each property value grows by copying itself, every `&label` walks
# all nodes, and it follows /include/ and /incbin/ anywhere on disk. So a
# linear scan of the text, lexing comments and literals as dtlib does, refuses
# what would cost too much before dtlib sees it. The limits are many times the
# largest real zephyr.dts seen (243 nodes, 8,161 tokens, 6 levels, 2,283 lines,
# values of 130 items and 650 characters, 160 KB of comments).
MAX_LINES = 100_000
MAX_TOKENS = 100_000
MAX_NODES = 10_000
MAX_DEPTH = 32
MAX_WORD = 256  # a name, label or number
MAX_LITERAL = 16 * 1024  # one comment, string or character literal
MAX_LITERAL_TOTAL = 2 * 1024 * 1024  # all of them together
MAX_STATEMENT_ITEMS = 4096
MAX_STATEMENT_CHARS = 16 * 1024
MAX_STATEMENT_LABELS = 16
# Every node's path is kept (by dtlib, the line map and the model), so their total length is bounded.
MAX_PATH_CHARS = 4 * 1024 * 1024
MAX_REFERENCE_WORK = 1_000_000  # label references x nodes: dtlib resolves each by walking the tree
# A kept property (size, label, ranges, ...) is a few cells or a short string.
MAX_KEPT_BYTES = 1024

# Tokens of dtlib's lexer that matter for finding comments and literals where it does.
_KEYWORDS = ("dts-v1", "plugin", "memreserve", "bits", "delete-property", "delete-node", "omit-if-no-ref")
_NOT_FOLLOWED = ("include", "incbin")
_KEYWORD = re.compile("/(" + "|".join(re.escape(k) for k in _KEYWORDS + _NOT_FOLLOWED) + ")/")
_REFERENCE = re.compile(r"&(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z0-9,._+*#?@/-]*\})")
# A word never spans a character that can start a comment, literal or reference.
_WORD = re.compile(r"[^\s/\"'&{};=<>\[\]()]+")
_NON_SPACE = re.compile(r"\S")


def mask_escapes(text: str) -> str:
    """``text`` with every backslash escape of a quote or backslash blanked, at the same offsets.

    Inside a string or character literal the closing quote is then simply
    the next quote (``str.find``), however many escapes come first. Outside
    literals a backslash is a syntax error for dtlib, so nothing it reads
    changes meaning.
    """
    if "\\" not in text:
        return text
    return text.replace("\\\\", "  ").replace('\\"', "  ").replace("\\'", "  ")


class _CostScan:
    """One linear pass over a zephyr.dts text, refusing what dtlib would choke on."""

    def __init__(self, text: str, path: Path):
        self.text = mask_escapes(text)
        self.path = path
        self.tokens = self.nodes = self.depth = self.references = self.literal_chars = 0
        self.statement_items = self.statement_chars = self.statement_labels = 0
        self.path_lengths: List[int] = [0]  # of the open nodes
        self.path_chars = self.last_word = 0

    def refuse(self, position: int, message: str) -> LoadError:
        line = self.text.count("\n", 0, position) + 1
        return LoadError(self.path, f"devicetree not read: {message}", line)

    def run(self) -> None:
        text = self.text
        lines = text.count("\n") + 1
        if lines > MAX_LINES:
            raise LoadError(
                self.path,
                f"devicetree not read: {lines} lines, more than the {MAX_LINES} "
                "pmdoctor reads (a build's zephyr.dts has a few thousand)",
            )
        position = 0
        while True:
            match = _NON_SPACE.search(text, position)
            if match is None:
                break
            position = self.token(match.start())
            self.tokens += 1
            if self.tokens > MAX_TOKENS:
                raise self.refuse(
                    position, f"more than {MAX_TOKENS} tokens (a build's zephyr.dts has about 10000)"
                )
        work = self.references * self.nodes
        if work > MAX_REFERENCE_WORK:
            raise LoadError(
                self.path,
                f"devicetree not read: {self.references} label references among "
                f"{self.nodes} nodes, too many to resolve quickly",
            )

    def token(self, start: int) -> int:
        """Account for the token at ``start``; return where the next one may begin."""
        text = self.text
        char = text[start]
        if char == "/":
            if text.startswith("/*", start):
                close = text.find("*/", start + 2, start + 2 + MAX_LITERAL + 2)
                if close >= 0:
                    return self.literal(start, close + 2)
                if len(text) - start > MAX_LITERAL:
                    raise self.refuse(start, f"a comment longer than {MAX_LITERAL} characters, or not closed")
                return self.item(start, start + 2)  # dtlib reads an unclosed `/*` as `/` and `*`
            if text.startswith("//", start):
                newline = text.find("\n", start)
                return self.literal(start, len(text) if newline < 0 else newline)
            keyword = _KEYWORD.match(text, start)
            if keyword and keyword.group(1) in _NOT_FOLLOWED:
                raise self.refuse(
                    start, f"{keyword.group(0)} {_NOT_FOLLOWED_WHY} (a build's zephyr.dts has none)"
                )
            if keyword:
                return self.item(start, keyword.end())
        elif char in "\"'":
            end = text.find(char, start + 1, start + 1 + MAX_LITERAL + 1) + 1
            if end == 0 and len(text) - start > MAX_LITERAL:
                kind = "string" if char == '"' else "character literal"
                raise self.refuse(start, f"a {kind} longer than {MAX_LITERAL} characters, or not closed")
            if end == 0:
                end = len(text)  # not closed: dtlib says so
            self.literal(start, end)
            return self.item(start, end)
        elif char == "&":
            reference = _REFERENCE.match(text, start)
            if reference:
                self.references += not reference.group(0).startswith("&{")
                return self.item(start, reference.end())
            return self.item(start, start + (2 if text.startswith("&&", start) else 1))
        elif char in "{};":
            self.statement_items = self.statement_chars = self.statement_labels = 0
            if char == "{":
                self.open(start)
                if self.nodes > MAX_NODES:
                    raise self.refuse(
                        start, f"more than {MAX_NODES} nodes (a build's zephyr.dts has a few hundred)"
                    )
                if self.depth > MAX_DEPTH:
                    raise self.refuse(start, f"nodes nested more than {MAX_DEPTH} levels deep")
            elif char == "}" and self.depth:
                self.depth -= 1
                self.path_lengths.pop()
            return start + 1
        word = _WORD.match(text, start)
        if word is None:
            return self.item(start, start + 1)
        if word.end() - start > MAX_WORD:
            raise self.refuse(
                start, f"a name or number of {word.end() - start} characters (at most {MAX_WORD})"
            )
        self.last_word = word.end() - start
        if text[word.end() - 1] == ":":
            self.statement_labels += 1
            if self.statement_labels > MAX_STATEMENT_LABELS:
                raise self.refuse(start, f"more than {MAX_STATEMENT_LABELS} labels on one node or property")
        return self.item(start, word.end())

    def open(self, start: int) -> None:
        self.nodes += 1
        self.depth += 1
        path = self.path_lengths[-1] + 1 + self.last_word  # the node name is the word before `{`
        self.path_lengths.append(path)
        self.path_chars += path
        if self.path_chars > MAX_PATH_CHARS:
            raise self.refuse(start, f"node paths of more than {MAX_PATH_CHARS // (1024 * 1024)} MB in all")

    def literal(self, start: int, end: int) -> int:
        self.literal_chars += end - start
        if self.literal_chars > MAX_LITERAL_TOTAL:
            raise self.refuse(
                start, f"comments and strings of more than {MAX_LITERAL_TOTAL // 1024} KB in all"
            )
        return end

    def item(self, start: int, end: int) -> int:
        """One piece of a node or property statement; dtlib's cost grows with their number and size."""
        self.statement_items += 1
        self.statement_chars += end - start
        if self.statement_items > MAX_STATEMENT_ITEMS:
            raise self.refuse(start, f"a property of more than {MAX_STATEMENT_ITEMS} items")
        if self.statement_chars > MAX_STATEMENT_CHARS:
            raise self.refuse(start, f"a property of more than {MAX_STATEMENT_CHARS} characters")
        return end


def check_cost(text: str, path: Path) -> None:
    """Raise :class:`LoadError` when ``text`` is not worth handing to dtlib (see the limits above)."""
    _CostScan(text, path).run()


def _parse(dtlib: ModuleType, path: Path):
    """``dtlib.DT(path)``, opening no other file whatever the text says."""
    try:
        return _closed_dt(dtlib)(str(path))
    except _FileNamed as named:
        raise LoadError(
            path, f"devicetree not read: {named.directive} {_NOT_FOLLOWED_WHY}", named.line
        ) from None
    except Exception as exc:  # dtlib raises DTError, but also others on odd input
        raise LoadError(path, _dt_error(exc, path), _dt_error_line(exc)) from None


_NOT_FOLLOWED_WHY = "names another file; pmdoctor never reads files a devicetree points at"


class _FileNamed(Exception):
    def __init__(self, directive: str, line: Optional[int]):
        super().__init__(directive)
        self.directive = directive
        self.line = line


_CLOSED_DTS: Dict[ModuleType, type] = {}


def _closed_dt(dtlib: ModuleType) -> type:
    """dtlib's DT, except that /include/ and /incbin/ are refused rather than opened.

    :func:`check_cost` refuses both first; this stays so that no dtlib version
    that lexes some text differently from that scan can open a file.
    """
    if dtlib not in _CLOSED_DTS:

        class ClosedDT(dtlib.DT):
            def _open(self, filename, mode="r", **kwargs):
                line = getattr(self, "_lineno", None)
                raise _FileNamed(
                    "/incbin/" if "b" in mode else "/include/", line if isinstance(line, int) else None
                )

        _CLOSED_DTS[dtlib] = ClosedDT
    return _CLOSED_DTS[dtlib]


# --------------------------------------------------------------- line map

_SEGMENT_END = re.compile(r"[{}=;]")
_LABELS = re.compile(r"(?:[A-Za-z_]\w*:)*")
_PROPERTY_NAME = re.compile(r"[A-Za-z0-9_,.+?#-]+")


class LineMap:
    """Lines of nodes and properties in a dtlib-formatted DTS file.

    dtlib writes one node header, ``};`` or property per line, with an
    optional ``/* in file:line */`` after a property and a
    ``/* node '…' defined in file:line */`` line before a node. Lines are
    read statement by statement, so a node opened and closed on one line
    (which dtlib never writes, but accepts) is also popped again. Every step
    is linear in the line.
    """

    def __init__(self, text: str):
        self.nodes: Dict[str, int] = {}
        self.props: Dict[Tuple[str, str], int] = {}
        self.node_origin: Dict[str, Tuple[str, int]] = {}
        self.prop_origin: Dict[Tuple[str, str], Tuple[str, int]] = {}
        self.stack: List[str] = []
        self.pending_origin: Optional[Tuple[str, int]] = None
        for number, line in enumerate(text.split("\n"), start=1):
            if not self.line(line, number):
                break  # nesting deeper than any devicetree dtlib accepted: stop mapping

    def line(self, line: str, number: int) -> bool:
        """Map one line; False when mapping should stop."""
        code = mask_escapes(line)  # for finding where strings end
        position = 0
        while True:
            start = _NON_SPACE.search(line, position)
            if start is None:
                return True
            if line.startswith(("/*", "//"), start.start()):
                if position == 0:
                    self.comment_line(line.strip())
                return True  # code after a comment is not dtlib's output: the rest of the line is skipped
            match = _SEGMENT_END.search(line, position)
            if match is None:
                return True
            prefix, char = line[position : match.start()], match.group(0)
            if char == "{":
                name = _node_name(prefix)
                if name is None:
                    return True
                if len(self.stack) >= MAX_DEPTH:
                    return False
                self.open(name, number)
                position = match.end()
            elif char == "}":
                if prefix.strip() or not line.startswith(";", match.end()):
                    return True
                if self.stack:
                    self.stack.pop()
                position = match.end() + 1
            else:
                name = prefix.strip()
                if not _PROPERTY_NAME.fullmatch(name):
                    return True
                end = match.start() if char == ";" else _statement_end(code, match.end())
                if self.stack:
                    self.property(name, number, line, end)
                if end < 0:
                    return True
                position = end + 1

    def comment_line(self, comment: str) -> None:
        origin = node_origin(comment)
        if origin:
            self.pending_origin = origin

    def open(self, name: str, number: int) -> None:
        stack = self.stack
        path = "/" if name == "/" else (stack[-1].rstrip("/") + "/" + name if stack else name)
        stack.append(path)
        self.nodes.setdefault(path, number)
        if self.pending_origin:
            self.node_origin[path] = self.pending_origin
        self.pending_origin = None

    def property(self, name: str, number: int, line: str, end: int) -> None:
        key = (self.stack[-1], name)
        self.props.setdefault(key, number)
        comment = _trailing_comment(line, end + 1) if end >= 0 else None
        origin = prop_origin(comment) if comment else None
        if origin:
            self.prop_origin[key] = origin


def _node_name(prefix: str) -> Optional[str]:
    """The node name in ``label: label2: name`` (the text before ``{``), or None when it is not one."""
    words = prefix.split()
    if not words or not all(_LABELS.fullmatch(word) for word in words[:-1]):
        return None
    last = words[-1]
    labels = _LABELS.match(last).end()
    if labels < len(last):
        return last[labels:]
    # Only labels: the last one is taken for the name (`a: b: {` is node `b:`), as before.
    return last[last.rfind(":", 0, len(last) - 1) + 1 :]


def _statement_end(code: str, start: int) -> int:
    """Index of the ``;`` ending the property value that starts at ``start``, skipping strings; -1 if none.

    ``code`` is a line with its escapes masked (:func:`mask_escapes`).
    """
    semicolon = code.find(";", start)
    position = start
    while semicolon >= 0:
        quote = code.find('"', position, semicolon)
        if quote < 0:
            return semicolon
        position = code.find('"', quote + 1) + 1
        if position == 0:
            return -1
        if position > semicolon:
            semicolon = code.find(";", position)
    return -1


def _trailing_comment(line: str, start: int) -> Optional[str]:
    """The comment after ``start`` when it is all that is left of the line."""
    opening = _NON_SPACE.search(line, start)
    if opening is None or not line.startswith("/*", opening.start()):
        return None
    close = line.find("*/", opening.start() + 2)
    if close < 0 or _NON_SPACE.search(line, close + 2):
        return None
    return line[opening.start() : close + 2]


# ----------------------------------------------------------------- loader


def load_devicetree(path: Path, image: str, zephyr_base: Optional[Path] = None) -> Devicetree:
    """Parse one flattened ``zephyr.dts``; ``zephyr_base`` must be a trusted tree (or None).

    The flat reader (:mod:`.dts_flat`) reads what dtlib wrote, in a fraction of
    dtlib's time; dtlib reads whatever it declines. Both give the same model
    (tests/test_dts_flat.py compares them on every real devicetree), and the
    same limits apply to both: the flat reader's counts are upper bounds of the
    cost scan's, which runs whenever they come near a limit.
    """
    text = read_text(path)
    model = read_flat(text, path, image)
    return model if model is not None else read_with_dtlib(text, path, image, zephyr_base)


def read_flat(text: str, path: Path, image: str) -> Optional[Devicetree]:
    """The model of ``text`` (read from ``path``) by the flat reader, or None when it declines the text."""
    flat = dts_flat.scan(text) if not _starts_with_bom(path) else None
    if flat is None:
        return None
    if not _within_limits(flat.stats):
        check_cost(text, path)  # the exact figures: refuses what is beyond a limit
    return _model(flat, dts_flat, flat.lines, path, image)


def read_with_dtlib(text: str, path: Path, image: str, zephyr_base: Optional[Path] = None) -> Devicetree:
    """The model of ``text`` (read from ``path``) by dtlib, after the cost scan."""
    dtlib = dtlib_module(zephyr_base)
    if dtlib is None:
        raise LoadError(path, NO_PARSER, fix=INSTALL_PARSER)
    check_cost(text, path)
    tree = _parse(dtlib, path)
    return _model(tree, dtlib, LineMap(text), path, image)


def _starts_with_bom(path: Path) -> bool:
    """read_text() drops a byte order mark; dtlib does not (and refuses the file): it decides then."""
    try:
        with open(path, "rb") as handle:
            return handle.read(3) == b"\xef\xbb\xbf"
    except OSError:
        return True  # gone since it was read: let dtlib say so


def _within_limits(stats: dts_flat.Stats) -> bool:
    """Whether the flat reader's bounds show every cost limit is kept (then the cost scan is not needed)."""
    return (
        stats.lines <= MAX_LINES
        and stats.tokens <= MAX_TOKENS
        and stats.nodes <= MAX_NODES
        and stats.depth <= MAX_DEPTH
        and stats.longest_word <= MAX_WORD
        and stats.longest_line <= MAX_LITERAL  # comments and strings stay on one line here
        and stats.literal_chars <= MAX_LITERAL_TOTAL
        and stats.longest_statement <= min(MAX_STATEMENT_ITEMS, MAX_STATEMENT_CHARS)
        and stats.most_labels <= MAX_STATEMENT_LABELS
        and stats.path_chars <= MAX_PATH_CHARS
        and stats.label_references * stats.nodes <= MAX_REFERENCE_WORK
    )


def _model(tree, dtlib, lines, path: Path, image: str) -> Devicetree:
    """The model of a tree read by dtlib (with its LineMap) or by the flat reader (with its lines)."""
    model = Devicetree(file=path)
    cells: Dict[str, Tuple[int, int]] = {}  # each parent's (#address-cells, #size-cells), decoded once
    for node in tree.node_iter():  # preorder: a node's parent is in the model before it
        parent = model.nodes.get(node.parent.path) if node.parent is not None else None
        model.nodes[node.path] = _node(node, path, lines, parent, cells)
        for label in node.labels:
            model.labels[label] = node.path
    chosen = tree.root.nodes.get("chosen")
    if chosen is not None:
        for name, prop in chosen.props.items():
            target = _chosen_target(prop, dtlib)
            if target is not None:
                model.chosen[name] = target
                model.chosen_source[name] = Source(path, lines.props.get(("/chosen", name)))
                origin = lines.prop_origin.get(("/chosen", name))
                if origin:
                    model.chosen_origin[name] = Source(Path(origin[0]), origin[1])
    model.references = _references(tree, dtlib, path, lines)
    model.layout = _partition_layout(model, path, image)
    return model


def _references(tree, dtlib, path: Path, lines) -> Dict[str, List[DtReference]]:
    """Every label whose node a property points at, with the properties that do.

    Phandles (``partition = <&lfs1_part>``) and path references (``&x`` in
    ``chosen`` and ``aliases``) are typed by dtlib. Cells that mix phandles
    and numbers (``gpios = <&gpio0 3 0>``) are left out: dtlib has no public
    way to split them, and they point at controllers, not partitions.
    """
    found: Dict[str, List[DtReference]] = {}
    for node in tree.node_iter():
        for name, prop in node.props.items():
            targets = _targets(prop, dtlib)
            if not targets:
                continue
            # One object per property, shared by every label it reaches.
            reference = DtReference(node.path, name, Source(path, lines.props.get((node.path, name))))
            for target in targets:
                for label in target.labels:
                    found.setdefault(label, []).append(reference)
    return found


def _targets(prop, dtlib) -> list:
    try:
        if prop.type == dtlib.Type.PATH:
            return [prop.to_path()]
        if prop.type == dtlib.Type.PHANDLE:
            return [prop.to_node()]
        if prop.type == dtlib.Type.PHANDLES:
            return list(prop.to_nodes())
    except Exception:  # a dangling reference: dtlib already refused those while parsing
        return []
    return []


# dtlib quotes tokens in its messages; a finding is one line.
_MAX_ERROR_CHARS = 300


def _dt_error(exc: Exception, path: Path) -> str:
    text = " ".join(str(exc)[: _MAX_ERROR_CHARS * 4].split()) or type(exc).__name__
    # dtlib starts with "<path>:<line> (column n):"; the finding already says where.
    text = re.sub(rf"^{re.escape(str(path))}:\d+\s*(\(column \d+\))?:?\s*", "", text)
    if len(text) > _MAX_ERROR_CHARS:
        text = text[: _MAX_ERROR_CHARS - 1] + "…"
    return f"devicetree does not parse: {text}"


def _dt_error_line(exc: Exception) -> Optional[int]:
    match = re.search(r":(\d{1,9})(?:\s|:|\(|$)", str(exc)[: _MAX_ERROR_CHARS * 4])
    return int(match.group(1)) if match else None


def _chosen_target(prop, dtlib) -> Optional[str]:
    try:
        if prop.type == dtlib.Type.PATH:
            return prop.to_path().path
        if prop.type in (dtlib.Type.PHANDLE, dtlib.Type.PHANDLES):
            return prop.to_node().path
        if prop.type == dtlib.Type.STRING:
            return prop.to_string()
    except Exception:
        return None
    return None


def _prop_value(prop) -> object:
    if len(prop.value) > MAX_KEPT_BYTES:
        return None  # not a size, label or ranges any build writes
    if not prop.value:
        return True  # boolean property such as `ranges;`
    for convert in ("to_num", "to_string", "to_nums"):
        try:
            return getattr(prop, convert)()
        except Exception:
            continue
    return bytes(prop.value)


def _cells(node, name: str, default: int) -> int:
    prop = node.props.get(name) if node is not None else None
    try:
        return prop.to_num() if prop is not None else default
    except Exception:
        return default


def _reg(node, cells: Dict[str, Tuple[int, int]]) -> Tuple[Tuple[int, int], ...]:
    prop = node.props.get("reg")
    if prop is None:
        return ()
    address_cells, size_cells = _parent_cells(node.parent, cells)
    raw = bytes(prop.value)
    step = 4 * (address_cells + size_cells)
    if step == 0 or len(raw) % step or not _plausible_cells(address_cells, size_cells, len(raw)):
        return ()
    entries = []
    for offset in range(0, len(raw), step):
        address = int.from_bytes(raw[offset : offset + 4 * address_cells], "big")
        size = int.from_bytes(raw[offset + 4 * address_cells : offset + step], "big")
        entries.append((address, size))
    return tuple(entries)


def _status_okay(status) -> bool:
    """Whether a ``status`` property enables its node; one that is no string disables nothing."""
    try:
        return status.to_string() in ("okay", "ok")
    except Exception:
        return True


def _parent_cells(parent, cells: Dict[str, Tuple[int, int]]) -> Tuple[int, int]:
    """How many cells a child's address and size take (devicetree defaults: 2 and 1)."""
    key = parent.path if parent is not None else ""
    if key not in cells:
        cells[key] = (_cells(parent, "#address-cells", 2), _cells(parent, "#size-cells", 1))
    return cells[key]


# Addresses and sizes are at most 128 bits; more cells only make numbers nobody can print.
_MAX_CELLS = 4


def _plausible_cells(address_cells: int, size_cells: int, length: int) -> bool:
    return 0 <= address_cells <= _MAX_CELLS and 0 <= size_cells <= _MAX_CELLS and length <= MAX_KEPT_BYTES


def _node(
    node, path: Path, lines: LineMap, parent: Optional[DtNode], cells: Dict[str, Tuple[int, int]]
) -> DtNode:
    """The model of ``node``; ``parent`` is its parent's model (None for the root)."""
    compatible: Tuple[str, ...] = ()
    if "compatible" in node.props:
        try:
            if len(node.props["compatible"].value) <= MAX_KEPT_BYTES:
                compatible = tuple(node.props["compatible"].to_strings())
        except Exception:
            compatible = ()
    # Effective status: a node is enabled only when it and every ancestor are.
    status_okay = parent.status_okay if parent is not None else True
    if status_okay and "status" in node.props:
        status_okay = _status_okay(node.props["status"])
    props = {name: _prop_value(node.props[name]) for name in _KEPT_PROPS if name in node.props}
    props = {name: value for name, value in props.items() if value is not None}
    origin = lines.node_origin.get(node.path)
    return DtNode(
        path=node.path,
        name=node.name,
        labels=tuple(node.labels),
        compatible=compatible,
        status_okay=status_okay,
        reg=_reg(node, cells),
        props=props,
        source=Source(path, lines.nodes.get(node.path)),
        origin=Source(Path(origin[0]), origin[1]) if origin else None,
    )


# -------------------------------------------------------------- partitions


def flash_region(tree: Devicetree, flash: DtNode) -> Region:
    """A flash device (SoC NVM or external NOR) as a region."""
    name = devicetree_region(flash.label)
    if is_nor(flash):
        bits = flash.props.get("size")
        size = bits // 8 if isinstance(bits, int) else None
        return Region(
            name=name,
            base=0,
            size=size,
            erase_block=NOR_ERASE_BLOCK,
            write_block=1,
            placement_strategy="devicetree",
            device=flash.path,
            source=flash.source,
            origin=f"size property of {flash.label} (bits)",
        )
    base, size = flash.reg[0] if flash.reg else (None, None)
    erase = flash.props.get("erase-block-size")
    write = flash.props.get("write-block-size")
    return Region(
        name=name,
        base=base,
        size=size,
        erase_block=erase if isinstance(erase, int) else None,
        write_block=write if isinstance(write, int) else None,
        placement_strategy="devicetree",
        device=flash.path,
        source=flash.source,
        origin=f"reg of {flash.label}",
    )


def _partition_layout(tree: Devicetree, path: Path, image: str) -> Optional[Layout]:
    layout = Layout(kind=LayoutKind.DEVICETREE, file=path, image=image)
    for node in tree.nodes.values():
        if not _is_partition(tree, node) or not node.reg:
            continue
        flash = _flash_of(tree, node)
        if flash is None:
            continue
        region = layout.regions.get(devicetree_region(flash.label)) or flash_region(tree, flash)
        layout.regions[region.name] = region
        offset, size = node.reg[0]
        offset += _ranges_shift(tree, node, flash, offset)
        base = 0 if is_nor(flash) or region.base is None else region.base
        name = node.labels[0] if node.labels else node.name
        layout.partitions[name] = Partition(
            name=name,
            address=base + offset,
            size=size,
            region=region.name,
            device=flash.path,
            source=node.origin or node.source,
            dt_label=node.labels[0] if node.labels else None,
            dt_path=node.path,
        )
    _nest_subpartitions(tree, layout)
    return layout if layout.partitions else None


def _nest_subpartitions(tree: Devicetree, layout: Layout) -> None:
    """A `fixed-subpartitions` node (TF-M's slot0 = secure + non-secure) spans its children."""
    children: Dict[str, List[str]] = {}
    for child in layout.partitions.values():
        if child.dt_path:
            children.setdefault(child.dt_path.rsplit("/", 1)[0], []).append(child.name)
    for part in layout.partitions.values():
        node = tree.nodes.get(part.dt_path or "")
        if node is None or "fixed-subpartitions" not in node.compatible:
            continue
        part.span = tuple(children.get(part.dt_path or "", ()))


def _ranges_shift(tree: Devicetree, node: DtNode, flash: DtNode, offset: int) -> int:
    """Translate through `ranges = <child parent length>` of nodes between partition and flash."""
    shift = 0
    path = node.path.rsplit("/", 1)[0]
    while path and path != flash.path:
        ancestor = tree.nodes.get(path)
        ranges = ancestor.props.get("ranges") if ancestor else None
        if isinstance(ranges, list) and len(ranges) % 3 == 0:
            for child, parent, length in zip(ranges[0::3], ranges[1::3], ranges[2::3]):
                if child <= offset + shift < child + length:
                    shift += parent - child
                    break
        path = path.rsplit("/", 1)[0]
    return shift


def _is_partition(tree: Devicetree, node: DtNode) -> bool:
    if "zephyr,mapped-partition" in node.compatible:
        return True
    parent = tree.nodes.get(node.path.rsplit("/", 1)[0] or "/")
    return parent is not None and any(c in _PARTITION_PARENTS for c in parent.compatible)


def _flash_of(tree: Devicetree, node: DtNode) -> Optional[DtNode]:
    """The flash device a partition belongs to: the nearest ancestor that is not a partitions node."""
    path = node.path
    while "/" in path.strip("/"):
        path = path.rsplit("/", 1)[0]
        ancestor = tree.nodes.get(path)
        if ancestor is None:
            return None
        if any(c in _PARTITION_PARENTS for c in ancestor.compatible) or ancestor.name == "partitions":
            continue
        if "zephyr,mapped-partition" in ancestor.compatible:
            continue
        return ancestor
    return None
