"""Property tests: whatever the layout, file or log, pmdoctor answers and its reports parse.

Hypothesis draws (a) valid Partition Manager layouts — packed, aligned to the
erase block, inside their region, with containers over runs of partitions —
which must get no layout error (PMD101-PMD106); (b) corpus and fixture layout
files after random mutations (scripts/hostile_inputs.py, shared with
scripts/fuzz.py); (c) logs mixing the real lines pmdoctor recognises with junk.
Every run must end with exit 0, 1 or 2 (never 3), and JSON, SARIF and JUnit
output must parse. Runs are in-process (``pmdoctor.cli.run``), so the module
stays well under a minute; scripts/fuzz.py runs the long version in subprocesses.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile_inputs as hostile
from conftest import corpus_or_skip

PROPERTIES = settings(
    max_examples=60,
    deadline=None,
    database=None,  # nothing written into the checkout; a failure prints its reproduction blob
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LAYOUT_RULES = {f"PMD10{n}" for n in range(1, 7)}
PARSED_FORMATS = ("json", "sarif", "junit")
MAX_INPUT = 256 * 1024  # bigger inputs are scripts/fuzz.py's job (in subprocesses, with limits)


def run(
    files: Dict[str, bytes], argv: Tuple[str, ...], base: Optional[hostile.Target] = None
) -> hostile.Outcome:
    with tempfile.TemporaryDirectory(prefix="pmdoctor-property-") as scratch:
        folder = hostile.materialise(base, files, Path(scratch) / "input")
        return hostile.run_in_process(argv, folder)


def assert_answers(outcome: hostile.Outcome) -> None:
    """Exit 0, 1 or 2 without a traceback; JSON, SARIF and JUnit parse."""
    problems = []
    if outcome.exit_code not in (0, 1, 2):
        problems.append(f"exit code {outcome.exit_code}")
    if "Traceback" in outcome.stdout + outcome.stderr or "internal error" in outcome.stderr:
        problems.append("a traceback or internal error")
    fmt = hostile.format_of(outcome.argv)
    if outcome.exit_code in (0, 1) and fmt in PARSED_FORMATS:
        problem = hostile.FORMAT_CHECKS[fmt](outcome.stdout)
        if problem:
            problems.append(problem)
    assert not problems, "; ".join(problems) + "\n" + outcome.describe()


# ------------------------------------------------------------------ (a) valid layouts


@st.composite
def valid_layouts(draw) -> Tuple[Dict[str, dict], int]:
    """A packed, 4 KB-aligned static layout of at most 832 KB (the nRF52840 has 1 MB), and its region size."""
    parts = draw(st.integers(1, 16))
    blocks = draw(st.lists(st.integers(1, 12), min_size=parts, max_size=parts))
    gap_after = draw(st.none() | st.integers(0, parts - 1))
    gap_blocks = draw(st.integers(0, 16))
    runs = draw(st.lists(st.tuples(st.integers(0, parts - 1), st.integers(1, parts)), max_size=3))
    containers: List[Tuple[int, int]] = []
    for run_ in runs:  # keep the runs that fit with those already kept
        if hostile.containers_fit([*containers, run_], parts, gap_after):
            containers.append(run_)
    return hostile.packed_layout(blocks, gap_after, gap_blocks, containers)


@PROPERTIES
@given(valid_layouts())
def test_a_valid_layout_gets_no_layout_error(generated: Tuple[Dict[str, dict], int]) -> None:
    layout, region_size = generated
    files = {
        "pm_static.yml": hostile.layout_yaml(layout).encode(),
        "regions.yml": hostile.regions_yaml(region_size).encode(),
    }
    outcome = run(files, ("triage", ".", "--soc", "nrf52840", "--format", "json"))
    assert_answers(outcome)
    flagged = [f for f in hostile.findings(outcome) if f["rule"] in LAYOUT_RULES]
    assert not flagged, f"{flagged}\n{files['pm_static.yml'].decode()}"


def test_the_layout_generator_is_valid_by_construction() -> None:
    layout, size = hostile.packed_layout([2, 3, 1], gap_after=0, gap_blocks=2, containers=[(1, 2)])
    assert size == 8 * hostile.BLOCK
    assert layout["part_1"]["address"] == 4 * hostile.BLOCK
    assert layout["span_0"] == {
        "address": 4 * hostile.BLOCK,
        "end_address": 8 * hostile.BLOCK,
        "region": "flash_primary",
        "size": 4 * hostile.BLOCK,
        "span": ["part_1", "part_2"],
    }
    assert not hostile.containers_fit([(0, 2)], 3, gap_after=0)  # straddles the gap


def test_an_overlapping_layout_is_flagged() -> None:
    """The property above can fail: the same pipeline reports an overlap when there is one."""
    layout, size = hostile.packed_layout([2, 2])
    layout["part_1"]["address"] = layout["part_1"]["address"] - hostile.BLOCK
    files = {
        "pm_static.yml": hostile.layout_yaml(layout).encode(),
        "regions.yml": hostile.regions_yaml(size).encode(),
    }
    outcome = run(files, ("triage", ".", "--soc", "nrf52840", "--format", "json"))
    assert "PMD101" in {f["rule"] for f in hostile.findings(outcome)}, outcome.describe()


# ------------------------------------------------------------------ (b) mutated layout files


def layout_targets(corpus: Optional[Path]) -> List[hostile.Target]:
    """pm_static files (run alone through triage) and partitions.yml files of builds (run with -d)."""
    return [
        t
        for t in hostile.targets(corpus)
        if (t.single_file and t.file.endswith(".yml"))
        or (Path(t.file).name == "partitions.yml" and t.argv[0] == "-d")
    ]


FIXTURE_TARGETS = layout_targets(None)


mutations = st.lists(st.sampled_from(sorted(hostile.MUTATORS)), min_size=1, max_size=3)


def mutated(target: hostile.Target, names: List[str], rng: random.Random) -> Tuple[Dict[str, bytes], str]:
    content = (target.root / target.file).read_bytes()
    content, applied = hostile.mutate(content, rng, names)
    return {target.file: content[:MAX_INPUT]}, "+".join(applied)


def check_mutation(target: hostile.Target, names: List[str], rng: random.Random, fmt: str) -> None:
    files, applied = mutated(target, names, rng)
    outcome = run(files, (*target.argv, "--format", fmt), base=target)
    try:
        assert_answers(outcome)
    except AssertionError as error:
        raise AssertionError(f"{target.label} after {applied}: {error}") from None


@PROPERTIES
@given(
    st.sampled_from(FIXTURE_TARGETS),
    mutations,
    st.randoms(use_true_random=False),
    st.sampled_from(PARSED_FORMATS),
)
def test_mutated_fixture_layouts_get_an_answer(
    target: hostile.Target, names: List[str], rng: random.Random, fmt: str
) -> None:
    check_mutation(target, names, rng, fmt)


class Targets(list):
    """The corpus files, shown briefly when Hypothesis prints a failing example."""

    def __repr__(self) -> str:
        return f"<{len(self)} corpus layout files>"


@pytest.fixture(scope="module")
def corpus_targets() -> List[hostile.Target]:
    return Targets(layout_targets(corpus_or_skip()))


@PROPERTIES
@given(
    data=st.data(),
    names=mutations,
    rng=st.randoms(use_true_random=False),
    fmt=st.sampled_from(PARSED_FORMATS),
)
def test_mutated_corpus_layouts_get_an_answer(
    corpus_targets, data, names: List[str], rng: random.Random, fmt: str
) -> None:
    check_mutation(data.draw(st.sampled_from(corpus_targets)), names, rng, fmt)


# ------------------------------------------------------------------ (c) logs


junk = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=120)
log_lines = st.one_of(st.sampled_from(hostile.RECOGNISED_LINES), junk)
prefixes = st.sampled_from(
    ["", "[00:00:41.512,030] ", "<err> img_mgmt: ", "E: ", "\x1b[1;31m", "> `", "    "]
)
suffixes = st.sampled_from(["", "\r", "\x1b[0m", "`", " ***", " " * 3000])


@st.composite
def logs(draw) -> str:
    lines = draw(st.lists(st.tuples(prefixes, log_lines, suffixes), min_size=1, max_size=60))
    return "\n".join(prefix + line + suffix for prefix, line, suffix in lines) + "\n"


@PROPERTIES
@given(logs(), st.sampled_from(PARSED_FORMATS))
def test_any_log_gets_an_answer(log: str, fmt: str) -> None:
    outcome = run({"console.log": log.encode("utf-8")}, ("triage", "console.log", "--format", fmt))
    assert_answers(outcome)
    assert outcome.exit_code in (0, 1), outcome.describe()


@PROPERTIES
@given(logs())
def test_a_log_beside_a_build_gets_an_answer(log: str) -> None:
    build = hostile.Target(hostile.BUILDS / "cli" / "healthy", "console.log", ("-d", "build"))
    outcome = run(
        {"console.log": log.encode("utf-8")},
        ("-d", "build", "--log", "console.log", "--format", "sarif"),
        build,
    )
    assert_answers(outcome)
