"""Rule documentation for ``--explain``, ``--list-rules`` and ``docs/rules.md``.

All three render the rule docstrings, so the documentation cannot drift
from the code.
"""

from __future__ import annotations

from typing import List

from ..rules import Rule, load_all

# How the documentation marks a rule whose findings do not all carry its default severity
# (after the severity column, so the columns of --list-rules stay as they were).
VARIES_MARK = "[varies]"
VARIES_NOTE = "[varies]: the severity depends on the case; the rule's *Severity* section says how"


def _severity(rule: Rule) -> str:
    return rule.severity.value + (f" {VARIES_MARK}" if rule.severity_varies else "")


def explain(rule: Rule) -> str:
    default = rule.severity.value
    if rule.severity_varies:
        default += " by default, depends on the case"
    lines = [f"{rule.id} {rule.name} ({default}, family {rule.family})", ""]
    for heading, body in rule.sections():
        lines += [heading, "-" * len(heading), body, ""]
    return "\n".join(lines).rstrip() + "\n"


def list_rules() -> str:
    rules = load_all().values()
    width = max(len(rule.name) for rule in rules)
    return "".join(
        f"{rule.id}  {rule.name.ljust(width)}  {rule.severity.value.ljust(7)}  "
        f"{VARIES_MARK + ' ' if rule.severity_varies else ''}{_short(rule.summary)}\n"
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
        out.append(f"| [{rule.id}](#{anchor}) | {rule.name} | {_severity(rule)} | {summary} |")
    out += ["", VARIES_NOTE + "."]
    for rule in rules:
        depends = "; it depends on the case (see *Severity*)" if rule.severity_varies else ""
        default = f"Default severity: **{rule.severity.value}**{depends}."
        out += ["", f"## {rule.id} {rule.name}", "", default, ""]
        for heading, body in rule.sections():
            out += [f"### {heading}", "", body, ""]
    return "\n".join(out).rstrip() + "\n"
