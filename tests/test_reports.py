"""The report formats: the documented JSON shape, SARIF 2.1.0, the text layout."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any, Dict, List

import pytest

from conftest import BUILDS, ROOT
from pmdoctor import __version__
from pmdoctor.cli import run
from pmdoctor.model.findings import Severity
from pmdoctor.rules import load_all

CLI = BUILDS / "cli"
HEALTHY = CLI / "healthy" / "build"
BROKEN = CLI / "slot_mismatch" / "build"
BROKEN_DTS = '/dts-v1/;\n\n/ {\n\tcompatible = "nordic,nrf52840-dk-nrf52840"\n\tchosen {\n'


def report(*argv: str, cwd: Path = ROOT) -> str:
    out = io.StringIO()
    code = run(list(argv), config_get=lambda option: None, stdout=out, stderr=io.StringIO(), cwd=cwd)
    assert code in (0, 1)
    return out.getvalue()


def as_json(*argv: str, cwd: Path = ROOT) -> Dict[str, Any]:
    return json.loads(report(*argv, "--format", "json", cwd=cwd))


def as_sarif(*argv: str, cwd: Path = ROOT) -> Dict[str, Any]:
    return json.loads(report(*argv, "--format", "sarif", cwd=cwd))


@pytest.fixture
def two_image_build(tmp_path: Path) -> Path:
    """The slot-mismatch build whose MCUboot devicetree is also truncated (PMD001 in image mcuboot)."""
    app = tmp_path / "slot_mismatch"
    shutil.copytree(CLI / "slot_mismatch", app)
    (app / "build" / "mcuboot" / "zephyr" / "zephyr.dts").write_text(BROKEN_DTS)
    return app / "build"


# ----------------------------------------------------------------------- JSON

FINDING_KEYS = {
    "rule": str,
    "name": str,
    "severity": str,
    "message": str,
    "image": (str, type(None)),
    "domain": (str, type(None)),
    "location": dict,
    "evidence": list,
    "fixes": list,
}
BUILD_KEYS = {
    "build_dir": str,
    "era": str,
    "board": (str, type(None)),
    "soc": (str, type(None)),
    "images": list,
    "findings": list,
    "summary": dict,
}


def assert_shape(document: Dict[str, Any]) -> None:
    """The documented --format json contract: these keys, these types (extra keys allowed)."""
    assert document["tool"] == {"name": "pmdoctor", "version": __version__}
    assert isinstance(document["builds"], list) and document["builds"]
    for build in document["builds"]:
        for key, kind in BUILD_KEYS.items():
            assert isinstance(build[key], kind), key
        assert build["era"] in ("sysbuild", "child-image", "devicetree")
        assert all(isinstance(image, str) for image in build["images"])
        assert set(build["summary"]) >= {"error", "warning", "note"}
        assert all(isinstance(n, int) for n in build["summary"].values())
        for finding in build["findings"]:
            for key, kind in FINDING_KEYS.items():
                assert isinstance(finding[key], kind), key
            assert finding["severity"] in ("error", "warning", "note")
            assert finding["rule"] in load_all()
            assert isinstance(finding["location"]["file"], (str, type(None)))
            assert isinstance(finding["location"]["line"], (int, type(None)))
            assert all(isinstance(item, str) for item in finding["evidence"])
            for fix in finding["fixes"]:
                assert isinstance(fix["description"], str)
                assert isinstance(fix["file"], (str, type(None)))
                assert isinstance(fix["snippet"], (str, type(None)))
        counted = {
            s: sum(f["severity"] == s for f in build["findings"]) for s in ("error", "warning", "note")
        }
        assert {k: build["summary"][k] for k in counted} == counted


def test_json_contract_on_a_healthy_build():
    document = as_json("-d", str(HEALTHY))
    assert_shape(document)
    build = document["builds"][0]
    assert (build["era"], build["board"], build["soc"]) == ("sysbuild", "nrf52840dk/nrf52840", "nrf52840")
    assert build["images"] == ["smp_svr", "mcuboot"]
    assert build["findings"] == []
    assert build["build_dir"] == "tests/builds/cli/healthy/build"


def test_json_contract_on_a_broken_build():
    document = as_json("-d", str(BROKEN))
    assert_shape(document)
    findings = document["builds"][0]["findings"]
    slot = next(f for f in findings if f["rule"] == "PMD401")
    assert slot["name"] == "slot-size-mismatch"
    assert "0x7b000" in slot["message"] and "0x79000" in slot["message"]
    assert slot["location"] == {"file": "tests/builds/cli/slot_mismatch/pm_static.yml", "line": 36}
    assert slot["fixes"][0]["file"] == "tests/builds/cli/slot_mismatch/pm_static.yml"
    assert "size: 0x79000" in slot["fixes"][0]["snippet"]
    assert document["builds"][0]["summary"] == {"error": 2, "warning": 0, "note": 0}


def test_json_one_entry_per_build_dir():
    document = as_json("-d", str(HEALTHY), "-d", str(BROKEN))
    assert_shape(document)
    assert [len(b["findings"]) for b in document["builds"]] == [0, 2]


def ranking_key(finding: Dict[str, Any]) -> tuple:
    rule = load_all()[finding["rule"]]
    return (-Severity(finding["severity"]).weight, -rule.rank)


def test_json_findings_rank_root_cause_first(two_image_build):
    findings = as_json("-d", str(two_image_build))["builds"][0]["findings"]
    assert [f["rule"] for f in findings] == ["PMD001", "PMD101", "PMD401"]
    assert findings == sorted(findings, key=ranking_key)
    assert findings[0]["image"] == "mcuboot"
    assert findings[0]["location"]["line"] == 5


# ---------------------------------------------------------------------- SARIF

# The part of the SARIF 2.1.0 schema that GitHub code scanning relies on,
# written by hand (the full schema is not fetched from the network).
SARIF_SUBSET = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
                                },
                            }
                        },
                    },
                    "results": {"type": "array", "items": {"$ref": "#/$defs/result"}},
                },
            },
        },
    },
    "$defs": {
        "text": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
        "rule": {
            "type": "object",
            "required": ["id", "name", "shortDescription", "fullDescription", "help", "defaultConfiguration"],
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "shortDescription": {"$ref": "#/$defs/text"},
                "fullDescription": {"$ref": "#/$defs/text"},
                "help": {"$ref": "#/$defs/text"},
                "defaultConfiguration": {
                    "type": "object",
                    "required": ["level"],
                    "properties": {"level": {"enum": ["none", "note", "warning", "error"]}},
                },
            },
        },
        "result": {
            "type": "object",
            "required": ["ruleId", "ruleIndex", "level", "message", "locations", "partialFingerprints"],
            "properties": {
                "ruleId": {"type": "string"},
                "ruleIndex": {"type": "integer", "minimum": 0},
                "level": {"enum": ["none", "note", "warning", "error"]},
                "message": {"$ref": "#/$defs/text"},
                "partialFingerprints": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": {"type": "string"},
                },
                "locations": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["physicalLocation"],
                        "properties": {
                            "physicalLocation": {
                                "type": "object",
                                "required": ["artifactLocation", "region"],
                                "properties": {
                                    "artifactLocation": {
                                        "type": "object",
                                        "required": ["uri"],
                                        "properties": {"uri": {"type": "string", "minLength": 1}},
                                    },
                                    "region": {
                                        "type": "object",
                                        "required": ["startLine"],
                                        "properties": {"startLine": {"type": "integer", "minimum": 1}},
                                    },
                                },
                            }
                        },
                    },
                },
            },
        },
    },
}


def sarif_results(document: Dict[str, Any]) -> List[Dict[str, Any]]:
    return document["runs"][0]["results"]


def test_sarif_matches_the_code_scanning_subset(two_image_build):
    import jsonschema  # a test dependency (pyproject [test]), so this never skips

    for build in (HEALTHY, BROKEN, two_image_build):
        jsonschema.validate(as_sarif("-d", str(build)), SARIF_SUBSET)


def test_sarif_rules_and_results_agree():
    document = as_sarif("-d", str(BROKEN))
    assert document["version"] == "2.1.0"
    driver = document["runs"][0]["tool"]["driver"]
    assert driver["name"] == "pmdoctor" and driver["version"] == __version__
    rules = driver["rules"]
    assert [r["id"] for r in rules] == list(load_all())
    for entry in rules:
        rule = load_all()[entry["id"]]
        assert entry["name"] == rule.name
        assert entry["defaultConfiguration"]["level"] == rule.severity.value
        assert "## How to fix" in entry["help"]["text"]
    results = sarif_results(document)
    assert {r["ruleId"] for r in results} == {"PMD101", "PMD401"}
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "error"
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == "tests/builds/cli/slot_mismatch/pm_static.yml"
        assert location["region"]["startLine"] == 36
        assert result["message"]["text"]


def test_sarif_healthy_build_has_no_results():
    assert sarif_results(as_sarif("-d", str(HEALTHY))) == []


def fingerprints(document: Dict[str, Any]) -> List[tuple]:
    return [(r["ruleId"], r["partialFingerprints"]) for r in sarif_results(document)]


def test_sarif_fingerprints_stable_across_runs_and_checkouts(tmp_path):
    first = as_sarif("-d", str(BROKEN))
    assert fingerprints(first) == fingerprints(as_sarif("-d", str(BROKEN)))
    values = [v for _, prints in fingerprints(first) for v in prints.values()]
    assert len(set(values)) == len(values)  # one identity per result
    # The same project checked out elsewhere (CI runners differ): same identities.
    checkout = tmp_path / "elsewhere"
    shutil.copytree(CLI / "slot_mismatch", checkout / "slot_mismatch")
    moved = as_sarif("-d", "slot_mismatch/build", cwd=checkout)
    assert fingerprints(moved) == fingerprints(first)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif_results(moved)}
    assert uris == {"slot_mismatch/pm_static.yml"}


def test_sarif_uri_outside_the_cwd_is_a_file_uri(tmp_path):
    results = sarif_results(as_sarif("-d", str(BROKEN), cwd=tmp_path))
    uri = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == (CLI / "slot_mismatch" / "pm_static.yml").as_uri()


# ----------------------------------------------------------------------- text


def test_text_banner_and_summary_on_a_healthy_build():
    text = report("-d", str(HEALTHY))
    lines = text.splitlines()
    assert lines[0] == (
        "=== tests/builds/cli/healthy/build — sysbuild era · nrf52840dk/nrf52840 (nrf52840) "
        "· images: smp_svr, mcuboot"
    )
    assert "    Partition Manager: tests/builds/cli/healthy/build/partitions.yml" in lines
    assert lines[-1] == "no findings"


def test_text_finding_has_id_name_message_location_and_fix():
    text = report("-d", str(BROKEN))
    assert "    static layout: tests/builds/cli/slot_mismatch/pm_static.yml" in text
    block = text[text.index("ERROR   PMD401 slot-size-mismatch") :]
    block = block[: block.index("\n\n")]
    assert "`mcuboot_secondary` is 0x7b000 bytes, 0x2000 larger than `mcuboot_primary`" in block
    assert "  at   tests/builds/cli/slot_mismatch/pm_static.yml:36" in block
    assert "  fix  make `mcuboot_secondary` the same size as `mcuboot_primary`" in block
    assert "size: 0x79000" in block
    assert text.splitlines()[-1] == "2 errors — `pmdoctor --explain PMD101` for details"


def test_text_keeps_ranked_order_and_tallies_by_image(two_image_build):
    text = report("-d", str(two_image_build), cwd=two_image_build.parent)
    heads = [line for line in text.splitlines() if line.startswith(("ERROR", "WARNING", "NOTE"))]
    # The unreadable MCUboot devicetree ranks first, tagged with its image.
    assert heads[0] == "ERROR   PMD001 unreadable-file  [mcuboot]"
    first = text[text.index(heads[0]) :]
    assert "  at   build/mcuboot/zephyr/zephyr.dts:5" in first[: first.index("\n\n")]
    assert any("PMD401" in head and "[" not in head for head in heads[1:])
    tally = [line for line in text.splitlines() if line.startswith("    by image — ")]
    assert tally == ["    by image — mcuboot: 1 error · whole build: 2 errors"]
    assert text.splitlines()[-1].startswith("3 errors")


def test_text_one_banner_per_build():
    text = report("-d", str(HEALTHY), "-d", str(BROKEN))
    banners = [line for line in text.splitlines() if line.startswith("=== ")]
    assert len(banners) == 2
    assert banners[0].startswith("=== tests/builds/cli/healthy/build")
    assert banners[1].startswith("=== tests/builds/cli/slot_mismatch/build")
    assert text.splitlines()[-1].startswith("2 errors")


def test_text_warning_summary_is_singular(tmp_path):
    app = tmp_path / "healthy"
    shutil.copytree(CLI / "healthy", app)
    layout = (app / "build" / "partitions.yml").read_text()
    (app / "pm_static.yml").write_text(layout.replace("app:\n", "app:\n  comment: grown in 2.1\n", 1))
    last = report("-d", str(app / "build")).splitlines()[-1]
    assert last == "1 warning — `pmdoctor --explain PMD002` for details"


def test_text_summary_names_the_command_the_user_ran():
    out = io.StringIO()
    argv = ["-d", str(BROKEN)]
    run(argv, config_get=lambda option: None, stdout=out, cwd=ROOT, command="west pmdoctor")
    assert out.getvalue().splitlines()[-1].endswith("`west pmdoctor --explain PMD101` for details")


# ------------------------------------------------------------- SARIF root


def sarif_location(document: Dict[str, Any]) -> Dict[str, Any]:
    return sarif_results(document)[0]["locations"][0]["physicalLocation"]["artifactLocation"]


def repository(tmp_path: Path) -> Path:
    """A git work tree (a `.git` folder is what marks one) holding the broken app."""
    repo = tmp_path / "repo"
    shutil.copytree(CLI / "slot_mismatch", repo / "apps" / "slot_mismatch")
    (repo / ".git").mkdir()
    return repo


def test_sarif_uris_are_relative_to_the_git_work_tree_not_the_cwd(tmp_path):
    repo = repository(tmp_path)
    app = repo / "apps" / "slot_mismatch"
    document = as_sarif("-d", "build", cwd=app)  # run from inside the app, as people do
    assert sarif_location(document) == {"uri": "apps/slot_mismatch/pm_static.yml", "uriBaseId": "%SRCROOT%"}
    base = document["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == repo.resolve().as_uri() + "/"


def test_sarif_root_option_wins_over_the_work_tree(tmp_path):
    repo = repository(tmp_path)
    document = as_sarif("-d", "apps/slot_mismatch/build", "--sarif-root", "apps", cwd=repo)
    assert sarif_location(document)["uri"] == "slot_mismatch/pm_static.yml"
    outside = as_sarif("-d", "apps/slot_mismatch/build", "--sarif-root", str(tmp_path / "other"), cwd=repo)
    assert sarif_location(outside) == {"uri": (repo / "apps/slot_mismatch/pm_static.yml").as_uri()}
