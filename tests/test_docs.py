"""The rule documentation: docstring structure, and docs/rules.md kept in step with the code."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT
from pmdoctor.report.explain import explain, rules_markdown
from pmdoctor.rules import load_all

RULES_DOC = ROOT / "docs" / "rules.md"
REGENERATE = "PYTHONPATH=scripts python -m pmdoctor --rules-doc > docs/rules.md"
SECTIONS = ["What it does", "Why it matters", "Example", "How to fix"]
RULES = load_all()


def test_committed_rules_doc_is_current():
    assert RULES_DOC.is_file(), f"docs/rules.md is missing; create it with: {REGENERATE}"
    committed = RULES_DOC.read_text(encoding="utf-8")
    assert committed == rules_markdown(), (
        f"docs/rules.md is out of date with the rule docstrings; regenerate it from the "
        f"repository root with: {REGENERATE}"
    )


def test_regenerate_command_produces_the_same_text():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "scripts")}
    proc = subprocess.run(
        [sys.executable, "-m", "pmdoctor", "--rules-doc"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == rules_markdown()


@pytest.mark.parametrize("rule_id", list(RULES))
def test_rule_docstring_has_the_four_sections(rule_id):
    rule = RULES[rule_id]
    sections = rule.sections()
    # Issue 12: a rule whose severity depends on the case says how, in '## Severity' before the fix.
    with_severity = [*SECTIONS[:-1], "Severity", SECTIONS[-1]]
    assert [heading for heading, _ in sections] in (SECTIONS, with_severity), (
        f"{rule_id}: the docstring must have exactly the sections "
        + ", ".join(f"'## {s}'" for s in SECTIONS)
        + " in this order (and optionally '## Severity' before the last)"
    )
    for heading, body in sections:
        assert body.strip(), f"{rule_id}: section '{heading}' is empty"
    assert rule.doc.startswith("## What it does"), f"{rule_id}: text before '## What it does'"


@pytest.mark.parametrize("rule_id", list(RULES))
def test_rule_identity(rule_id):
    rule = RULES[rule_id]
    assert re.fullmatch(r"PMD\d{3}", rule.id)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name), rule.name
    assert rule.summary and rule.summary != rule.name
    explained = explain(rule)
    assert explained.startswith(f"{rule.id} {rule.name} ({rule.severity.value}")
    for heading in SECTIONS:
        assert f"\n{heading}\n{'-' * len(heading)}\n" in explained


def test_rule_names_are_unique():
    names = [rule.name for rule in RULES.values()]
    assert len(names) == len(set(names))


def github_anchor(heading: str) -> str:
    """How GitHub turns a Markdown heading into a fragment."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_rules_doc_table_links_resolve():
    text = rules_markdown()
    anchors = {github_anchor(line[3:]) for line in text.splitlines() if line.startswith("## ")}
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert len(links) == len(RULES)
    assert set(links) <= anchors
    for row in (line for line in text.splitlines() if line.startswith("| [PMD")):
        assert len(re.split(r"(?<!\\)\|", row)) == 6, row  # four cells, none split by a stray |
