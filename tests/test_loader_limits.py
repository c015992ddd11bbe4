"""Hostile files stay bounded: what is not a regular file is never opened, huge inputs cost little.

Each test builds its hostile input in ``tmp_path`` at run time and drives the
real CLI in a subprocess where the behaviour is the CLI's. Time and memory
bounds are generous on purpose (shared, noisy machines): they catch the
orders of magnitude the old code took (minutes, gigabytes), not a regression
of a few percent. The figures themselves are measured outside the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest

from conftest import BUILDS, ROOT
from helpers import run_pmdoctor
from pmdoctor.loaders import LoadError, file_problem, parse_int, read_text
from pmdoctor.loaders.kconfig import parse_value
from pmdoctor.loaders.logs import _KEYWORDS, MAX_REPEATS, RECOGNISERS, load_log, parse_log, version_tuple
from pmdoctor.loaders.partitions import _int
from pmdoctor.loaders.yamlfile import MAX_NODES, parse_yaml

FOUNDATION = BUILDS / "foundation"
unix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and devices are POSIX")


def copy_case(tmp_path: Path, name: str = "child_image_nrf52840") -> Path:
    return Path(shutil.copytree(FOUNDATION / name, tmp_path / name))


def assert_clean_run(result: subprocess.CompletedProcess) -> None:
    """No traceback and no internal error (exit 3): bad input is a finding, not a crash."""
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream, stream[-3000:]
        assert "internal error" not in stream, stream[-3000:]
    assert result.returncode != 3


# A wrapper whose only child is pmdoctor, so its peak memory is pmdoctor's alone.
_MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[2:], capture_output=True, text=True, timeout=300)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(sys.argv[1], "w") as out:
    out.write(f"{seconds} {peak}\\n{done.returncode}\\n")
sys.stdout.write(done.stdout)
sys.stderr.write(done.stderr)
sys.exit(done.returncode)
"""


def run_measured(*args: str, cwd: Path) -> Tuple[subprocess.CompletedProcess, float, float]:
    """The CLI in a subprocess; also its wall seconds and its peak resident memory in MB (Linux units)."""
    figures = cwd / "figures.txt"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), NO_COLOR="1")
    env.pop("ZEPHYR_BASE", None)
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(figures), sys.executable, "-m", "pmdoctor", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=320,
    )
    seconds, peak = figures.read_text().split()[:2]
    return result, float(seconds), int(peak) / 1024


# ------------------------------------------------------------ 1. only regular files are opened


@unix_only
def test_fifo_where_a_build_file_belongs_is_a_finding_not_a_hang(tmp_path: Path) -> None:
    """Reading a FIFO blocks until someone writes to it: the old loader waited forever here."""
    case = copy_case(tmp_path)
    (case / "partitions.yml").unlink()
    os.mkfifo(case / "partitions.yml")
    result = run_pmdoctor("-d", str(case), cwd=tmp_path)  # a hang ends in TimeoutExpired
    assert_clean_run(result)
    assert result.returncode == 1
    assert "PMD001" in result.stdout and "is a FIFO (named pipe), not a file" in result.stdout
    assert str(Path(case.name) / "partitions.yml") in result.stdout


def _refusals(path: Path, *, swapped: bool = False) -> List[str]:
    """What read_text and read_line_blocks say about ``path``, found in a subprocess.

    A loader that opens a FIFO waits for a writer forever: in a subprocess,
    that fails on the timeout instead of hanging the suite. ``swapped`` makes
    the type check answer "a regular file", as when the file is replaced by a
    FIFO between the check and the open (a race that cannot be produced on demand).
    """
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "import pmdoctor.loaders as loaders\n"
        "if sys.argv[2] == 'swapped':\n"
        "    loaders.file_problem = lambda path: None\n"
        "for read in (loaders.read_text, lambda path: list(loaders.read_line_blocks(path))):\n"
        "    try:\n"
        "        read(Path(sys.argv[1]))\n"
        "        print('read')\n"
        "    except loaders.LoadError as error:\n"
        "        print(error.message)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"))
    argv = [sys.executable, "-c", script, str(path), "swapped" if swapped else "-"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@unix_only
def test_the_readers_refuse_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yml"
    os.mkfifo(fifo)
    (tmp_path / "folder.yml").mkdir()
    cases = {fifo: "is a FIFO (named pipe)", tmp_path / "folder.yml": "is a directory"}
    if Path("/dev/null").exists():
        cases[Path("/dev/null")] = "is a character device"  # the old loader read it as an empty file
    for path, why in cases.items():
        assert _refusals(path) == [f"{why}, not a file"] * 2


@unix_only
def test_a_file_swapped_for_a_fifo_after_the_check_is_refused_without_blocking(tmp_path: Path) -> None:
    """O_NONBLOCK makes the open return at once; the check of what was opened refuses the FIFO."""
    fifo = tmp_path / "partitions.yml"
    os.mkfifo(fifo)
    assert _refusals(fifo, swapped=True) == ["is a FIFO (named pipe), not a file"] * 2


# ------------------------------------------------------------ 2. the assemblers say what is there

# (case, file below it, the -d directory below the case)
BUILD_FILES = [
    ("child_image_nrf52840", "zephyr/zephyr.dts", "."),
    ("child_image_nrf52840", "zephyr/.config", "."),
    ("child_image_nrf52840", "mcuboot/zephyr/.config", "."),
    ("child_image_nrf52840", "CMakeCache.txt", "."),
    ("child_image_nrf52840", "partitions.yml", "."),
    ("child_image_nrf52840", "regions.yml", "."),
    ("sysbuild_nrf5340", "domains.yaml", "."),
    ("sysbuild_nrf5340", "regions_CPUNET.yml", "."),
    ("static_nrf52840", "app/pm_static.yml", "app/build"),
]
MAKERS: Dict[str, Tuple[Callable[[Path], None], str]] = {
    "folder": (lambda path: path.mkdir(), "is a directory, not a file"),
    "fifo": (lambda path: os.mkfifo(path), "is a FIFO (named pipe), not a file"),
    "link loop": (lambda path: path.symlink_to(path.name), "is a symbolic link loop, not a file"),
}


@unix_only
@pytest.mark.parametrize("kind", sorted(MAKERS))
@pytest.mark.parametrize(("case_name", "relative", "build"), BUILD_FILES, ids=[f[1] for f in BUILD_FILES])
def test_something_else_where_a_build_file_belongs_is_pmd001(
    tmp_path: Path, case_name: str, relative: str, build: str, kind: str
) -> None:
    """The old assemblers took a folder or FIFO there for a missing file and checked nothing of it."""
    case = copy_case(tmp_path, case_name)
    target = case / relative
    target.unlink()
    make, why = MAKERS[kind]
    make(target)
    result = run_pmdoctor("-d", str(case / build), "-f", "json", cwd=tmp_path)
    assert_clean_run(result)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr
    findings = json.loads(result.stdout)["builds"][0]["findings"]
    assert any(
        f["rule"] == "PMD001" and f["message"] == why and f["location"]["file"].endswith(relative)
        for f in findings
    ), [f["message"] for f in findings if f["rule"] == "PMD001"]


def _char_device(path: Path) -> None:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is on Linux
    except (PermissionError, AttributeError, OSError):
        pytest.skip("cannot create a device node here (needs root on Linux)")


@unix_only
def test_device_node_in_a_build_dir_is_pmd001(tmp_path: Path) -> None:
    case = copy_case(tmp_path)
    (case / "zephyr" / "zephyr.dts").unlink()
    _char_device(case / "zephyr" / "zephyr.dts")
    result = run_pmdoctor("-d", str(case), cwd=tmp_path)
    assert_clean_run(result)
    assert result.returncode == 1
    assert "is a character device, not a file" in result.stdout


@unix_only
def test_triage_lists_fifos_and_devices_as_not_used_and_never_blocks(tmp_path: Path) -> None:
    folder = tmp_path / "thread"
    shutil.copytree(ROOT / "tests" / "triage" / "pinnacle100", folder)
    os.mkfifo(folder / "console2.log")
    os.mkfifo(tmp_path / "given.log")
    given = [str(folder), str(tmp_path / "given.log")]
    if Path("/dev/null").exists():
        given.append("/dev/null")
    result = run_pmdoctor("triage", *given, "-f", "json", cwd=tmp_path)
    assert_clean_run(result)
    inputs = {Path(i["path"]).name: i for i in json.loads(result.stdout)["builds"][0]["inputs"]}
    for name in ("console2.log", "given.log"):
        assert not inputs[name]["taken_as"] and inputs[name]["detail"] == "is a FIFO (named pipe), not a file"
    if "/dev/null" in given:
        assert inputs["null"]["detail"] == "is a character device, not a file"
    assert inputs["console.log"]["taken_as"] == "log"  # the real files are still read


# ------------------------------------------------------------ 3. YAML bounded before it is built


def test_huge_yaml_is_refused_before_it_is_built(tmp_path: Path) -> None:
    """16 MB of small entries: the old loader built all 1.2 million nodes (40 s, 1 GB) before counting."""
    case = copy_case(tmp_path)
    entries = 400_000
    (case / "partitions.yml").write_text(
        "".join(f"p{i}:\n  address: 0x{i:x}\n  size: 0x10\n" for i in range(entries))
    )
    result, seconds, peak_mb = run_measured("-d", str(case), cwd=tmp_path)
    assert_clean_run(result)
    assert result.returncode == 1
    assert "PMD001" in result.stdout and f"more than {MAX_NODES} nodes" in result.stdout
    assert seconds < 20, seconds
    assert peak_mb < 400, peak_mb


def test_libyaml_depth_limit_reads_as_ours(tmp_path: Path) -> None:
    """libyaml (PyYAML 6.0.4) stops at its own depth before the events reach our count: same message."""
    with pytest.raises(LoadError, match="YAML nested more than 64 levels deep") as caught:
        parse_yaml("app: " + "[" * 100_000 + "]" * 100_000 + "\n", tmp_path / "partitions.yml")
    assert caught.value.source.line == 1


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("app:\n  size: " + "1" * 5000 + "\n", "an integer 5000 characters long"),
        ("app:\n  size: 0x" + "f" * 5000 + "\n", "an integer 5002 characters long"),
        ("app:\n  ? " + "9" * 4400 + "\n  : 1\n", "an integer 4400 characters long"),
        ("app:\n  size: !!int twelve\n", "not a valid int"),
        ("app:\n  built: 2024-13-45\n", "not a valid timestamp"),
    ],
    ids=["decimal", "hex", "key", "bad-int-tag", "bad-date"],
)
def test_yaml_values_python_cannot_build_are_pmd001(tmp_path: Path, text: str, words: str) -> None:
    """int() refuses more than 4300 digits (exit 3 before); a bad date raised ValueError too."""
    case = copy_case(tmp_path)
    (case / "partitions.yml").write_text(text)
    result = run_pmdoctor("-d", str(case), cwd=tmp_path)
    assert_clean_run(result)
    assert result.returncode == 1
    assert "PMD001" in result.stdout and words in result.stdout


def test_numbers_too_long_to_be_numbers_stay_text() -> None:
    long = "1" * 5000
    assert parse_int(long) is None and parse_int("0x" + "f" * 5000) is None
    assert parse_int("0x1000") == 0x1000 and parse_int("12") == 12 and parse_int("x") is None
    assert parse_value("0x" + "f" * 5000) == "0x" + "f" * 5000  # Kconfig keeps it as text
    assert parse_value("0x20") == 0x20
    assert _int(long) is None and _int("0x20") == 0x20
    assert version_tuple("v" + long + ".1.2") is None
    assert version_tuple("v2.6.1") == (2, 6, 1)


def test_a_log_naming_an_absurd_version_is_no_crash(tmp_path: Path) -> None:
    """The version regex takes any run of digits; int() of 5000 of them was exit 3."""
    log = tmp_path / "boot.log"
    log.write_text(
        "*** Booting nRF Connect SDK v" + "1" * 5000 + ".0.0 ***\nImage upload inspect failed: 5\n"
    )
    result = run_pmdoctor("triage", str(log), cwd=tmp_path)
    assert_clean_run(result)
    assert result.returncode == 1
    assert "recognised line" in result.stdout


# ------------------------------------------------------------ 4. duplicate keys are warned about


def test_duplicate_key_in_a_layout_is_a_pmd002_warning_naming_both_lines(tmp_path: Path) -> None:
    case = copy_case(tmp_path)
    partitions = case / "partitions.yml"
    text = partitions.read_text()
    assert text.startswith("app:\n  address: 0xc200\n")
    partitions.write_text("app:\n  address: 0xc000\n" + text[len("app:\n") :])
    result = run_pmdoctor("-d", str(case), "-f", "json", cwd=tmp_path)
    assert_clean_run(result)
    assert result.returncode == 0  # a warning: the build is as Partition Manager read it
    warnings = [f for f in json.loads(result.stdout)["builds"][0]["findings"] if f["rule"] == "PMD002"]
    assert len(warnings) == 1
    warning = warnings[0]
    assert warning["severity"] == "warning"
    assert warning["location"]["line"] == 3
    assert warning["message"].startswith("app/address: duplicate key, given on lines 2 and 3;")
    assert "keeps the last one (line 3)" in warning["message"]


def test_duplicate_keys_keep_the_last_value_and_its_line(tmp_path: Path) -> None:
    text = "a: &x {k: 1, k: 2}\nb: *x\nc:\n  size: 1\nc:\n  size: 2\n"
    doc = parse_yaml(text, tmp_path / "pm_static.yml")
    assert doc.data == {"a": {"k": 2}, "b": {"k": 2}, "c": {"size": 2}}
    assert doc.line("c", "size") == 6  # the kept value's line, as Partition Manager uses it
    # The aliased mapping is built twice but reported once.
    assert [(d.keys, d.first, d.second) for d in doc.duplicates] == [(("a", "k"), 1, 1), (("c",), 3, 5)]


def test_triage_warns_about_duplicates_in_static_and_regions_files(tmp_path: Path) -> None:
    static = tmp_path / "pm_static.yml"
    static.write_text("mcuboot:\n  address: 0x0\n  size: 0xc000\n  size: 0x10000\n")
    regions = tmp_path / "regions.yml"
    regions.write_text(
        "flash_primary:\n  name: flash_primary\n  base_address: 0x0\n  size: 0x100000\n  size: 0x80000\n"
    )
    result = run_pmdoctor("triage", str(static), str(regions), "-f", "json", cwd=tmp_path)
    assert_clean_run(result)
    warnings = [f for f in json.loads(result.stdout)["builds"][0]["findings"] if f["rule"] == "PMD002"]
    where = {(Path(f["location"]["file"]).name, f["location"]["line"]) for f in warnings}
    assert where == {("pm_static.yml", 4), ("regions.yml", 5)}
    assert all(f["severity"] == "warning" and "duplicate key" in f["message"] for f in warnings)


# ------------------------------------------------------------ 5. thousands of sysbuild domains


def test_thousands_of_domains_take_seconds_not_minutes(tmp_path: Path) -> None:
    """Every new image's folder was resolved against every earlier one: quadratic, over 150 s.

    8,000 domains is as many as domains.yaml can hold inside the YAML node limit.
    """
    case = copy_case(tmp_path, "sysbuild_nrf5340")
    names = ["peripheral_uart", "mcuboot", "ipc_radio", "b0n"] + [f"d{i}" for i in range(8_000)]
    top = "/home/user/peripheral_uart/build"
    (case / "domains.yaml").write_text(
        f"default: peripheral_uart\nbuild_dir: {top}\ndomains:\n"
        + "".join(f"  - name: {name}\n    build_dir: {top}/{name}\n" for name in names)
    )
    result, seconds, _ = run_measured("-d", str(case), "-f", "json", cwd=tmp_path)
    assert_clean_run(result)
    assert seconds < 30, seconds
    assert len(json.loads(result.stdout)["builds"][0]["images"]) == len(names)


# ------------------------------------------------------------ 6. logs streamed, repeats counted

FLASH_AREA = "<err> mcuboot: Failed to open flash area ID 1 (image 0 slot 1): -2"


def _boot_loop_log(path: Path, lines: int) -> Path:
    path.write_text("*** Booting MCUboot v2.1.0 ***\n" + f"{FLASH_AREA}\n" * lines)
    return path


def test_repeated_log_lines_are_quoted_a_few_times_and_counted(tmp_path: Path) -> None:
    log = parse_log("\n".join(f"[00:00:{i:02}.000,000] {FLASH_AREA}" for i in range(50)), None)
    assert [s.source.line for s in log.symptoms] == list(range(1, MAX_REPEATS + 1))
    assert log.omitted == 50 - MAX_REPEATS
    assert (
        log.describe()
        == f"50 recognised line(s); {50 - MAX_REPEATS} repeating the same messages are counted, not quoted"
    )
    # Different messages are each quoted.
    several = parse_log("\n".join(f"Failed to open flash area ID {i}: -2" for i in range(5)), None)
    assert len(several.symptoms) == 5 and several.omitted == 0
    assert several.describe() == "5 recognised line(s)"


def test_every_recogniser_has_its_keywords() -> None:
    """Only lines holding a keyword meet the recognisers (test_logs.py has a line for each of them)."""
    assert len(_KEYWORDS) == len(RECOGNISERS)
    assert all(word == word.lower() for words in _KEYWORDS for word in words)


def test_a_log_file_reads_as_its_text(tmp_path: Path) -> None:
    """load_log streams the file; it must see the same lines as parse_log on the whole text."""
    text = (
        "\ufeff*** Booting nRF Connect SDK v2.5.1 ***\r\nnoise\x0bmore\n"
        "\x1b[1;31mE: Failed to open flash area ID 2: -19\x1b[0m\r\n\u2028Image upload inspect failed: 5\n"
        "Jumping to the first image slot\n"
    )
    path = tmp_path / "c.log"
    path.write_bytes(text.encode("utf-8"))
    streamed = load_log(path)
    whole = parse_log(read_text(path), path)
    assert streamed == whole
    assert [(s.id, s.source.line) for s in streamed.symptoms] == [
        ("device-not-ready", 4),
        ("slot-unreachable", 6),
        ("boot-hang", 7),
    ]


@pytest.mark.parametrize("mode", ["build", "triage"])
def test_a_boot_loop_log_stays_small_and_fast(tmp_path: Path, mode: str) -> None:
    """400,000 recognised lines: 14-24 s, 1.1 GB and a 140 MB report before."""
    log = _boot_loop_log(tmp_path / "console.log", 400_000)
    if mode == "build":
        args: List[str] = ["-d", str(FOUNDATION / "child_image_nrf52840"), "--log", str(log)]
    else:
        args = ["triage", str(log)]
    result, seconds, peak_mb = run_measured(*args, "-f", "json", cwd=tmp_path)
    assert_clean_run(result)
    assert result.returncode == 1
    assert len(result.stdout) < 200_000
    build = json.loads(result.stdout)["builds"][0]
    observed = [line for f in build["findings"] for line in f.get("observed", [])]
    assert 1 <= len(observed) <= MAX_REPEATS
    detail = next(i["detail"] for i in build["inputs"] if Path(i["path"]).name == "console.log")
    assert detail.startswith("400000 recognised line(s);")
    assert seconds < 30, seconds
    assert peak_mb < 400, peak_mb


def test_a_bad_byte_late_in_a_log_is_still_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "late.log"
    path.write_bytes(b"fine\n" * 300_000 + b"caf\xe9\n")
    with pytest.raises(LoadError, match=r"not valid UTF-8 text \(byte 0xe9\)") as caught:
        load_log(path)
    assert caught.value.source.line == 300_001


# ------------------------------------------------------------ 7. symlink loops


@unix_only
def test_symlink_loops_in_a_triage_folder_are_listed_not_fatal(tmp_path: Path) -> None:
    folder = tmp_path / "thread"
    shutil.copytree(ROOT / "tests" / "triage" / "pinnacle100", folder)
    (folder / "a.yml").symlink_to("b.yml")
    (folder / "b.yml").symlink_to("a.yml")
    (folder / "self.log").symlink_to("self.log")
    result = run_pmdoctor("triage", str(folder), "-f", "json", cwd=tmp_path)
    assert_clean_run(result)
    inputs = {Path(i["path"]).name: i["detail"] for i in json.loads(result.stdout)["builds"][0]["inputs"]}
    for name in ("a.yml", "b.yml", "self.log"):
        assert inputs[name] == "is a symbolic link loop, not a file"


@unix_only
def test_symlink_loops_in_and_as_a_build_directory(tmp_path: Path) -> None:
    case = copy_case(tmp_path)
    (case / "loop_a").symlink_to("loop_b")
    (case / "loop_b").symlink_to("loop_a")
    (case / "self").symlink_to("self")
    (case / "mcuboot" / "zephyr" / "self").symlink_to("self")
    result = run_pmdoctor("-d", str(case), "-f", "json", cwd=tmp_path)
    assert_clean_run(result)
    assert json.loads(result.stdout)["builds"][0]["images"] == ["app", "mcuboot"]
    # A loop given as the build directory: a one-line usage error (Path.resolve raised RuntimeError).
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    for name in ("a", "self_dir"):
        if name == "self_dir":
            (tmp_path / name).symlink_to(name)
        result = run_pmdoctor("-d", name, cwd=tmp_path)
        assert_clean_run(result)
        assert result.returncode == 2
        assert result.stderr.strip() == f"pmdoctor: {name}: no such directory"


def test_paths_too_long_for_this_system_in_build_files_are_no_crash(tmp_path: Path) -> None:
    """A name of 5000 characters made Path.is_file()/is_dir() raise ENAMETOOLONG (exit 3)."""
    long = "/home/user/" + "a" * 5000
    sysbuild = copy_case(tmp_path, "sysbuild_nrf5340")
    domains = sysbuild / "domains.yaml"
    domains.write_text(
        domains.read_text()
        + f"  - name: evil\n    build_dir: {long}\n  - name: evil2\n    build_dir: {'b' * 300}/x\n"
    )
    child = copy_case(tmp_path)
    cache = child / "CMakeCache.txt"
    text = cache.read_text()
    for key in ("APPLICATION_SOURCE_DIR:PATH=", "ZEPHYR_BASE:PATH="):
        assert text.count(key) == 1
        start = text.index(key) + len(key)
        text = text[:start] + long + text[text.index("\n", start) :]
    cache.write_text(text + f"PM_STATIC_YML_FILE:STRING={long}/pm_static.yml\n")
    for case in (sysbuild, child):
        result = run_pmdoctor("-d", str(case), cwd=tmp_path)
        assert_clean_run(result)
        assert result.returncode in (0, 1)
    result = run_pmdoctor("-d", "a" * 5000, cwd=tmp_path)
    assert_clean_run(result)
    assert result.returncode == 2


def test_file_problem_never_raises_on_names_from_inputs(tmp_path: Path) -> None:
    """A path recorded in a stranger's file may be too long, or hold a NUL: nothing is there."""
    for name in ("a" * 5000, "x" * 300 + "/y", "nul\x00name"):
        assert file_problem(tmp_path / name) == "file does not exist"
