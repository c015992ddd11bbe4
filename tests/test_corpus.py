"""Robustness and accuracy over the real-world corpus in ../shared (skipped when absent).

Every build must run to a report (exit 0 or 1, valid JSON). Builds that
INDEX.tsv calls healthy must get no `error`. For broken builds, each problem
INDEX.tsv's `auto_checks` column names must be found by the rule that owns
it; :data:`EXPECTED_RULES` maps those phrases to the rule IDs that must
report them (any one of them, at any severity).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from conftest import CORPUS, corpus_or_skip
from pmdoctor.cli import run
from pmdoctor.loaders import LoadError
from pmdoctor.loaders.partitions import layout_from_yaml
from pmdoctor.loaders.schema import validate
from pmdoctor.loaders.yamlfile import load_yaml
from pmdoctor.model import LayoutKind
from pmdoctor.rules import load_all

# auto_checks phrase (regex) -> rule IDs of which at least one must report it.
EXPECTED_RULES: List[Tuple[str, Tuple[str, ...]]] = [
    (r"leaf overlap", ("PMD101",)),
    (r"\bsize 0\b", ("PMD106",)),  # "has size 0"; not "size 0x0..." which the next line covers
    (r"outside region", ("PMD102",)),
    (r"!= mcuboot_primary", ("PMD401", "PMD106")),
    (r"not multiple of", ("PMD103",)),
    (r"beyond mcuboot_primary end|is not a span", ("PMD104",)),
    (r"has no QSPI/SPI NOR driver", ("PMD302",)),
    (r"BOOT_MAX_IMG_SECTORS", ("PMD402",)),
    (r"PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY not set", ("PMD304",)),
]

# Issue 12: Partition Manager's free-space entry (named after its region) laid exactly over
# one partition is no overlap; the automatic check that listed these did not know that.
NOT_AN_OVERLAP = {
    ("Sailesh-003__Vitals_Monitoring_System_stage_5", "leaf overlap: external_flash/littlefs_storage"),
    ("abdullahjaved06__W25Q128JV-ZephyrRTOS", "leaf overlap: external_flash/littlefs_storage"),
    ("shuhao-dong__BORUS", "leaf overlap: external_flash/littlefs_storage"),
}

# Issue 12 rows: (build, rules it must not report, text their messages must not hold, rule it must report).
# The healthy builds the review found false alarms on, and the broken ones it found misses on.
ISSUE12_ROWS = [
    ("shuhao-dong__BORUS", ("PMD101", "PMD103", "PMD002", "PMD104"), "", None),
    ("Sailesh-003__Vitals_Monitoring_System_stage_5", ("PMD101", "PMD103", "PMD104"), "", None),
    ("abdullahjaved06__W25Q128JV-ZephyrRTOS", ("PMD101", "PMD103", "PMD002", "PMD104"), "", None),
    ("mitch680l__thingy__2", ("PMD101", "PMD103", "PMD002", "PMD104"), "", None),
    ("ElijahMaluleke__a_smart_water_tap_v1", ("PMD101", "PMD103", "PMD002"), "", None),
    ("rs-muggino__peripheral-lbs-sysbuild__2", ("PMD002",), "", "PMD103"),
    ("mitch680l__thingy", ("PMD103",), "`app_image`", "PMD104"),
    ("mitch680l__thingy", ("PMD103",), "`mcuboot_primary_app`", "PMD101"),
    ("FinnWBiggs__MCUBoot_ExFat", ("PMD101",), "overlap by", "PMD101"),
    ("jaster-prj__zephyr_gartennode_zysternenmodul", (), "", "PMD403"),
    ("Botz-Limited__sensing_system-Zephyr", (), "", "PMD603"),
]

# Notes that mark a build as fine despite what the automatic checks listed.
NOT_A_PROBLEM = re.compile(r"should not flag|do not flag", re.IGNORECASE)
# Notes of builds the corpus author doubts: no promise either way.
DOUBTED = re.compile(r"\b(MISCONFIG|SUSPECT)\b")


def read_index() -> Dict[str, Dict[str, str]]:
    index = CORPUS / "INDEX.tsv"
    if not index.is_file():
        return {}
    with index.open(encoding="utf-8", newline="") as handle:
        return {row["slug"]: row for row in csv.DictReader(handle, delimiter="\t")}


INDEX = read_index()
BUILD_DIRS = sorted(p.name for p in (CORPUS / "builds").iterdir()) if INDEX else []
PM_STATIC_FILES = sorted(p.name for p in (CORPUS / "pm_static").glob("*")) if INDEX else []


def auto_checks(slug: str) -> List[str]:
    text = INDEX[slug]["auto_checks"].strip()
    return [] if text in ("", "-") else [phrase.strip() for phrase in text.split(";") if phrase.strip()]


def is_healthy(slug: str) -> bool:
    notes = INDEX[slug]["notes"]
    if NOT_A_PROBLEM.search(notes):
        return True
    return not auto_checks(slug) and not DOUBTED.search(notes)


def analyse(slug: str) -> Tuple[int, Dict]:
    out, err = io.StringIO(), io.StringIO()
    path = corpus_or_skip() / "builds" / slug
    code = run(["-d", str(path), "--format", "json"], config_get=lambda option: None, stdout=out, stderr=err)
    assert code in (0, 1), f"{slug}: exit {code}: {err.getvalue()}"
    return code, json.loads(out.getvalue())


def test_corpus_index_lists_every_build():
    corpus = corpus_or_skip()
    on_disk = {p.name for p in (corpus / "builds").iterdir() if p.is_dir()}
    assert on_disk == set(INDEX)


def test_every_auto_check_phrase_has_an_owner():
    corpus_or_skip()
    orphans = [
        (slug, phrase)
        for slug in INDEX
        for phrase in auto_checks(slug)
        if not any(re.search(pattern, phrase) for pattern, _ in EXPECTED_RULES)
    ]
    assert orphans == [], "add these INDEX.tsv phrases to EXPECTED_RULES"


@pytest.mark.parametrize("slug", BUILD_DIRS)
def test_corpus_build(slug):
    code, document = analyse(slug)
    (build,) = document["builds"]
    findings = build["findings"]
    errors = [f for f in findings if f["severity"] == "error"]
    assert code == (1 if errors else 0)
    assert build["summary"]["error"] == len(errors)
    if slug not in INDEX:
        return
    if is_healthy(slug):
        assert errors == [], f"false alarm on a healthy build: {[(f['rule'], f['message']) for f in errors]}"
        return
    found = {f["rule"] for f in findings}
    for phrase in auto_checks(slug):
        if (slug, phrase) in NOT_AN_OVERLAP:
            continue
        for pattern, rule_ids in EXPECTED_RULES:
            if re.search(pattern, phrase):
                assert found & set(rule_ids), f"{phrase!r} not reported by {rule_ids}; found {sorted(found)}"


@pytest.mark.parametrize("slug, silent, text, reported", ISSUE12_ROWS)
def test_issue12_corpus_rows(slug, silent, text, reported):
    """No false alarm the corpus review found comes back, and each miss it found is reported."""
    _, document = analyse(slug)
    findings = document["builds"][0]["findings"]
    wrong = [
        (f["rule"], f["severity"], f["message"])
        for f in findings
        if f["rule"] in silent and f["severity"] != "note" and (not text or text in f["message"])
    ]
    assert wrong == []
    if reported is not None:
        assert reported in {f["rule"] for f in findings}


def test_expected_rules_are_all_registered():
    """The phrase table names real rules, so no row can be vacuous."""
    named = {rule_id for _, rule_ids in EXPECTED_RULES for rule_id in rule_ids}
    assert named <= set(load_all())


@pytest.mark.parametrize("name", PM_STATIC_FILES)
def test_corpus_pm_static_loads(name):
    path = corpus_or_skip() / "pm_static" / name
    try:
        doc = load_yaml(path)
    except LoadError as error:  # a readable refusal is fine; a crash is not
        assert error.message
        return
    violations = validate(doc, "pm_static")
    assert all(isinstance(v.message, str) and v.message for v in violations)
    layout = layout_from_yaml(doc, LayoutKind.STATIC, None)
    for partition in layout.partitions.values():
        assert partition.source.file == Path(path)
        assert partition.address is None or isinstance(partition.address, int)
        assert partition.size is None or isinstance(partition.size, int)


def test_corpus_report_lists_errors_and_warnings(capsys):
    """scripts/corpus_report.py: the reviewer's table of every error and warning on the corpus."""
    import importlib.util

    corpus = corpus_or_skip()
    path = Path(__file__).resolve().parents[1] / "scripts" / "corpus_report.py"
    spec = importlib.util.spec_from_file_location("corpus_report", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([str(corpus), "--format", "tsv"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert rows and all(len(row) == 5 and row[1] in ("error", "warning") for row in rows)
    assert any(row[0] == "FinnWBiggs__MCUBoot_ExFat" and row[2] == "PMD101" for row in rows)
    assert any(row[0].startswith("pm_static/") for row in rows)
