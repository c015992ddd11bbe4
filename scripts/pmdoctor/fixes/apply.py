"""Apply edits to the text of the user's files: the smallest change, everything else kept byte for byte.

- A static layout (``pm_static*.yml``) is parsed with ruamel.yaml's
  round-trip loader, which knows the line and column of every key and value;
  only the lines an edit touches are rewritten. Comments, key order, blank
  lines, anchors and the number style of the file (``0x`` or decimal, case,
  zero padding) stay as the user wrote them, which a full re-dump does not
  promise (it renumbers anchors and re-flows aligned values).
- A Kconfig fragment has the symbol's assignment replaced where it is
  (``CONFIG_X=y``, ``# CONFIG_X is not set``), never a second one added; a
  symbol the fragment does not set yet gets a line at the end.
- A devicetree overlay gets the addition at the end, after a comment naming
  the rule, unless the file holds it already.

Every edit is idempotent: applied to its own result it changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ..model.edits import Action, Edit, KconfigEdit, OverlayEdit, StaticEdit
from .write import file_digest


class EditError(Exception):
    """An edit that does not fit the file as it is (a partition it names is absent, unreadable YAML)."""


# ---------------------------------------------------------------------------------------------- any file


def apply_edits(text: str, edits: Sequence[Tuple[Edit, str]]) -> str:
    """``text`` with each ``(edit, rule)`` applied in turn; ``rule`` names the rule in overlay comments."""
    last_comment: Optional[str] = None
    for edit, rule in edits:
        if isinstance(edit, StaticEdit):
            text = apply_static(text, edit)
        elif isinstance(edit, KconfigEdit):
            text = apply_kconfig(text, edit)
        else:
            before = text
            # One comment heads consecutive additions made for the same rule.
            text = apply_overlay(text, edit, rule, comment=rule != last_comment)
            if text != before:
                last_comment = rule
    return text


def _newline(text: str) -> str:
    """The file's line ending, so an added line matches its neighbours."""
    return "\r\n" if "\r\n" in text else "\n"


def _appended(text: str, addition: str) -> str:
    """``addition`` (lines joined by ``\\n``) after the last line of ``text``, in the file's line ending."""
    newline = _newline(text)
    if text and not text.endswith(("\n", "\r")):
        text += newline
    return text + addition.replace("\n", newline) + newline


# ---------------------------------------------------------------------------------------------- Kconfig

_ASSIGNMENT = re.compile(r"^\s*(?P<symbol>[A-Za-z0-9_]+)\s*=(?P<value>[^\r\n]*)")
_NOT_SET = re.compile(r"^\s*#\s*(?P<symbol>[A-Za-z0-9_]+) is not set\s*$")


def _assigned(line: str, symbol: str) -> Optional[str]:
    """The value ``line`` gives ``symbol`` (``n`` for ``# CONFIG_X is not set``), or None."""
    match = _ASSIGNMENT.match(line)
    if match and match.group("symbol") == symbol:
        return match.group("value").strip()
    match = _NOT_SET.match(line)
    if match and match.group("symbol") == symbol:
        return "n"
    return None


def _same_kconfig_value(written: str, wanted: str) -> bool:
    if written == wanted:
        return True
    try:  # 0x1000 and 4096 are one value to Kconfig
        return int(written, 0) == int(wanted, 0)
    except ValueError:
        return False


def apply_kconfig(text: str, edit: KconfigEdit) -> str:
    """Set or remove one symbol in a fragment: in place, the first assignment kept, later ones dropped."""
    lines = text.splitlines(keepends=True)
    hits = [index for index, line in enumerate(lines) if _assigned(line, edit.symbol) is not None]
    if edit.action is Action.REMOVE:
        return "".join(line for index, line in enumerate(lines) if index not in hits)
    if edit.value is None:
        raise EditError(f"setting {edit.symbol} needs a value")
    if not hits:
        return _appended(text, f"{edit.symbol}={edit.value}")
    first, later = hits[0], set(hits[1:])
    written = _assigned(lines[first], edit.symbol) or ""
    if not _same_kconfig_value(written, edit.value):
        ending = lines[first][len(lines[first].rstrip("\r\n")) :]
        lines[first] = f"{edit.symbol}={edit.value}{ending or _newline(text)}"
    # Kconfig takes the last assignment: a later one would undo this one.
    return "".join(line for index, line in enumerate(lines) if index not in later)


# ---------------------------------------------------------------------------------------------- overlays


def _squeezed(text: str) -> str:
    return " ".join(text.split())


def overlay_comment(rule: str) -> str:
    return f"/* Added by pmdoctor fix for {rule} */"


def apply_overlay(text: str, edit: OverlayEdit, rule: str, comment: bool = True) -> str:
    """The edit's text at the end of the overlay, unless the overlay holds it already."""
    if _squeezed(edit.text) in _squeezed(text):
        return text
    addition = f"{overlay_comment(rule)}\n{edit.text}" if comment else edit.text
    if text.strip() and comment:
        addition = "\n" + addition  # a blank line between the user's text and pmdoctor's
    return _appended(text, addition)


# ---------------------------------------------------------------------------------------------- static layout


@dataclass
class _Layout:
    """A static file as lines, and where each partition and key sits in them."""

    lines: List[str]
    document: Dict
    newline: str

    def partition_lines(self, name: str) -> Tuple[int, int]:
        """First line of the partition and one past its last content line (trailing comments excluded)."""
        names = list(self.document)
        start = self.document.lc.key(name)[0]
        position = names.index(name)
        end = self.document.lc.key(names[position + 1])[0] if position + 1 < len(names) else len(self.lines)
        return start, self._trimmed(start, end)

    def key_lines(self, name: str, key: str) -> Tuple[int, int]:
        partition = self.document[name]
        keys = list(partition)
        start = partition.lc.key(key)[0]
        position = keys.index(key)
        if position + 1 < len(keys):
            end = partition.lc.key(keys[position + 1])[0]
        else:
            end = self.partition_lines(name)[1]
        return start, self._trimmed(start, end)

    def _trimmed(self, start: int, end: int) -> int:
        """Blank and comment lines at the end of a block belong to what follows."""
        while end > start + 1:
            stripped = self.lines[end - 1].strip()
            if stripped and not stripped.startswith("#"):
                break
            end -= 1
        return end

    def key_indent(self, name: str) -> str:
        partition = self.document.get(name)
        if isinstance(partition, dict) and partition:
            return " " * partition.lc.key(next(iter(partition)))[1]
        return " " * _file_indent(self.document)

    @property
    def text(self) -> str:
        return "".join(self.lines)


def _file_indent(document) -> int:
    """How far the file indents a partition's keys (2 unless its first partition says otherwise)."""
    for value in document.values():
        if isinstance(value, dict) and value:
            return value.lc.key(next(iter(value)))[1] or 2
    return 2


def _load(text: str) -> _Layout:
    try:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError
    except ImportError:  # it comes with pykwalify; a bare install may lack it
        raise EditError("ruamel.yaml is not installed (pip install ruamel.yaml)") from None

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = True
    try:
        document = yaml.load(text)
    except (YAMLError, ValueError, RecursionError) as error:
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        raise EditError(f"its YAML cannot be read: {first_line}") from None
    if document is None:
        document = _empty_map()
    if not isinstance(document, dict):
        raise EditError("it is not a map of partitions")
    return _Layout(text.splitlines(keepends=True), document, _newline(text))


def _empty_map():
    from ruamel.yaml.comments import CommentedMap

    return CommentedMap()


_HEX = re.compile(r"^(?P<prefix>0[xX])(?P<digits>[0-9a-fA-F]+)$")


def _number_style(token: str, file_upper: bool) -> Optional[Tuple[str, bool, int]]:
    """``(prefix, upper case, digits)`` of a hex number as written, or None for a decimal or a name.

    A token without letters (``0x10000``) does not say its case: the file's other numbers do.
    """
    match = _HEX.match(token)
    if not match:
        return None
    digits = match.group("digits")
    letters = [c for c in digits if c.isalpha()]
    upper = all(c.isupper() for c in letters) if letters else file_upper
    padded = len(digits) if digits.startswith("0") and len(digits) > 1 else 0
    return match.group("prefix"), upper, padded


def _file_number_style(text: str) -> Tuple[str, bool, int]:
    """The hex style most of the file's numbers use, for values the edit adds."""
    tokens = re.findall(r"\b0[xX][0-9a-fA-F]+\b", text)
    upper = sum(1 for t in tokens if re.search(r"[A-F]", t[2:]) and not re.search(r"[a-f]", t[2:]))
    lower = sum(1 for t in tokens if re.search(r"[a-f]", t[2:]))
    return "0x", upper > lower, 0


def _scalar(value: object, style: Optional[Tuple[str, bool, int]]) -> str:
    """A value written the way the file writes its kind: hex in the token's (or file's) style."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if style is None:
            return str(value)
        prefix, upper, width = style
        digits = f"{value:0{width}x}"
        return prefix + (digits.upper() if upper else digits)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_scalar(item, style) for item in value) + "]"
    return str(value)


def _same_yaml_value(current: object, wanted: object) -> bool:
    if isinstance(wanted, (tuple, list)):
        return isinstance(current, (tuple, list)) and [str(v) for v in current] == [str(v) for v in wanted]
    if isinstance(wanted, bool) or isinstance(current, bool):
        return current is wanted
    return current == wanted


def _value_token(line: str, column: int) -> Tuple[int, int]:
    """Where the plain scalar that starts at ``column`` ends (before a comment and trailing blanks)."""
    end = len(line.rstrip("\r\n"))
    comment = line.find(" #", column)
    if comment != -1:
        end = comment
    while end > column and line[end - 1] in " \t":
        end -= 1
    return column, end


def _set_key(layout: _Layout, edit: StaticEdit, text: str) -> str:
    name, key = edit.partition, edit.key
    partition = layout.document.get(name)
    if not isinstance(partition, dict):
        raise EditError(f"it has no partition `{name}`")
    if partition.fa.flow_style():
        raise EditError(f"`{name}` is written in flow style ({{…}} on one line); edit it by hand")
    file_style = _file_number_style(text)
    if key not in partition:
        _, end = layout.partition_lines(name)
        line = f"{layout.key_indent(name)}{key}: {_scalar(edit.value, file_style)}{layout.newline}"
        if end and not layout.lines[end - 1].endswith(("\n", "\r")):
            layout.lines[end - 1] += layout.newline
        layout.lines.insert(end, line)
        return layout.text
    current = partition[key]
    if _same_yaml_value(current, edit.value):
        return text
    start, end = layout.key_lines(name, key)
    value_line, value_column = partition.lc.value(key)
    scalar_in_place = not isinstance(current, (dict, list)) and value_line == start and end == start + 1
    if scalar_in_place and not isinstance(edit.value, (tuple, list)):
        line = layout.lines[start]
        begin, stop = _value_token(line, value_column)
        # A number keeps the style it is written in (a decimal stays decimal); a name becomes hex.
        style = _number_style(line[begin:stop], file_style[1]) if isinstance(current, int) else file_style
        layout.lines[start] = line[:begin] + _scalar(edit.value, style) + line[stop:]
        return layout.text
    # A list, an alias or a value over several lines: the key's lines are written anew.
    indent = " " * partition.lc.key(key)[1]
    layout.lines[start:end] = [f"{indent}{key}: {_scalar(edit.value, file_style)}{layout.newline}"]
    return layout.text


def apply_static(text: str, edit: StaticEdit) -> str:
    """One partition key set or removed, or a partition added or removed, in a static layout's text.

    The result is read back: it must hold what the edit says and everything
    else as before (removing the key that holds an anchor another key's alias
    uses would not); otherwise :class:`EditError`, and the file is left alone.
    """
    result = _edited(text, edit)
    if result != text:
        _check_result(text, result, edit)
    return result


def _plain(value: object) -> object:
    return [_plain(item) for item in value] if isinstance(value, (tuple, list)) else value


def _check_result(before: str, after: str, edit: StaticEdit) -> None:
    import yaml

    name = edit.partition
    where = f"`{name}`" + (f" `{edit.key}`" if edit.key else "")
    try:
        expected, got = yaml.safe_load(before), yaml.safe_load(after)
    except yaml.YAMLError:  # an anchor went with the lines that held it
        raise EditError(f"changing {where} here would break the YAML (an alias?); edit by hand") from None
    expected = expected or {}
    if edit.action is Action.ADD:
        entries = {key: _plain(value) for key, value in edit.entries}
        if isinstance(expected.get(name), dict):
            expected[name].update(entries)
        else:
            expected[name] = entries
    elif edit.action is Action.REMOVE and edit.key is None:
        expected.pop(name, None)
    elif isinstance(expected.get(name), dict):
        if edit.action is Action.REMOVE:
            expected[name].pop(edit.key, None)
        elif edit.action is Action.SET:
            expected[name][edit.key] = _plain(edit.value)
    if got != expected:
        raise EditError(f"changing {where} here would change more than that (an alias?); edit by hand")


def _edited(text: str, edit: StaticEdit) -> str:
    layout = _load(text)
    name = edit.partition
    if edit.action is Action.ADD:
        if name in layout.document:
            for key, value in edit.entries:  # there already: make its keys what the edit says
                text = _edited(text, StaticEdit(edit.target, Action.SET, name, key, value))
            return text
        indent = " " * _file_indent(layout.document)
        style = _file_number_style(text)
        body = "".join(f"\n{indent}{key}: {_scalar(value, style)}" for key, value in edit.entries)
        return _appended(text, f"{name}:{body}")
    if edit.action is Action.REMOVE:
        if name not in layout.document:
            return text
        if edit.key is None:
            start, end = layout.partition_lines(name)
        else:
            partition = layout.document[name]
            if not isinstance(partition, dict) or edit.key not in partition:
                return text
            if partition.fa.flow_style():
                raise EditError(f"`{name}` is written in flow style ({{…}} on one line); edit it by hand")
            start, end = layout.key_lines(name, edit.key)
        del layout.lines[start:end]
        return layout.text
    if edit.key is None:
        raise EditError(f"setting a key of `{name}` needs the key")
    return _set_key(layout, edit, text)


# ---------------------------------------------------------------------------------------------- planning


@dataclass
class FileChange:
    """One file's text before and after the edits that go into it."""

    path: Path
    before: Optional[str]  # None: the file does not exist yet
    after: str
    read_digest: Optional[str]  # the digest of the bytes ``before`` came from
    edits: List[Tuple[Edit, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.after != (self.before or "")


def read_source(path: Path) -> Tuple[Optional[str], Optional[str]]:
    """The file's text (None when absent) and digest; raises EditError for what is not a text file."""
    if path.is_symlink():
        raise EditError("it is a symbolic link (pmdoctor never writes through one)")
    if not path.exists():
        return None, None
    if not path.is_file():
        raise EditError("it is not a regular file")
    data = path.read_bytes()
    try:
        return data.decode("utf-8"), file_digest(data)
    except UnicodeDecodeError:
        raise EditError("it is not UTF-8 text") from None


def plan_file(path: Path, edits: Sequence[Tuple[Edit, str]]) -> FileChange:
    """Read the file once and apply its edits to the text read (raises EditError)."""
    try:
        before, read_digest = read_source(path)
    except OSError as error:
        raise EditError(f"it cannot be read: {error.strerror or error}") from None
    after = apply_edits(before or "", edits)
    return FileChange(path, before, after, read_digest, list(edits))
