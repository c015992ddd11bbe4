"""Validate YAML data against the pykwalify schemas in ``schemas/``.

pykwalify sits behind this one module so that a later move to jsonschema
touches nothing else. Its logging is silenced here (west does that for its
own commands, but the library is also used without west).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from .yamlfile import YamlDoc, _Loader

SCHEMA_NAMES = ("partitions", "pm_static", "regions")


@dataclass(frozen=True)
class SchemaViolation:
    """One place where a Partition Manager file breaks its schema."""

    line: Optional[int]
    message: str
    # Unknown keys are ignored by Partition Manager: worth a warning, not an error.
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
        # Our own file: the C loader reads it the same, five times faster than the Python one.
        return yaml.load(handle, Loader=_Loader)


def _import_pykwalify_quietly() -> None:
    """Silence pykwalify's logging, imported (with pykwalify) only when a file needs checking."""
    import logging

    logging.getLogger("pykwalify").setLevel(logging.CRITICAL)


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
    if fits(doc.data, load_schema(schema)):
        return duplicate_keys(doc)  # nothing for pykwalify to report: do not pay for importing it
    _import_pykwalify_quietly()
    from pykwalify.core import Core

    checked, skipped = _bounded(doc.data)
    core = Core(source_data=checked, schema_data=load_schema(schema))
    core.validate(raise_exception=False)
    wrappers = wrapper_keys(doc.data) if schema != "regions" else []
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
        if "is not a list" in message and keys[-2:] in (["placement", "before"], ["placement", "after"]):
            # Partition Manager turns `after: name` into `after: [name]` itself
            # (and never reads placement of a static partition): nothing to report.
            continue
        where = "/".join(str(k) for k in keys) or "top level"
        minor = "was not defined" in message
        violations.append(SchemaViolation(doc.line(*keys), f"{where}: {message}", minor))
    if skipped:
        first = list(doc.data)[MAX_VALIDATED]
        violations.append(
            SchemaViolation(
                doc.line(first),
                f"{skipped} more entries are not schema-checked (the first {MAX_VALIDATED} are, "
                "more than any build's layout has)",
                True,
            )
        )
    return violations + duplicate_keys(doc)


# pykwalify is slow on large documents (and no build's layout has more than a few dozen
# partitions): past this many top-level entries, the rest is counted, not checked.
MAX_VALIDATED = 1000


def _bounded(data: Any) -> tuple[Any, int]:
    if not isinstance(data, dict) or len(data) <= MAX_VALIDATED:
        return data, 0
    keys = list(data)[:MAX_VALIDATED]
    return {key: data[key] for key in keys}, len(data) - MAX_VALIDATED


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


# The schema keywords fits() understands; a schema using any other goes to pykwalify.
_KNOWN_KEYWORDS = {"type", "mapping", "sequence", "required", "allowempty", "enum", "desc"}
_TYPES = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "str": lambda v: isinstance(v, (str, bytes)),
    "bool": lambda v: isinstance(v, bool),
    "any": lambda v: True,
}


def fits(value: Any, rule: Any) -> bool:
    """True only when ``value`` certainly satisfies a pykwalify ``rule`` (the same schema files).

    A fast, conservative pre-check: the valid files of a healthy build skip
    pykwalify (its import alone costs more than the rest of a check); any
    doubt, including a schema keyword this function does not know, returns
    False, and pykwalify, the validator of record, reports the details.
    """
    if not isinstance(rule, dict) or set(rule) - _KNOWN_KEYWORDS:
        return False
    if "enum" in rule and value not in rule["enum"]:
        return False
    kind = rule.get("type", "str")
    if kind == "map":
        return isinstance(value, dict) and _fits_mapping(value, rule)
    if kind == "seq":
        items = rule.get("sequence")
        if not isinstance(value, list) or not isinstance(items, list) or len(items) != 1:
            return False
        return all(item is not None and fits(item, items[0]) for item in value)
    check = _TYPES.get(kind)
    return check is not None and check(value)


def _fits_mapping(value: Dict[Any, Any], rule: Dict[str, Any]) -> bool:
    mapping = rule.get("mapping")
    if mapping is None:
        return bool(rule.get("allowempty"))
    patterns = [
        (re.compile(key[len("regex;") :]), sub) for key, sub in mapping.items() if key.startswith("regex;")
    ]
    for key, sub in mapping.items():
        if isinstance(sub, dict) and sub.get("required") and value.get(key) is None:
            return False
    for key, item in value.items():
        if not isinstance(key, str):
            return False
        sub = mapping.get(key) if not key.startswith("regex;") else None
        literal = sub is not None
        if sub is None:
            sub = next((found for pattern, found in patterns if pattern.search(key)), None)
        if sub is None:
            if rule.get("allowempty"):
                continue
            return False
        if item is None:
            # pykwalify lets an optional scalar key it names hold nothing; a map or a
            # sequence must be one, and a key a regex matched must hold something.
            if not literal or not isinstance(sub, dict) or sub.get("required"):
                return False
            if sub.get("type", "str") in ("map", "seq"):
                return False
            continue
        if not fits(item, sub):
            return False
    return True


def _quoted(value: str) -> str:
    value = " ".join(value.split())
    return repr(value if len(value) <= MAX_QUOTED else value[: MAX_QUOTED - 1] + "…")


def wrapper_keys(data: Any) -> List[Any]:
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
