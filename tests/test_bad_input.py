"""Broken input never produces a traceback: the real CLI, in a subprocess.

Exit codes: 1 when a file could not be used (PMD001/PMD002 findings),
2 when there is no usable build directory at all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOUNDATION = ROOT / "tests" / "builds" / "foundation"


def pmdoctor(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "pmdoctor", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_no_traceback(result: subprocess.CompletedProcess) -> None:
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream, stream
        assert "internal error" not in stream, stream


def copy_case(tmp_path: Path, name: str = "child_image_nrf52840") -> Path:
    return Path(shutil.copytree(FOUNDATION / name, tmp_path / name))


def truncate(path: Path) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[: len(lines) // 3]) + "\n")


def junk(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 4)


# (description, file below the case, how to break it, words the report must contain or None)
BREAKAGES: List[tuple] = [
    ("truncated app devicetree", "zephyr/zephyr.dts", truncate, "devicetree does not parse"),
    ("truncated mcuboot devicetree", "mcuboot/zephyr/zephyr.dts", truncate, "devicetree does not parse"),
    ("binary .config", "zephyr/.config", junk, "binary data"),
    ("binary CMakeCache.txt", "CMakeCache.txt", junk, "binary data"),
    ("binary partitions.yml", "partitions.yml", junk, "binary data"),
    (
        "latin-1 regions.yml",
        "regions.yml",
        lambda p: p.write_bytes(b"flash_primary:\n  name: \xe9\n"),
        "UTF-8",
    ),
    (
        "unclosed list in partitions.yml",
        "partitions.yml",
        lambda p: p.write_text(p.read_text().replace("  - mcuboot_primary\n", "  - [mcuboot_primary\n")),
        "invalid YAML",
    ),
    (
        "alias bomb in partitions.yml",
        "partitions.yml",
        lambda p: p.write_text(
            'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
            )
        ),
        "alias bomb",
    ),
    (
        # libyaml composes recursively in C: this used to kill the interpreter (SIGSEGV). Which
        # refusal comes first, ours or libyaml's own depth limit, depends on the PyYAML release:
        # the behaviour is checked (a PMD001 for that file), not the wording.
        "flow YAML nested 100000 deep",
        "partitions.yml",
        lambda p: p.write_text("app: " + "[" * 100_000 + "]" * 100_000 + "\n"),
        None,
    ),
    (
        "block YAML nested 3000 deep",
        "partitions.yml",
        lambda p: p.write_text("".join("  " * i + f"k{i}:\n" for i in range(3000)) + "  " * 3000 + "x: 1\n"),
        "nested more than 64 levels deep",
    ),
    (
        "NUL bytes in zephyr.dts",
        "zephyr/zephyr.dts",
        lambda p: p.write_bytes(b"/dts-v1/;\n\x00\x00"),
        "binary",
    ),
]


@pytest.mark.parametrize(
    ("relative", "breaker", "words"), [b[1:] for b in BREAKAGES], ids=[b[0] for b in BREAKAGES]
)
def test_unreadable_file_is_a_finding(
    tmp_path: Path, relative: str, breaker: Callable[[Path], None], words: Optional[str]
) -> None:
    case = copy_case(tmp_path)
    broken = case / relative
    breaker(broken)
    result = pmdoctor("-d", str(case), "--color", "never", cwd=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "PMD001" in result.stdout
    assert words is None or words in result.stdout
    assert str(Path(case.name) / relative) in result.stdout  # the report names the file


@pytest.mark.parametrize(
    "content",
    [
        "- just\n- a list\n",
        "a plain string\n",
        "app:\n  address: not-a-number\n  size:\n  span: 5\n  region: 3\n",
        "app: 0x1000\nmcuboot:\n  placement: [before]\n",
    ],
    ids=["list", "scalar", "wrong-types", "wrong-shapes"],
)
def test_wrong_shape_partitions_is_a_schema_finding(tmp_path: Path, content: str) -> None:
    case = copy_case(tmp_path)
    (case / "partitions.yml").write_text(content)
    result = pmdoctor("-d", str(case), "-f", "json", cwd=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 1, result.stdout + result.stderr
    assert '"rule": "PMD002"' in result.stdout


def test_empty_files_do_not_crash(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "sysbuild_nrf5340")
    for name in ("partitions.yml", "regions.yml", "partitions_CPUNET.yml", "domains.yaml"):
        (case / name).write_text("")
    (case / "ipc_radio" / "zephyr" / ".config").write_text("")
    result = pmdoctor("-d", str(case), cwd=tmp_path)
    assert_no_traceback(result)
    assert result.returncode in (0, 1)


def test_broken_file_does_not_hide_the_rest(tmp_path: Path) -> None:
    """An unreadable mcuboot devicetree still leaves the layout checked."""
    case = copy_case(tmp_path)
    truncate(case / "mcuboot" / "zephyr" / "zephyr.dts")
    partitions = case / "partitions.yml"
    partitions.write_text(partitions.read_text().replace("  address: 0xf8000\n", "  address: 0xf0000\n"))
    result = pmdoctor("-d", str(case), "-f", "json", cwd=tmp_path)
    assert_no_traceback(result)
    assert '"rule": "PMD001"' in result.stdout
    assert '"rule": "PMD101"' in result.stdout


def test_missing_build_dir(tmp_path: Path) -> None:
    result = pmdoctor("-d", "no/such/build", cwd=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["pmdoctor: no/such/build: no such directory"]


def test_directory_without_cmake_cache(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    result = pmdoctor("-d", "notes", cwd=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "pmdoctor: notes: not a build directory (no CMakeCache.txt)"
    ]


def test_file_given_as_build_dir(tmp_path: Path) -> None:
    (tmp_path / "partitions.yml").write_text("app: {address: 0, size: 4}\n")
    result = pmdoctor("-d", "partitions.yml", cwd=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_build_dir_anywhere(tmp_path: Path) -> None:
    result = pmdoctor(cwd=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no build directory found" in lines[0] and str(tmp_path / "build") in lines[0]


def test_schema_violation_through_an_alias_names_the_anchor_line_and_stays_quiet(tmp_path: Path) -> None:
    """PM writes `orig_span: &id001 [...]` and `span: *id001`: a bad item is reported at its real line,
    and pykwalify's own logging never reaches the terminal."""
    case = copy_case(tmp_path)
    partitions = case / "partitions.yml"
    text = partitions.read_text()
    assert "  orig_span: &id001\n  - mcuboot_pad\n  - app\n" in text
    partitions.write_text(text.replace("  - mcuboot_pad\n  - app\n", "  - mcuboot_pad\n  - [app]\n", 1))
    result = pmdoctor("-d", str(case), "-f", "json", cwd=tmp_path)
    assert_no_traceback(result)
    assert result.stderr == ""
    assert result.returncode == 1
    document = json.loads(result.stdout)
    schema = [f for f in document["builds"][0]["findings"] if f["rule"] == "PMD002"]
    where = {(f["location"]["file"], f["location"]["line"]) for f in schema}
    assert where == {(str(Path(case.name) / "partitions.yml"), 34)}  # the `- [app]` under the anchor
    assert any(
        "mcuboot_primary/span/1" in f["message"] or "span/1" in " ".join(f["evidence"]) for f in schema
    )


def test_symlinks_back_up_the_build_tree_are_not_images(tmp_path: Path) -> None:
    case = copy_case(tmp_path)
    (case / "self").symlink_to(".")
    (case / "mcuboot" / "up").symlink_to("..")
    (case / "loop_a").symlink_to("loop_b")
    (case / "loop_b").symlink_to("loop_a")
    result = pmdoctor("-d", str(case), "-f", "json", cwd=tmp_path)
    assert_no_traceback(result)
    build = json.loads(result.stdout)["builds"][0]
    assert build["images"] == ["app", "mcuboot"]
    assert all(f["rule"] != "PMD101" for f in build["findings"])  # no layout counted twice


def test_unreadable_partitions_file(tmp_path: Path) -> None:
    case = copy_case(tmp_path)
    partitions = case / "partitions.yml"
    partitions.chmod(0)
    try:
        if os.access(partitions, os.R_OK):
            pytest.skip("running as root: permissions do not stop reading")
        result = pmdoctor("-d", str(case), cwd=tmp_path)
    finally:
        partitions.chmod(0o644)
    assert_no_traceback(result)
    assert result.returncode == 1
    assert "PMD001" in result.stdout and "cannot read" in result.stdout
