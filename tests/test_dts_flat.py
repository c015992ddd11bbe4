"""The flat zephyr.dts reader against dtlib: the same model, or it leaves the file to dtlib.

``loaders/dts_flat.py`` reads the text dtlib wrote without dtlib, for speed.
That is only sound if, for every text it accepts, the model it gives is the
one dtlib would give: node order, labels, compatible, status, reg, kept
properties, chosen (with lines and origin comments), references, layout.
These tests compare the two on every real devicetree (fixtures, examples, the
corpus), then on mutations of real ones, where the flat reader must either
decline or agree with dtlib.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import List, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import BUILDS, ROOT, corpus_or_skip
from pmdoctor.loaders import LoadError, dts_flat, read_text
from pmdoctor.loaders.devicetree import dtlib_module, load_devicetree, read_flat, read_with_dtlib
from pmdoctor.model import Devicetree

pytestmark = pytest.mark.skipif(dtlib_module() is None, reason="dtlib (the devicetree package) is needed")

FIXTURES = sorted([*BUILDS.rglob("zephyr.dts"), *(ROOT / "examples").rglob("zephyr.dts")])
# Hand-written fixtures dtlib reads differently from what it writes (a property given twice).
LEFT_TO_DTLIB = {"mcuboot/nrf52840_sysbuild_ext"}


def _both(path: Path, text: Optional[str] = None) -> tuple:
    text = read_text(path) if text is None else text
    return read_flat(text, path, "app"), read_with_dtlib(text, path, "app")


def _same(flat: Devicetree, dtlib: Devicetree) -> None:
    """Field by field (for a readable failure), then as a whole with dict order (repr shows it)."""
    for name in ("chosen", "chosen_source", "chosen_origin", "labels", "references", "layout"):
        assert repr(getattr(flat, name)) == repr(getattr(dtlib, name)), name
    assert list(flat.nodes) == list(dtlib.nodes)
    for path, node in dtlib.nodes.items():
        assert repr(flat.nodes[path]) == repr(node), path
    assert repr(flat) == repr(dtlib)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_fixture_devicetrees_read_flat_as_dtlib_reads_them(path: Path) -> None:
    flat, dtlib = _both(path)
    if any(part in str(path.as_posix()) for part in LEFT_TO_DTLIB):
        assert flat is None, "a property given twice is dtlib's to merge"
        return
    assert flat is not None, "the flat reader declined a devicetree dtlib wrote"
    _same(flat, dtlib)


def test_corpus_devicetrees_read_flat_as_dtlib_reads_them() -> None:
    files = sorted(corpus_or_skip().rglob("zephyr.dts"))
    assert files
    for path in files:
        flat, dtlib = _both(path)
        assert flat is not None, f"{path}: declined (every real build's zephyr.dts should read flat)"
        _same(flat, dtlib)


def test_load_devicetree_does_not_need_dtlib_for_what_dtlib_wrote(tmp_path: Path) -> None:
    """The flat reader answers on its own: a tree whose dtlib is broken gives the same model."""
    path = BUILDS / "foundation" / "devicetree_features" / "zephyr.dts"
    broken = tmp_path / "zephyr"
    (broken / "scripts" / "dts" / "python-devicetree" / "src" / "devicetree").mkdir(parents=True)
    (broken / "scripts" / "dts" / "python-devicetree" / "src" / "devicetree" / "dtlib.py").write_text(
        "raise RuntimeError('not this one')\n"
    )
    assert repr(load_devicetree(path, "app", broken)) == repr(read_with_dtlib(read_text(path), path, "app"))


# ------------------------------------------------------------------ mutations

SEEDS = [
    BUILDS / "foundation" / "devicetree_features" / "zephyr.dts",
    BUILDS / "foundation" / "devicetree_nrf52840" / "hello" / "zephyr" / "zephyr.dts",
]
# Lines that are each valid somewhere in a devicetree, or that dtlib reads in a way the subset has not.
PIECES = [
    "};",
    "x {",
    "lbl: y@1 {",
    'status = "disabled";',
    'status = "okay";',
    "reg = < 0x0 0x1000 >;",
    "reg = < 0x0 &flash0 >;",
    "ref = < &flash0 >;",
    "ref = < &nowhere >;",
    "p = &slot0_partition;",
    "p = &{/soc};",
    "p = &{/nowhere};",
    "phandle = < 0x1 >;",
    "phandle = < 0x0 >;",
    "bytes = [ 01 02 ];",
    'mixed = "a", < 0x1 >;',
    'compatible = "fixed-partitions";',
    'label = "image-0";',
    "#address-cells = < 0x2 >;",
    "flag;",
    "lbl2: flag2;",
    "/* node '/x' defined in a.dts:1 */",
    "/* in a.dts:2 */",
    "/memreserve/ 0x0 0x0;",
    "/delete-node/ &flash0;",
    "aliases {",
    "led0 = &flash0;",
    "chosen {",
    "zephyr,flash = &flash0;",
    'zephyr,console = "/soc";',
    's = "a\\"b";',
    "n = < 0x100000000 >;",
    "n = < (1 + 2) >;",
    "n = < 1 >;",
    "\t",
    "",
]
MUTATIONS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _mutate(lines: List[str], rng: random.Random, count: int) -> List[str]:
    lines = list(lines)
    for _ in range(count):
        at = rng.randrange(len(lines) + 1)
        choice = rng.randrange(6)
        if choice == 0 and at < len(lines):
            del lines[at]
        elif choice == 1 and at < len(lines):
            lines.insert(at, lines[at])
        elif choice == 2 and at + 1 < len(lines):
            lines[at], lines[at + 1] = lines[at + 1], lines[at]
        elif choice == 3 and at < len(lines):
            indent = lines[at][: len(lines[at]) - len(lines[at].lstrip("\t"))]
            lines[at] = indent + rng.choice(PIECES)
        elif choice == 4 and at < len(lines) and lines[at]:
            cut = rng.randrange(len(lines[at]))
            lines[at] = lines[at][:cut] + rng.choice(' ;{}=&<>"/*:,@x0') + lines[at][cut:]
        else:
            lines.insert(at, "\t" * rng.randrange(4) + rng.choice(PIECES))
    return lines


@MUTATIONS
@given(seed=st.sampled_from(SEEDS), mutation=st.integers(0, 2**32 - 1), count=st.integers(1, 4))
def test_mutated_devicetrees_are_read_as_dtlib_reads_them_or_left_to_it(
    tmp_path_factory: pytest.TempPathFactory, seed: Path, mutation: int, count: int
) -> None:
    text = "\n".join(_mutate(read_text(seed).split("\n"), random.Random(mutation), count))
    path = tmp_path_factory.mktemp("dts") / "zephyr.dts"
    path.write_text(text, encoding="utf-8")
    flat = read_flat(text, path, "app")
    if flat is None:
        return  # declined: dtlib decides, as before
    try:
        dtlib = read_with_dtlib(text, path, "app")
    except LoadError as error:
        pytest.fail(f"the flat reader read what dtlib refuses ({error}):\n{text}")
    _same(flat, dtlib)


def test_the_scan_is_linear_and_declines_without_raising() -> None:
    """Hostile shapes (deep nesting, long lines, unclosed values) end in None, never an exception."""
    deep = "/dts-v1/;\n/ {\n" + "a {\n" * 5000 + "};\n" * 5001
    unclosed = "/dts-v1/;\n/ {\n\tp = < 0x1\n" + "\t0x2\n" * 50_000
    long_line = '/dts-v1/;\n/ {\n\tp = "' + "x" * 2_000_000 + '";\n};\n'
    for text in (deep, unclosed, "", "\x00" * 1000, "/dts-v1/;\n/ {\n"):
        assert dts_flat.scan(text) is None
    tree = dts_flat.scan(long_line)
    assert tree is not None and tree.stats.longest_line > 2_000_000  # the caller's limits refuse it
