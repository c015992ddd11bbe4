"""Parse a Kconfig ``.config`` by hand, keeping line numbers.

kconfiglib cannot read a bare ``.config`` (it drops every symbol it has no
Kconfig definition for), so this follows the format Kconfig writes:
``NAME=value`` and ``# NAME is not set``, for ``CONFIG_`` and ``SB_CONFIG_``.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..model import Kconfig, Setting, Source
from . import parse_int, read_text

_ASSIGNMENT = re.compile(r"^((?:SB_)?CONFIG_[A-Za-z0-9_]+)=(.*)$")
_NOT_SET = re.compile(r"^# ((?:SB_)?CONFIG_[A-Za-z0-9_]+) is not set\s*$")


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


def parse_kconfig(text: str, path: Path) -> Kconfig:
    config = Kconfig(file=path)
    for number, line in enumerate(text.splitlines(), start=1):
        match = _ASSIGNMENT.match(line)
        if match:
            name, value = match.group(1), parse_value(match.group(2))
        else:
            match = _NOT_SET.match(line)
            if not match:
                continue
            name, value = match.group(1), False
        config.settings[name] = Setting(name, value, Source(path, number))
    return config


def load_kconfig(path: Path) -> Kconfig:
    return parse_kconfig(read_text(path), path)
