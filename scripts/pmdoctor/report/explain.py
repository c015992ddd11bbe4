"""Rule documentation for ``--explain``, ``--list-rules`` and ``docs/rules.md``.

All three render the rule docstrings, so the documentation cannot drift
from the code.
"""

from __future__ import annotations

from typing import List

from ..rules import Rule, load_all


def explain(rule: Rule) -> str:
    lines = [f"{rule.id} {rule.name} ({rule.severity.value}, family {rule.family})", ""]
    for heading, body in rule.sections():
        lines += [heading, "-" * len(heading), body, ""]
    return "\n".join(lines).rstrip() + "\n"


def list_rules() -> str:
    rules = load_all().values()
    width = max(len(rule.name) for rule in rules)
    return "".join(
        f"{rule.id}  {rule.name.ljust(width)}  {rule.severity.value.ljust(7)}  {_short(rule.summary)}\n"
        for rule in rules
    )


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


def rules_markdown() -> str:
    """The rule reference ``docs/rules.md`` (``python -m pmdoctor --rules-doc > docs/rules.md``)."""
    out: List[str] = [
        "# pmdoctor rules",
        "",
        "Generated from the rule docstrings by `pmdoctor --rules-doc`; do not edit by hand.",
        "",
        "| ID | name | severity | what it finds |",
        "|---|---|---|---|",
    ]
    rules = list(load_all().values())
    for rule in rules:
        anchor = f"{rule.id.lower()}-{rule.name}"
        summary = rule.summary.replace("|", "\\|")  # a bare | would split the table cell
        out.append(f"| [{rule.id}](#{anchor}) | {rule.name} | {rule.severity.value} | {summary} |")
    for rule in rules:
        out += ["", f"## {rule.id} {rule.name}", "", f"Default severity: **{rule.severity.value}**.", ""]
        for heading, body in rule.sections():
            out += [f"### {heading}", "", body, ""]
    return "\n".join(out).rstrip() + "\n"
