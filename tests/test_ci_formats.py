"""`--format github` (workflow commands) and `--format junit` (JUnit XML)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from conftest import ROOT
from pmdoctor.cli import run

EXAMPLE = ROOT / "examples" / "pinnacle100-qspi-secondary" / "build"
HEALTHY = ROOT / "tests" / "builds" / "cli" / "healthy" / "build"


def render(*argv: str) -> tuple:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout=out, stderr=err, cwd=ROOT, config_get=lambda option: None)
    return code, out.getvalue()


def test_github_annotations_one_per_finding_in_ranked_order() -> None:
    code, text = render("-d", str(EXAMPLE), "-f", "github")
    lines = text.splitlines()
    assert code == 1
    assert lines[0] == "::group::pmdoctor examples/pinnacle100-qspi-secondary/build"
    assert lines[-1] == "::endgroup::"
    first = lines[1]
    assert first.startswith(
        "::error file=examples/pinnacle100-qspi-secondary/build/zephyr/.config,line=70,"
        "title=pmdoctor PMD302 ext-flash-driver-missing::"
    )
    assert any(line.startswith("::warning ") and "PMD303" in line for line in lines)
    # Newlines in the message are escaped, so each annotation is one line.
    assert all(line.startswith("::") for line in lines)
    assert "%0AFix: " in first


def test_github_escapes_property_separators() -> None:
    from pmdoctor.report._neutral import workflow_property

    assert workflow_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"


def test_junit_lists_passing_rules_and_one_failure_per_finding() -> None:
    code, text = render("-d", str(EXAMPLE), "-f", "junit")
    root = ET.fromstring(text)
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    failures = [case for case in cases if case.find("failure") is not None]
    assert code == 1
    assert suite.get("failures") == str(len(failures)) == "3"
    assert suite.get("tests") == str(len(cases))
    assert {case.find("failure").get("type") for case in failures} == {"error", "warning"}
    driver = next(case for case in failures if case.get("name").startswith("PMD302"))
    assert driver.get("file") == "examples/pinnacle100-qspi-secondary/build/zephyr/.config"
    assert driver.get("line") == "70"
    assert any(case.get("name") == "PMD101 partition-overlap" for case in cases)  # passed


def test_junit_healthy_build_has_no_failure() -> None:
    code, text = render("-d", str(HEALTHY), "-f", "junit")
    root = ET.fromstring(text)
    assert code == 0
    assert root.get("failures") == "0" and int(root.get("tests")) > 40


def test_junit_lists_only_the_rules_that_ran() -> None:
    code, text = render("-d", str(HEALTHY), "-f", "junit", "--rules", "PMD401,PMD101")
    cases = ET.fromstring(text).find("testsuite").findall("testcase")
    assert code == 0
    assert sorted(case.get("name") for case in cases) == [
        "PMD101 partition-overlap",
        "PMD401 slot-size-mismatch",
    ]


def test_markdown_names_the_command_the_user_ran() -> None:
    out = io.StringIO()
    run(
        ["-d", str(EXAMPLE), "-f", "markdown"],
        stdout=out,
        stderr=io.StringIO(),
        cwd=ROOT,
        config_get=lambda option: None,
        command="python -m pmdoctor",
    )
    assert "`python -m pmdoctor --explain PMD302` for details" in out.getvalue()
    assert "west pmdoctor" not in out.getvalue()


def test_sarif_fixes_carry_artifact_changes_only_where_the_insertion_is_exact() -> None:
    """A file a fix creates is all insertion: SARIF carries it. An addition to an existing overlay
    belongs at its end (what comes later wins in devicetree) and a Kconfig line or a YAML key is
    replaced in place; SARIF cannot say where without the file, so those fixes stay in the text."""
    import json

    _, created = render("-d", str(ROOT / "tests/builds/extflash/sysbuild_spinor/build"), "--format", "sarif")
    results = json.loads(created)["runs"][0]["results"]
    [dfu] = [r for r in results if r["ruleId"] == "PMD203"]
    [change] = dfu["fixes"][0]["artifactChanges"]
    assert change["artifactLocation"]["uri"].endswith("pm_static.yml")
    inserted = change["replacements"][0]["insertedContent"]["text"]
    assert "mcuboot_secondary:" in inserted and "address:" in inserted
    _, example = render("-d", str(EXAMPLE), "--format", "sarif")
    results = json.loads(example)["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"PMD302", "PMD303"}
    assert not any("fixes" in r for r in results)  # prj.conf, pm_static.yml and the overlay all exist
