"""Neutralising user data for every report format.

Partition names, paths, Kconfig values and log lines come from files that
strangers attach to forum threads: they may carry terminal escapes, line
breaks, bidi overrides, XML-illegal characters or markdown. Reporters pass
every value that can hold such data through one of these functions at the
point where they place it; what the reporter adds itself (line breaks,
colour, markup) comes after, so it is the only structure in the output.
"""

from __future__ import annotations

import re
from typing import List, Optional

# Characters that must never reach a terminal, an XML document or a forum
# reply raw: C0 and C1 controls, DEL, lone surrogates, U+FFFE/U+FFFF, and
# every invisible formatting character (Unicode categories Cf, Zl, Zp):
# bidi overrides and isolates, zero-width characters, line/paragraph
# separators (str.splitlines and some renderers break lines on them), tags.
_HIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\ufffe\uffff\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)


_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escaped(match: re.Match) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def one_line(value: object) -> str:
    """A user value for a one-line field: every hidden character, line breaks included, shown escaped."""
    return _HIDDEN.sub(_escaped, str(value))


def block_lines(text: str) -> List[str]:
    """A multi-line user value (a fix snippet), one neutral line each: only ``\\n`` breaks lines,
    tabs stay (snippets indent with them), everything else hidden is shown escaped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [_HIDDEN.sub(lambda m: "\t" if m.group() == "\t" else _escaped(m), line) for line in lines]


# ------------------------------------------------------------ GitHub Actions


def workflow_data(text: str) -> str:
    """The message of a workflow command (``::error …::DATA``), the ``::group::`` title included."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(text: str) -> str:
    """A ``key=value`` property of a workflow command: data escapes, plus its separators."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")


# ------------------------------------------------------------------ markdown

_BACKTICK_RUN = re.compile("`+")
# What the rules write around a name: one backtick on each side, no backtick
# next to either (a longer run would pair differently in CommonMark).
_QUOTED = re.compile(r"(?<!`)`([^`]+)`(?!`)")
_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# Always active: code spans, links and images, raw HTML and autolinks.
_ALWAYS = {"`": "\\`", "[": "\\[", "]": "\\]", "<": "&lt;"}
_DELIMITERS = "*_~"  # emphasis and strikethrough: active only where they can open
_NUMERIC_REFERENCE = re.compile(r"&#(?:[0-9]{1,7}|[xX][0-9a-fA-F]{1,6});")
_NAMED_REFERENCE = re.compile(r"&([A-Za-z][A-Za-z0-9]{0,31};)")
# Block constructs a line can open with (list items hold their text as blocks):
# heading, blockquote, list item, thematic break, tilde fence. The group that
# matched is the character to escape.
_BLOCK_START = re.compile(
    r" *(?:(#)#{0,5}(?: |$)|(>)|([-+*])(?: |$)|[0-9]{1,9}([.)])(?: |$)|([-*])[-* ]*$|(~)~~)"
)


def md_code(value: object, table: bool = False) -> str:
    """A user value as a code span: the fence is longer than any backtick run inside."""
    text = one_line(value)
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each side of a span that has one on both
    # sides, and a backtick next to the fence would lengthen it: pad then.
    if not text or text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " "):
        text = f" {text} "
    if table:  # a table row splits at every unescaped pipe, code spans included
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"


def md_text(value: object, table: bool = False) -> str:
    """Free text (a message, evidence, a note) made inert.

    Names the rules quote in single backticks become proper code spans;
    elsewhere markdown and HTML syntax is escaped where it would be active,
    so the text can form no link, image, emphasis, heading, list, HTML or
    table cell, and ordinary text (mcuboot_secondary, >= 244) reads as written.
    """
    text = one_line(value)
    out: List[str] = []
    position = 0
    for match in _QUOTED.finditer(text):
        before = "`" if position else None
        out.append(_inert(text[position : match.start()], table, before, after="`"))
        out.append(md_code(match.group(1), table))
        position = match.end()
    out.append(_inert(text[position:], table, "`" if position else None, after=None))
    return "".join(out)


def _inert(text: str, table: bool, before: Optional[str], after: Optional[str]) -> str:
    """Escape one stretch of free text. ``before``/``after``: the characters around it in the
    output (a code span's backtick), None when unknown (text start or end: assume the worst)."""
    opener = _BLOCK_START.match(text) if before is None else None
    marker = opener.start(opener.lastindex) if opener else -1
    out: List[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in _DELIMITERS:
            end = index + 1
            while end < len(text) and text[end] == char:
                end += 1
            previous = text[index - 1] if index else before
            following = text[end] if end < len(text) else after
            run = text[index:end]
            opens = index == marker or _can_open(char, previous, following)
            out.append("".join("\\" + c for c in run) if opens else run)
            index = end
            continue
        following = text[index + 1] if index + 1 < len(text) else after
        if index == marker:
            out.append("&gt;" if char == ">" else "\\" + char)
        elif char == "\\" and (following is None or following in _ASCII_PUNCTUATION):
            out.append("\\\\")  # literal, unless it escapes punctuation (or ends a line: a hard break)
        elif char == "&" and _is_reference(text, index):
            out.append("&amp;")
        elif char == "|" and table:
            out.append("\\|")
        else:
            out.append(_ALWAYS.get(char, char))
        index += 1
    return "".join(out)


def _can_open(char: str, previous: Optional[str], following: Optional[str]) -> bool:
    """Whether a run of ``*``, ``_`` or ``~`` could open emphasis or strikethrough (CommonMark
    flanking rules, decided the safe way round for characters some renderers class differently).

    Only openers need escaping: a run that can only close has nothing to pair with.
    """
    after_word = previous is not None and previous.isalnum()
    if char == "_" and after_word:
        return False  # intraword or closing: ``_`` after a letter or digit never opens
    if following == " ":
        return False  # followed by whitespace: not left-flanking
    return not (after_word and following is not None and following in _ASCII_PUNCTUATION)


def _is_reference(text: str, index: int) -> bool:
    """``&amp;``, ``&#x202e;``: a character reference renderers decode (``&spi3;`` is none)."""
    if _NUMERIC_REFERENCE.match(text, index):
        return True
    named = _NAMED_REFERENCE.match(text, index)
    if named is None:
        return False
    from html.entities import html5  # Markdown only: a text report need not load the entity table

    return named.group(1) in html5


def md_fence(lines: List[str], char: str = "`") -> str:
    """A code fence longer than any run of fence characters in the block's lines."""
    longest = max((len(run) for line in lines for run in re.findall(f"{re.escape(char)}+", line)), default=0)
    return char * max(3, longest + 1)
