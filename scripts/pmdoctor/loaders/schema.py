"""Validate YAML data against the pykwalify schemas in ``schemas/``.

pykwalify sits behind this one module so that a later move to jsonschema
touches nothing else. Its logging is silenced here (west does that for its
own commands, but the library is also used without west).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, List, Optional

import yaml

from .yamlfile import YamlDoc

SCHEMA_NAMES = ("partitions", "pm_static", "regions")

logging.getLogger("pykwalify").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class SchemaViolation:
    line: Optional[int]
    message: str
    # Unknown keys are ignored by Partition Manager, and a bare string where a
    # list is expected is read as a one-item list: worth a warning, not an error.
    minor: bool


def schema_dir() -> Path:
    """Schemas ship in the wheel as ``pmdoctor/schemas``; in a checkout they sit at the top."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[1] / "schemas", here.parents[3] / "schemas"):
        if (candidate / "partitions.yml").is_file():
            return candidate
    raise FileNotFoundError(f"pmdoctor schemas not found next to {here.parents[1]}")


@cache
def load_schema(name: str) -> Any:
    with (schema_dir() / f"{name}.yml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# A quoted value longer than this is cut: a message names the value, it does not reproduce a file.
MAX_QUOTED = 48


def not_a_layout(data: Any) -> Optional[str]:
    """Why ``data`` is no Partition Manager file at all, or None when it has entries to check.

    Such a file is reported in one line that says what it holds, never
    quoting its text: it may be any file a stranger's cache pointed at.
    """
    if isinstance(data, dict) and any(isinstance(value, dict) for value in data.values()):
        return None
    if isinstance(data, dict):
        return f"not a Partition Manager file: none of its {len(data)} top-level keys holds a mapping"
    kinds = {str: "text", list: "a list", int: "a number", float: "a number", bool: "a boolean"}
    return f"not a Partition Manager file: it holds {kinds.get(type(data), 'a single value')}, not a mapping"


def validate(doc: YamlDoc, schema: str) -> List[SchemaViolation]:
    if doc.data is None:
        return []
    why_not = not_a_layout(doc.data)
    if why_not is not None:
        return [SchemaViolation(1, why_not, False)]
    from pykwalify.core import Core

    core = Core(source_data=doc.data, schema_data=load_schema(schema))
    core.validate(raise_exception=False)
    wrappers = _wrappers(doc.data) if schema != "regions" else []
    violations = [
        SchemaViolation(
            doc.line(key),
            f"{key}: holds partitions ({', '.join(map(str, list(doc.data[key])[:3]))} ...) one level "
            "too deep; each partition must be a top-level key",
            False,
        )
        for key in wrappers
    ]
    for entry in core.validation_errors_exceptions:
        keys = [_key(part) for part in str(entry.path).strip("/").split("/") if part]
        key = getattr(entry, "key", None)
        if key is not None:
            keys.append(key)
        if keys and keys[0] in wrappers:
            continue  # one message for the misplaced block, not one per partition in it
        message = re.sub(r"\.? *(Value )?[Pp]ath: '[^']*'\.?", "", str(entry))
        message = re.sub(r"'b'([^']*)''", r"'\1'", message).strip().rstrip(".")
        message = re.sub(r"Value '(.*)' is", lambda m: f"Value {_quoted(m.group(1))} is", message, count=1)
        where = "/".join(str(k) for k in keys) or "top level"
        minor = "was not defined" in message or (
            "is not a list" in message and keys[-1:] in (["before"], ["after"])
        )
        violations.append(SchemaViolation(doc.line(*keys), f"{where}: {message}", minor))
    return violations + duplicate_keys(doc)


# A file with thousands of repeated keys is no layout anyone wrote: name a few, count the rest.
MAX_DUPLICATES = 20


def duplicate_keys(doc: YamlDoc) -> List[SchemaViolation]:
    """A warning for each key given twice in one mapping (at the line of the value that is kept).

    Nothing fails: PyYAML keeps the last value without a word, and Partition
    Manager loads its files with PyYAML, so the first value is silently ignored.
    """
    warnings = [
        SchemaViolation(
            duplicate.second,
            f"{_key_path(duplicate.keys)}: duplicate key, given on lines {duplicate.first} "
            f"and {duplicate.second}; "
            f"Partition Manager (which reads it with PyYAML) keeps the last one (line {duplicate.second}) "
            f"and silently ignores line {duplicate.first}",
            True,
        )
        for duplicate in doc.duplicates[:MAX_DUPLICATES]
    ]
    more = len(doc.duplicates) - MAX_DUPLICATES
    if more > 0:
        first = doc.duplicates[MAX_DUPLICATES]
        warnings.append(SchemaViolation(first.second, f"{more} more duplicate keys, from this line on", True))
    return warnings


def _key_path(keys: tuple) -> str:
    text = "/".join(str(key) for key in keys) or "top level"
    return text if len(text) <= 2 * MAX_QUOTED else text[: 2 * MAX_QUOTED - 1] + "…"


def _quoted(value: str) -> str:
    value = " ".join(value.split())
    return repr(value if len(value) <= MAX_QUOTED else value[: MAX_QUOTED - 1] + "…")


def _wrappers(data: Any) -> List[Any]:
    """Top-level keys that hold partitions instead of being one (``partitions:`` wrapping all)."""
    if not isinstance(data, dict):
        return []
    found = []
    for key, value in data.items():
        if not isinstance(value, dict) or not value or {"address", "size", "span"} & set(value):
            continue
        if all(isinstance(item, dict) and {"address", "size"} & set(item) for item in value.values()):
            found.append(key)
    return found


def _key(part: str) -> Any:
    """A part of pykwalify's error path: a sequence index, or a mapping key (which may be all digits)."""
    return int(part) if part.isascii() and part.isdigit() and len(part) <= 18 else part
