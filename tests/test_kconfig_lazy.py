"""A .config's settings are made when read; what is read is what a line-by-line parse gives.

``loaders/kconfig.py`` keeps (raw value, line) per symbol and makes a
``Setting`` on first read. These tests hold it to the plain definition: every
line of ``text.splitlines()`` is a ``NAME=value`` or ``# NAME is not set`` line
or nothing, numbered from 1, the last assignment winning and the first
keeping its place, whatever line breaks the text uses.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Tuple

from hypothesis import given, settings
from hypothesis import strategies as st

from pmdoctor.loaders.kconfig import parse_kconfig, parse_value
from pmdoctor.model import Setting, Source

PATH = Path("zephyr/.config")
_ASSIGNMENT = re.compile(r"^((?:SB_)?CONFIG_[A-Za-z0-9_]+)=(.*)$")
_NOT_SET = re.compile(r"^# ((?:SB_)?CONFIG_[A-Za-z0-9_]+) is not set\s*$")


def reference(text: str) -> List[Tuple[str, object, int]]:
    """The eager parse, line by line (what parse_kconfig gave before it was lazy)."""
    found: Dict[str, Tuple[object, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _ASSIGNMENT.match(line)
        if match:
            found[match.group(1)] = (parse_value(match.group(2)), number)
            continue
        match = _NOT_SET.match(line)
        if match:
            found[match.group(1)] = (False, number)
    return [(name, value, line) for name, (value, line) in found.items()]


NAMES = st.sampled_from(["CONFIG_A", "CONFIG_B_SIZE", "SB_CONFIG_C", "CONFIG_x9"])
LINES = st.one_of(
    st.builds(
        lambda n, v: f"{n}={v}", NAMES, st.sampled_from(["y", "n", "0x20", "-3", '"s"', "m", "", "a=b"])
    ),
    st.builds(lambda n, tail: f"# {n} is not set{tail}", NAMES, st.sampled_from(["", " ", "\t", " x"])),
    st.sampled_from(["", "#", "# comment", " CONFIG_A=y", "CONFIG_=y", "CONFIG_A y", "CONFIG_A=y\t"]),
)
BREAKS = st.sampled_from(["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"])


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.tuples(LINES, BREAKS), max_size=12), st.booleans())
def test_lazy_settings_are_the_line_by_line_parse(lines: List[Tuple[str, str]], plain: bool) -> None:
    text = "".join(line + ("\n" if plain else brk) for line, brk in lines)
    config = parse_kconfig(text, PATH)
    expected = reference(text)
    assert list(config.settings) == [name for name, _, _ in expected]
    assert len(config.settings) == len(expected)
    for name, value, line in expected:
        assert name in config.settings
        assert config.settings[name] == Setting(name, value, Source(PATH, line))
        assert config.where(name) == Source(PATH, line)
    assert dict(config.settings.items()) == {n: Setting(n, v, Source(PATH, ln)) for n, v, ln in expected}


def test_settings_behave_as_a_dict() -> None:
    config = parse_kconfig("CONFIG_A=y\nCONFIG_B=0x10\nCONFIG_A=n\n", PATH)
    settings_ = config.settings
    assert list(settings_) == ["CONFIG_A", "CONFIG_B"] and "CONFIG_C" not in settings_
    assert settings_.get("CONFIG_C") is None and settings_.get("CONFIG_C", 1) == 1
    assert settings_.get("CONFIG_A") == Setting("CONFIG_A", False, Source(PATH, 3))
    made = Setting("CONFIG_C", 5, Source(PATH, 9))
    settings_["CONFIG_C"] = made
    assert settings_["CONFIG_C"] is made and list(settings_)[-1] == "CONFIG_C"
    del settings_["CONFIG_B"]
    assert "CONFIG_B" not in settings_ and len(settings_) == 2
    assert settings_ == {"CONFIG_A": Setting("CONFIG_A", False, Source(PATH, 3)), "CONFIG_C": made}
