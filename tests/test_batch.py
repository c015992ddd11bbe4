"""Many builds in one run: repeated ``-d``, ``--recursive``, ``--jobs``, streamed combined reports."""

from __future__ import annotations

import json
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import List

import pytest

from conftest import BUILDS
from helpers import run_pmdoctor
from tty_helpers import run_on_tty

HEALTHY = BUILDS / "cli" / "healthy" / "build"
BROKEN = BUILDS / "cli" / "slot_mismatch" / "build"
SYSBUILD = BUILDS / "foundation" / "sysbuild_nrf52840"  # its image folders hold a CMakeCache.txt
CHILD_IMAGE = BUILDS / "foundation" / "child_image_nrf5340"


def twister_out(root: Path) -> List[Path]:
    """A twister-out/ layout: platform/suite/test, one build each (a sysbuild one among them)."""
    layout = {
        "nrf52840dk_nrf52840/samples/blinky/sample.sysbuild": SYSBUILD,
        "nrf5340dk_nrf5340_cpuapp/samples/smp_svr/sample.healthy": HEALTHY,
        "nrf52840dk_nrf52840/samples/smp_svr/sample.broken": BROKEN,
        "nrf5340dk_nrf5340_cpuapp/samples/child/sample.child_image": CHILD_IMAGE,
    }
    made = []
    for relative, source in layout.items():
        made.append(shutil.copytree(source, root / "twister-out" / relative))
    (root / "twister-out" / "twister.json").write_text("{}")
    return sorted(made, key=lambda path: path.parts)


def builds_of(stdout: str) -> List[str]:
    return [build["build_dir"] for build in json.loads(stdout)["builds"]]


def test_the_same_build_twice_is_checked_once():
    once = run_pmdoctor("-d", str(BROKEN), "--format", "json", cwd=BUILDS)
    twice = run_pmdoctor("-d", str(BROKEN), "-d", "cli/slot_mismatch/build/", "--format", "json", cwd=BUILDS)
    assert twice.returncode == once.returncode == 1
    assert twice.stdout == once.stdout  # one build: exactly the single-build document


def test_an_image_folder_of_a_sysbuild_build_is_that_build(tmp_path):
    build = shutil.copytree(SYSBUILD, tmp_path / "build")
    proc = run_pmdoctor("-d", "build", "-d", "build/mcuboot", "--format", "json", cwd=tmp_path)
    assert builds_of(proc.stdout) == ["build"], proc.stderr
    assert (build / "mcuboot" / "CMakeCache.txt").is_file()  # the image folder is a build dir of its own


def test_recursive_finds_each_build_once_sorted(tmp_path):
    expected = twister_out(tmp_path)
    proc = run_pmdoctor("--recursive", "twister-out", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # the broken one has errors
    assert builds_of(proc.stdout) == [str(path.relative_to(tmp_path)) for path in expected]


def test_recursive_below_an_empty_folder_is_a_usage_error(tmp_path):
    (tmp_path / "empty" / "deeper").mkdir(parents=True)
    proc = run_pmdoctor("--recursive", "empty", cwd=tmp_path)
    assert proc.returncode == 2
    assert "no build directory" in proc.stderr


def test_jobs_give_the_same_bytes_as_serial(tmp_path):
    twister_out(tmp_path)
    for fmt in ("json", "sarif", "junit", "text", "concise", "markdown", "github"):
        serial = run_pmdoctor("--recursive", "twister-out", "--jobs", "1", "--format", fmt, cwd=tmp_path)
        parallel = run_pmdoctor("--recursive", "twister-out", "-j", "3", "--format", fmt, cwd=tmp_path)
        assert parallel.returncode == serial.returncode == 1, (fmt, parallel.stderr)
        assert parallel.stdout == serial.stdout, fmt


def test_a_failing_build_dir_does_not_stop_the_batch(tmp_path):
    twister_out(tmp_path)
    (tmp_path / "not-a-build").mkdir()
    argv = ("--recursive", "twister-out", "-d", "not-a-build", "-d", "missing", "--jobs", "2")
    proc = run_pmdoctor(*argv, "--format", "json", cwd=tmp_path)
    assert proc.returncode == 2  # a build that could not be checked outranks findings
    document = json.loads(proc.stdout)
    failed = {build["build_dir"]: build["error"] for build in document["builds"] if "error" in build}
    assert set(failed) == {"missing", "not-a-build"}
    assert "no CMakeCache.txt" in failed["not-a-build"]
    assert len(document["builds"]) == 6
    assert "pmdoctor: missing: no such directory" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_sarif_is_one_run_and_junit_one_suite_per_build(tmp_path):
    builds = twister_out(tmp_path)
    (tmp_path / "not-a-build").mkdir()
    argv = ("--recursive", "twister-out", "-d", "not-a-build", "--sarif", "r.sarif", "--junit", "r.xml")
    proc = run_pmdoctor(*argv, "--format", "concise", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    sarif = json.loads((tmp_path / "r.sarif").read_text())
    assert len(sarif["runs"]) == 1
    run = sarif["runs"][0]
    assert {result["ruleId"] for result in run["results"]} >= {"PMD401"}
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert len(notes) == 1 and "not-a-build" in notes[0]["message"]["text"]
    root = ET.parse(tmp_path / "r.xml").getroot()
    suites = root.findall("testsuite")
    assert len(suites) == len(builds) + 1
    assert root.get("errors") == "1"
    assert int(root.get("tests")) == sum(int(suite.get("tests")) for suite in suites)


def test_progress_line_on_a_terminal_only(tmp_path):
    twister_out(tmp_path)
    # Well over half a second of work even on a fast machine: the progress line shows after that.
    for index in range(146):
        shutil.copytree(HEALTHY, tmp_path / "twister-out" / "more" / f"b{index}", copy_function=os.link)
    argv = ("--recursive", "twister-out", "--jobs", "1", "--format", "json", "-o", "out.json")
    on_tty = run_on_tty(argv, cwd=tmp_path, stream="stderr", env={"CI": ""})
    assert "\r[" in on_tty.output and "/150] " in on_tty.output
    assert on_tty.output.endswith("\r\x1b[K")  # erased at the end
    piped = run_pmdoctor(*argv, cwd=tmp_path, env={"CI": ""})
    assert piped.stderr == ""
    assert len(json.loads((tmp_path / "out.json").read_text())["builds"]) == 150


@pytest.mark.parametrize("argv", [["--jobs", "0"], ["--jobs", "two"], ["triage", "x", "--jobs", "2"]])
def test_bad_jobs_are_usage_errors(argv, tmp_path):
    (tmp_path / "x").write_text("")
    proc = run_pmdoctor(*argv, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
