"""Parse a Kconfig ``.config`` by hand, keeping line numbers.

kconfiglib cannot read a bare ``.config`` (it drops every symbol it has no
Kconfig definition for), so this follows the format Kconfig writes:
``NAME=value`` and ``# NAME is not set``, for ``CONFIG_`` and ``SB_CONFIG_``.

A build's images have thousands of lines between them and the rules read a
few dozen symbols, so a line is kept as its raw value and line number, and
becomes a :class:`~pmdoctor.model.Setting` (value parsed, source attached)
the first time it is read (:class:`Settings`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterator, MutableMapping, Optional, Tuple

from ..model import Kconfig, Setting, Source
from . import parse_int, read_text

_ASSIGNMENT = re.compile(r"^((?:SB_)?CONFIG_[A-Za-z0-9_]+)=(.*)$")
_NOT_SET = re.compile(r"^# ((?:SB_)?CONFIG_[A-Za-z0-9_]+) is not set\s*$")
# Every line of a text whose only line breaks are "\n", the n-th match being line n: a setting
# (both of the above) or anything else (no group).
_EVERY_LINE = re.compile(
    r"^(?:((?:SB_)?CONFIG_[A-Za-z0-9_]+)=(.*)|# ((?:SB_)?CONFIG_[A-Za-z0-9_]+) is not set[^\S\n]*|.*)$", re.M
)
# Where str.splitlines() breaks lines besides "\n" (and "\r\n", handled apart).
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")

_NOT_SET_VALUE = None  # the raw value of `# NAME is not set`
Raw = Tuple[Optional[str], int]  # raw value (None: not set), line


def parse_value(raw: str) -> object:
    """``y`` -> True, ``n`` -> False, numbers -> int, quoted -> unescaped str."""
    raw = raw.strip()
    if raw == "y":
        return True
    if raw == "n":
        return False
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    number = parse_int(raw)
    return raw if number is None else number


class Settings(MutableMapping):
    """The settings of one .config by name, a :class:`Setting` made for a line when it is first read.

    It behaves as the dict of Settings it replaces: same keys in the same
    order (a symbol set twice keeps its first place and its last value),
    ``in`` and ``len`` without making anything, equality with any mapping.
    """

    __slots__ = ("_file", "_made", "_raw")

    def __init__(self, file: Optional[Path], raw: Optional[Dict[str, Raw]] = None):
        self._file = file
        self._raw: Dict[str, Optional[Raw]] = dict(raw or {})  # None: set as a Setting (in _made)
        self._made: Dict[str, Setting] = {}

    def __getitem__(self, name: str) -> Setting:
        made = self._made.get(name)
        if made is None:
            raw = self._raw[name]
            if raw is None:  # pragma: no cover - assigned Settings are always in _made
                raise KeyError(name)
            value, line = raw
            parsed = False if value is _NOT_SET_VALUE else parse_value(value)
            made = self._made[name] = Setting(name, parsed, Source(self._file, line))
        return made

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        made = self._made.get(name)
        if made is not None:
            return made
        return self[name] if name in self._raw else default

    def __setitem__(self, name: str, setting: Setting) -> None:
        self._raw[name] = None
        self._made[name] = setting

    def __delitem__(self, name: str) -> None:
        del self._raw[name]
        self._made.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


def parse_kconfig(text: str, path: Path) -> Kconfig:
    return Kconfig(file=path, settings=Settings(path, _raw_settings(text)))


def _raw_settings(text: str) -> Dict[str, Raw]:
    """Every setting line as name -> (raw value, line), numbered as ``text.splitlines()`` numbers them."""
    if "\r" in text and text.count("\r") == text.count("\r\n"):
        text = text.replace("\r\n", "\n")  # the same lines and numbers
    if _OTHER_BREAKS.search(text):
        return _raw_settings_by_line(text)
    raw: Dict[str, Raw] = {}
    for number, (name, value, unset) in enumerate(_EVERY_LINE.findall(text), start=1):
        if name:
            raw[name] = (value, number)
        elif unset:
            raw[unset] = (_NOT_SET_VALUE, number)
    return raw


def _raw_settings_by_line(text: str) -> Dict[str, Raw]:
    raw: Dict[str, Raw] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _ASSIGNMENT.match(line)
        if match:
            raw[match.group(1)] = (match.group(2), number)
            continue
        match = _NOT_SET.match(line)
        if match:
            raw[match.group(1)] = (_NOT_SET_VALUE, number)
    return raw


def load_kconfig(path: Path) -> Kconfig:
    return parse_kconfig(read_text(path), path)
