"""Hostile inputs for pmdoctor, shared by tests/test_hostile.py, tests/test_properties.py and scripts/fuzz.py.

pmdoctor reads files that strangers attached to forum threads, so it must be
safe on anything: no code runs, no file outside the inputs is read, time and
memory stay bounded, the output cannot be forged or broken. This module holds
what it takes to check that, in one place:

* :func:`run_cli` runs the real CLI in a subprocess under a memory limit and a
  timeout and measures its wall time and peak memory (its own VmHWM);
* the *generators* write the crafted files (huge numbers, FIFOs, include
  loops, 30 000 partitions, names with control characters …);
* :data:`CASES` names each crafted input with what a user should get;
* the *mutators* (byte flips, truncations, huge numbers, hostile names …) and
  the *layout*/*log* generators drive the property tests and the fuzz run.

It is not part of the pmdoctor package: nothing here ships.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
BUILDS = TESTS / "builds"
TRIAGE = TESTS / "triage"
CORPUS = ROOT.parent / "shared" / "corpus"

SECRET = "s3cr3t_token_9f2c"
INT_DIGITS = 5000  # more than the 4,300 digits Python converts to int by default
MIB = 1024 * 1024

# ------------------------------------------------------------------ running the CLI


@dataclass
class Outcome:
    """What one run of the CLI did, with the figures a failure message needs."""

    argv: List[str]
    cwd: Path
    exit_code: Optional[int]  # None: killed at the timeout
    stdout: str
    stderr: str
    seconds: float
    peak_rss: int  # bytes, of the child alone
    opened: List[str] = field(default_factory=list)  # files opened in the forbidden folder

    @property
    def timed_out(self) -> bool:
        return self.exit_code is None

    def describe(self) -> str:
        """Command, exit code, time, memory and the first lines of both streams, for an assert message."""
        exit_text = "killed at the timeout" if self.timed_out else str(self.exit_code)
        lines = [
            f"command: (cd {self.cwd} && pmdoctor {' '.join(_shell_quote(a) for a in self.argv)})",
            f"exit {exit_text}, {self.seconds:.2f} s, "
            + (
                f"peak RSS {self.peak_rss / MIB:.0f} MiB"
                if self.peak_rss
                else "in-process (RSS not measured)"
            ),
        ]
        for name, text in (("stderr", self.stderr), ("stdout", self.stdout)):
            head = text.splitlines()[:6]
            if head:
                lines.append(f"{name}: " + "\n        ".join(repr(line)[1:-1][:160] for line in head))
        if self.opened:
            lines.append("opened outside the inputs: " + ", ".join(self.opened[:5]))
        return "\n".join(lines)


def _shell_quote(text: str) -> str:
    return text if re.fullmatch(r"[\w./=:,@+-]+", text) else repr(text)


# Runs pmdoctor as `python -m pmdoctor` does, after three things in the child itself:
# the address-space limit; an exit handler that writes the child's own peak RSS
# (VmHWM: the kernel's ru_maxrss of a forked child also counts the parent's pages
# at fork time, so a large test runner would inflate it); and, with
# $PMDOCTOR_FORBID, an audit hook that logs every file opened (or folder listed)
# below that folder: the only way to see that a file was read when nothing of it
# reaches the report.
_CHILD_MAIN = r"""
import atexit, os, resource, sys
limit = int(os.environ["PMDOCTOR_MEMORY_LIMIT"])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
def write_peak():
    peak = None
    try:
        with open("/proc/self/status") as status:
            peak = [int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM:")][0]
    except (OSError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    with open(os.environ["PMDOCTOR_PEAK_FILE"], "w") as out:
        out.write(str(peak))
atexit.register(write_peak)
if os.environ.get("PMDOCTOR_FORBID"):
    forbid = os.path.realpath(os.environ["PMDOCTOR_FORBID"]) + os.sep
    log = os.open(os.environ["PMDOCTOR_OPEN_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    def hook(event, args):
        if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes)):
            path = os.path.realpath(os.fsdecode(args[0]))
            if (path + os.sep).startswith(forbid):
                os.write(log, (event + " " + path + "\n").encode("utf-8", "replace"))
    sys.addaudithook(hook)
import runpy
runpy.run_module("pmdoctor", run_name="__main__", alter_sys=True)
"""


def cli_environment(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment of a test run: this checkout's package, no colour, no Zephyr tree of this machine."""
    environ = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), NO_COLOR="1")
    environ.pop("ZEPHYR_BASE", None)
    environ.update(extra or {})
    return environ


def run_cli(
    argv: Sequence[str],
    cwd: Path,
    timeout: float = 10.0,
    memory_limit: int = 1536 * MIB,
    forbid: Optional[Path] = None,
    stdin_open: bool = False,
    plain: bool = False,
) -> Outcome:
    """``python -m pmdoctor ARGV`` in ``cwd``, limited to ``memory_limit`` bytes of address space.

    The child is killed after ``timeout`` seconds (``exit_code`` None). Its
    peak RSS is its own VmHWM. With ``forbid``, every file the child opens
    below that folder is listed in ``Outcome.opened``. ``stdin_open`` gives
    the child a pipe that never ends (as a terminal would) instead of
    /dev/null. ``plain`` runs exactly ``python -m pmdoctor`` (no limit; the
    peak RSS is then polled), for what depends on how Python starts.
    """
    with tempfile.TemporaryDirectory(prefix="pmdoctor-run-") as scratch:
        files = {name: Path(scratch, name) for name in ("stdout", "stderr", "opened", "peak")}
        extra = {"PMDOCTOR_MEMORY_LIMIT": str(memory_limit), "PMDOCTOR_PEAK_FILE": str(files["peak"])}
        if forbid is not None:
            extra.update(PMDOCTOR_FORBID=str(forbid), PMDOCTOR_OPEN_LOG=str(files["opened"]))
        program = ["-m", "pmdoctor"] if plain else ["-c", _CHILD_MAIN]
        with files["stdout"].open("wb") as out, files["stderr"].open("wb") as err:
            exit_code, seconds, polled = _run_watched(
                [sys.executable, *program, *argv], cwd, cli_environment(extra), out, err, timeout, stdin_open
            )
        reported = files["peak"].read_text() if files["peak"].exists() else ""
        opened = files["opened"].read_text(errors="replace").splitlines() if files["opened"].exists() else []
        return Outcome(
            list(argv),
            Path(cwd),
            exit_code,
            files["stdout"].read_bytes().decode("utf-8", "replace"),
            files["stderr"].read_bytes().decode("utf-8", "replace"),
            seconds,
            max(int(reported or 0), polled),
            opened,
        )


def run_in_process(argv: Sequence[str], cwd: Path) -> Outcome:
    """``pmdoctor.cli.run(ARGV)`` in this process (no limits, no RSS): ~20x faster than a subprocess.

    No Zephyr tree of this machine is used and no west configuration is read,
    as in :func:`run_cli`. ``run`` returns the exit code and never raises.
    """
    from pmdoctor.cli import run
    from pmdoctor.inputs.scope import Environment

    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        start = time.perf_counter()
        code = run(
            list(argv),
            stdout=out,
            stderr=err,
            cwd=Path(cwd),
            config_get=lambda option: None,
            environment=Environment(),
        )
        seconds = time.perf_counter() - start
    finally:
        os.chdir(previous)
    return Outcome(list(argv), Path(cwd), code, out.getvalue(), err.getvalue(), seconds, 0)


def _polled_peak(pid: int) -> int:
    """The VmHWM of a running process (0 when it cannot be read: gone, or not Linux)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _run_watched(
    command: List[str], cwd: Path, environ: Dict[str, str], out, err, timeout: float, stdin_open: bool
) -> Tuple[Optional[int], float, int]:
    """Exit code (None on timeout), seconds and the largest polled peak RSS of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=environ,
        stdin=subprocess.PIPE if stdin_open else subprocess.DEVNULL,
        stdout=out,
        stderr=err,
        start_new_session=True,  # so a timeout kills grandchildren too
    )
    killed, peak, pause = False, 0, 0.002
    while process.poll() is None:
        peak = max(peak, _polled_peak(process.pid))
        if time.perf_counter() - start > timeout and not killed:
            os.killpg(process.pid, signal.SIGKILL)
            killed = True
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    seconds = time.perf_counter() - start
    if process.stdin is not None:
        process.stdin.close()
    return (None if killed else process.returncode), seconds, peak


# ------------------------------------------------------------------ checking an outcome

FORMAT_CHECKS: Dict[str, Callable[[str], Optional[str]]] = {}


def _format_check(name: str):
    def register(check: Callable[[str], Optional[str]]):
        FORMAT_CHECKS[name] = check
        return check

    return register


@_format_check("json")
def json_problem(text: str) -> Optional[str]:
    try:
        json.loads(text)
    except ValueError as error:
        return f"JSON does not parse: {error}"
    return None


@_format_check("sarif")
def sarif_problem(text: str) -> Optional[str]:
    try:
        document = json.loads(text)
    except ValueError as error:
        return f"SARIF does not parse: {error}"
    if not isinstance(document, dict) or "runs" not in document:
        return "SARIF has no runs"
    return None


@_format_check("junit")
def junit_problem(text: str) -> Optional[str]:
    try:
        ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as error:
        return f"JUnit XML is not well-formed: {error}"
    return None


# Characters no report may carry through from an input: they recolour or
# clear the terminal (ESC, CSI), open links (OSC), ring (BEL), overwrite the
# line (CR) or reorder what is shown (bidi controls, U+202E).
_ALLOWED_CONTROLS = {"\n", "\t"}


def unsafe_characters(text: str) -> List[str]:
    """Control and format characters in ``text`` (other than newline and tab), as repr()s."""
    found = {
        repr(char)
        for char in text
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) in ("Cc", "Cf")
    }
    return sorted(found)


@_format_check("text")
def text_problem(text: str) -> Optional[str]:
    unsafe = unsafe_characters(text)
    return f"text report carries control characters {', '.join(unsafe)}" if unsafe else None


@_format_check("github")
def github_problem(text: str) -> Optional[str]:
    for line in re.split(r"\r\n|\r|\n", text.rstrip("\n")):  # where the runner splits lines
        if not re.match(r"::(group|endgroup|error|warning|notice)\b", line):
            return f"a line of the GitHub output is no workflow command: {line[:80]!r}"
    return None


def markdown_outside_code(text: str) -> str:
    """The markdown text with fenced blocks and inline code spans removed: what renders as markup."""
    outside: List[str] = []
    fence: Optional[str] = None
    for line in text.splitlines():
        marker = re.match(r"^\s*(`{3,}|~{3,})", line)
        if fence is None and marker:
            fence = marker.group(1)
            continue
        if fence is not None:
            if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
                fence = None
            continue
        outside.append(line)
    joined = "\n".join(outside)
    # A code span: a run of N backticks up to the next run of exactly N (CommonMark).
    return re.sub(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", " ", joined, flags=re.S)


MARKDOWN_HOSTILE = ("<script", "<img", "](http", "```", "<iframe")


# What must never come out of rendering a reply: live HTML or links a hostile name planted.
HTML_HOSTILE = ("<script", "<img", "<iframe", "<a href", "javascript:")


@_format_check("markdown")
def markdown_problem(text: str) -> Optional[str]:
    """Render with a real CommonMark renderer when one is installed (raw HTML on, as forums allow);
    else fall back to a textual approximation of code spans and fences."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        rendered = markdown_outside_code(text)
        for needle in MARKDOWN_HOSTILE:
            if needle in rendered:
                return f"markdown carries {needle!r} outside code spans"
        return None
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    for needle in HTML_HOSTILE:
        if needle in html:
            return f"markdown renders {needle!r}"
    return None


class _Elements(HTMLParser):
    """The elements of an HTML page with their attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: List[Tuple[str, Dict[str, Optional[str]]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


@_format_check("html")
def html_problem(text: str) -> Optional[str]:
    """A script, an event handler or a link out of the page a name planted, or a hidden character."""
    page = _Elements()
    page.feed(text)
    page.close()
    for tag, attrs in page.elements:
        if tag in ("script", "iframe", "img", "object", "embed"):
            return f"the HTML report has a <{tag}> element"
        handlers = [name for name in attrs if name.startswith("on")]
        if handlers:
            return f"the HTML report has an event handler {handlers[0]!r} on <{tag}>"
        if not (attrs.get("href") or "#").startswith("#"):
            return f"the HTML report links out of the page: {attrs['href'][:80]!r}"
    unsafe = unsafe_characters(text)
    return f"the HTML report carries control characters {', '.join(unsafe)}" if unsafe else None


def format_of(argv: Sequence[str]) -> str:
    argv = list(argv)
    for flag in ("--format", "-f"):
        if flag in argv and argv.index(flag) + 1 < len(argv):
            return argv[argv.index(flag) + 1]
    return "text"


def general_problems(outcome: Outcome, max_seconds: float, max_rss: int) -> List[str]:
    """What is wrong with any run, whatever the input: a hang, exit 3, a traceback, slowness, memory."""
    problems = []
    if outcome.timed_out:
        problems.append(f"did not finish within {max_seconds:.0f} s")
    elif outcome.exit_code not in (0, 1, 2):
        problems.append(f"exit code {outcome.exit_code}, expected 0, 1 or 2")
    both = outcome.stdout + outcome.stderr
    if "Traceback" in both or "internal error" in both:
        problems.append("a traceback or internal error in the output")
    if not outcome.timed_out and outcome.seconds > max_seconds:
        problems.append(f"took {outcome.seconds:.1f} s (bound {max_seconds:.0f} s)")
    if outcome.peak_rss > max_rss:
        problems.append(f"peak RSS {outcome.peak_rss / MIB:.0f} MiB (bound {max_rss / MIB:.0f} MiB)")
    if outcome.exit_code == 2 and len(outcome.stderr.strip().splitlines()) != 1:
        problems.append("exit 2 without a one-line error on stderr")
    if outcome.exit_code in (0, 1):
        check = FORMAT_CHECKS.get(format_of(outcome.argv))
        problem = check(outcome.stdout) if check else None
        if problem:
            problems.append(problem)
    return problems


def findings(outcome: Outcome) -> List[dict]:
    """The findings of a ``--format json`` run (empty when the output is no JSON report)."""
    try:
        document = json.loads(outcome.stdout)
    except ValueError:
        return []
    return [f for build in document.get("builds", []) for f in build.get("findings", [])]


def names_file(finding: dict, name: str) -> bool:
    location = finding.get("location") or {}
    return name in (location.get("file") or "") or name in finding.get("message", "")


# ------------------------------------------------------------------ crafted cases


@dataclass(frozen=True)
class Case:
    """One crafted hostile input and what a user should get from it.

    ``fixture`` (below tests/) is copied to ``<sandbox>/thread``; ``plant``
    then makes it hostile, given that folder and ``<sandbox>/elsewhere`` (a
    folder no run may read). ``argv`` runs in the thread folder. Expected:
    an exit code in ``exits``; with ``rules``, a JSON finding of one of them
    that names ``names``; with exit 2, a one-line error naming ``names``;
    ``forbid_secret``: :data:`SECRET` appears nowhere and no file of
    ``elsewhere`` is opened; ``check`` adds a case-specific problem.
    """

    name: str
    fixture: str
    plant: Callable[[Path, Path], None]
    argv: Tuple[str, ...]
    exits: Tuple[int, ...] = (1,)
    rules: Tuple[str, ...] = ()
    names: str = ""
    forbid_secret: bool = False
    stdin_open: bool = False
    check: Optional[Callable[[Outcome], Optional[str]]] = None

    @property
    def group(self) -> str:
        """The item of the issue (security, exit3, hang, slow, output, silent) or "new" beyond it."""
        return self.name.split("/", 1)[0]


def prepare(case: Case, sandbox: Path) -> Path:
    """Copy the fixture, plant the hostile input; return the folder to run in."""
    thread, elsewhere = sandbox / "thread", sandbox / "elsewhere"
    elsewhere.mkdir(parents=True, exist_ok=True)
    if case.fixture:
        shutil.copytree(TESTS / case.fixture, thread, symlinks=True)
    else:
        thread.mkdir(parents=True)
    case.plant(thread, elsewhere)
    return thread


def case_problems(case: Case, outcome: Outcome, max_seconds: float, max_rss: int) -> List[str]:
    """Everything that is wrong with ``outcome`` for ``case`` (empty: as a user should get)."""
    problems = general_problems(outcome, max_seconds, max_rss)
    if outcome.timed_out:
        return problems
    if outcome.exit_code not in case.exits:
        problems.append(f"exit code {outcome.exit_code}, expected one of {case.exits}")
    if outcome.exit_code == 2 and case.names and case.names not in outcome.stderr:
        problems.append(f"the error does not name {case.names}")
    if outcome.exit_code in (0, 1) and case.rules:
        found = findings(outcome)
        if not any(f["rule"] in case.rules and names_file(f, case.names) for f in found):
            seen = sorted({f"{f['rule']} {(f.get('location') or {}).get('file')}" for f in found})
            problems.append(f"no {'/'.join(case.rules)} finding names {case.names} (found: {seen[:8]})")
    if case.forbid_secret:
        if SECRET in outcome.stdout + outcome.stderr:
            problems.append(f"the report quotes {SECRET}, which only a file outside the inputs holds")
        if outcome.opened:
            problems.append("opened a file outside the inputs: " + ", ".join(outcome.opened[:3]))
    if case.check is not None:
        extra = case.check(outcome)
        if extra:
            problems.append(extra)
    return problems


def run_case(case: Case, sandbox: Path, timeout: float = 10.0, memory_limit: int = 1536 * MIB) -> Outcome:
    thread = prepare(case, sandbox)
    forbid = sandbox / "elsewhere" if case.forbid_secret else None
    return run_cli(case.argv, thread, timeout, memory_limit, forbid, case.stdin_open)


# -- small file helpers the plants share


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first ``old`` in ``path`` by ``new`` (it must be there)."""
    text = path.read_text(encoding="utf-8")
    if old not in text:
        raise ValueError(f"{old!r} is not in {path}")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def replace_with(path: Path, kind: str) -> None:
    """Put a directory, a FIFO or a character device where the file ``path`` was."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    if kind == "directory":
        path.mkdir()
        (path / "inside.txt").write_text("a folder where a file belongs\n")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        import stat

        os.mknod(path, 0o644 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero's numbers
    else:
        raise ValueError(kind)


def can_make_devices() -> bool:
    with tempfile.TemporaryDirectory() as folder:
        try:
            replace_with(Path(folder, "dev"), "device")
        except (OSError, AttributeError):
            return False
    return True


def inject_dts(path: Path, body: str) -> None:
    """Insert ``body`` into the root node of a flattened devicetree (before its last ``};``)."""
    text = path.read_text(encoding="utf-8").rstrip()
    cut = text.rfind("};")
    path.write_text(text[:cut] + body.rstrip("\n") + "\n" + text[cut:] + "\n", encoding="utf-8")


# -- generators of hostile content


def big_number(digits: int = INT_DIGITS) -> str:
    return "1" * digits


def partitions_text(count: int, overlapping: bool = False, step: int = 0x1000) -> str:
    """A partitions.yml of ``count`` partitions, one after the other or all at address 0.

    Only ``address`` and ``size`` (``region`` defaults to flash_primary): six
    YAML nodes a partition, so 30 000 stay under the 200 000-node limit.
    """
    return "".join(
        f"p{index:06d}:\n  address: {0 if overlapping else index * step:#x}\n  size: {step:#x}\n"
        for index in range(count)
    )


def yaml_node_flood(total_bytes: int) -> str:
    """One flow list of about ``total_bytes`` bytes: about half as many YAML nodes."""
    items = max(total_bytes // 2, 1)
    return "app:\n  address: 0x0\n  size: [" + "0," * (items - 1) + "0]\n"


def domains_text(count: int) -> str:
    lines = ["default: d0", "build_dir: /home/dev/app/build", "domains:"]
    for index in range(count):
        lines += [f"  - name: d{index}", f"    build_dir: /home/dev/app/build/d{index}"]
    lines += ["flash_order:"] + [f"  - d{index}" for index in range(count)]
    return "\n".join(lines) + "\n"


# Log lines pmdoctor recognises, as consoles and build tools print them.
RECOGNISED_LINES = (
    "E: Failed to open flash area ID 1 (image 0 slot 1): -2, cannot continue",
    "E: Failed to open flash area ID 1 (image 0 slot 1): -19, cannot continue",
    "<err> img_mgmt: Failed to open flash area ID 2: -19",
    "[00:00:41.512,030] <inf> mcumgr_img_mgmt: Image upload inspect failed: 5",
    "Image upload inspect failed: 9",
    "Mcu Mgr Error: 10 Group: 1",
    "ld.bfd: region `FLASH' overflowed by 7124 bytes",
    "E: Failed reading sectors; BOOT_MAX_IMG_SECTORS=128 - too small?",
    "E: Cannot upgrade: slots have non-compatible sectors",
    "E: Protect mcuboot flash failed, cancel startup.",
    "Partition manager failed: Incorrect amount of gaps found in static configuration.",
    "!!!Partition alignment error!!!",
    "undefined reference to `__device_dts_ord_112'",
    "E: Unable to find bootable image",
    "I: Jumping to the first image slot",
    "*** Booting nRF Connect SDK v2.6.1-3758bcaafd51 ***",
    "*** Booting Zephyr OS build v3.2.99-ncs2 ***",
    "-- Board: nrf52840dk/nrf52840",
    "Error: Image size (0x7a000) + trailer (0x1000) exceeds requested size 0x76000",
)


def log_text(lines: int) -> str:
    """``lines`` recognised log lines, cycling through :data:`RECOGNISED_LINES` (banners left out)."""
    usable = [line for line in RECOGNISED_LINES if "Booting" not in line and "Jumping" not in line]
    return "\n".join(usable[index % len(usable)] for index in range(lines)) + "\n"


# Names that try to break or forge a report when they are printed.
HOSTILE_NAMES = (
    "evil\x1b[31mESC\x00NUL\x0bVT\x0cFF",
    "x\nERROR   PMD001 unreadable-file forged-finding",
    "\x1b]8;;http://evil.example/\x07link\x1b]8;;\x07\x07",
    "over\rERROR   PMD001 forged-by-carriage-return",
    "gnp.\u202eexe",
    "<script>alert(1)</script>",
    "[click](http://evil.example/)",
    "```\n# forged heading",
    "<img src=x onerror=alert(1)>",
    "%0A::error title=pwned::forged",
    "a" * 1000,  # YAML keys stop at 1024 characters
)


def yaml_quoted(name: str) -> str:
    """``name`` as a YAML double-quoted scalar (control characters as escapes)."""
    out = []
    for char in name:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif ord(char) < 0x20 or ord(char) == 0x7F or unicodedata.category(char) in ("Cc", "Cf"):
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def hostile_partitions(names: Iterable[str]) -> str:
    """Partitions named ``names``, each overlapping ``mcuboot`` (at 0x0) so that findings name them."""
    return "".join(
        f"{yaml_quoted(name)}:\n  address: 0x0\n  end_address: 0x1000\n  region: flash_primary\n"
        f"  size: 0x1000\n"
        for name in names
    )


# -- the plants


def _app(thread: Path) -> Path:
    """The flattened devicetree of the application in the cli/healthy copy."""
    return thread / "build" / "smp_svr" / "zephyr" / "zephyr.dts"


def _dt_app(thread: Path) -> Path:
    """The flattened devicetree of the application in the foundation/devicetree_nrf52840 copy."""
    return thread / "hello" / "zephyr" / "zephyr.dts"


def _secret_app(elsewhere: Path) -> Path:
    """An application folder outside the inputs whose files would leak the secret if read."""
    app = elsewhere / "app"
    app.mkdir(parents=True, exist_ok=True)
    (app / "CMakeLists.txt").write_text("project(secret)\n")
    (app / "prj.conf").write_text(f'CONFIG_BT_DEVICE_NAME="{SECRET}"\nCONFIG_PARTITION_MANAGER_ENABLED=y\n')
    (app / "pm_static.yml").write_text(
        f"{SECRET}:\n  address: 0x0\n  size: 0x1000\n  region: flash_primary\n"
    )
    (app / "app.overlay").write_text(f"/ {{ chosen {{ zephyr,code-partition = &{SECRET}; }}; }};\n")
    return app


_SECRET_DTSI = (
    "&{/soc/flash-controller@4001e000/flash@0/partitions} {\n"
    f'\t{SECRET}: partition@1000 {{\n\t\tlabel = "{SECRET}";\n\t\treg = < 0x1000 0x1000 >;\n\t}};\n}};\n'
)


def plant_dts_include(relative: bool) -> Callable[[Path, Path], None]:
    def plant(thread: Path, elsewhere: Path) -> None:
        (elsewhere / "secret.dtsi").write_text(_SECRET_DTSI)
        target = os.path.relpath(elsewhere / "secret.dtsi", _dt_app(thread).parent) if relative else None
        append(_dt_app(thread), f'\n/include/ "{target or elsewhere / "secret.dtsi"}"\n')

    return plant


def plant_dts_incbin(thread: Path, elsewhere: Path) -> None:
    (elsewhere / "secret.bin").write_text(SECRET)
    inject_dts(_dt_app(thread), f'\tsecret-blob = /incbin/ ("{elsewhere / "secret.bin"}");\n')


def plant_domains_escape(thread: Path, elsewhere: Path) -> None:
    other = elsewhere / "other_build"
    shutil.copytree(thread / "build" / "smp_svr", other)
    (other / "zephyr" / ".config").write_text(f'CONFIG_BOARD="{SECRET}"\nCONFIG_SOC="{SECRET}"\n')
    (other / "CMakeCache.txt").write_text(f"BOARD:STRING={SECRET}\n")
    relative = os.path.relpath(other, thread / "build")
    edit(
        thread / "build" / "domains.yaml",
        "build_dir: /home/dev/ncs/apps/smp_svr/build/smp_svr",
        f"build_dir: {relative}",
    )


def plant_build_info_source(thread: Path, elsewhere: Path) -> None:
    app = _secret_app(elsewhere)
    (thread / "build" / "smp_svr" / "build_info.yml").write_text(
        f"cmake:\n  application:\n    source-dir: {app}\n  zephyr:\n    version: 3.6.99\n"
    )


def plant_build_info_not_an_app(thread: Path, elsewhere: Path) -> None:
    app = _secret_app(elsewhere)
    (app / "CMakeLists.txt").unlink()
    (thread / "build" / "smp_svr" / "build_info.yml").write_text(
        f"cmake:\n  application:\n    source-dir: {app}\n"
    )


def plant_cache_app_dir(thread: Path, elsewhere: Path) -> None:
    app = _secret_app(elsewhere)
    cache = thread / "build" / "CMakeCache.txt"
    append(cache, f"APP_DIR:PATH={app}\nAPPLICATION_SOURCE_DIR:PATH={app}\n")


# Files of the cli/healthy copy that a symbolic link may replace, and what the outside copy leaks.
LINKABLE = {
    "build/zephyr/.config": f'SB_CONFIG_BOARD="{SECRET}"\n',
    "build/smp_svr/zephyr/.config": f'CONFIG_BOARD="{SECRET}"\nCONFIG_SOC="{SECRET}"\n',
    "build/smp_svr/zephyr/zephyr.dts": f'/dts-v1/;\n/ {{ model = "{SECRET}"; compatible = "{SECRET}"; }};\n',
    "build/domains.yaml": f"default: {SECRET}\ndomains:\n  - name: {SECRET}\n",
    "build/CMakeCache.txt": f"BOARD:STRING={SECRET}\n",
    "build/regions.yml": f"flash_primary:\n  name: {SECRET}\n  base_address: 0\n  size: 0x100000\n",
    "pm_static.yml": f"{SECRET}:\n  address: 0x0\n  size: 0x1000\n",
    "prj.conf": f'CONFIG_BT_DEVICE_NAME="{SECRET}"\n',
    "app.overlay": f"/ {{ chosen {{ zephyr,code-partition = &{SECRET}; }}; }};\n",
    "build/smp_svr/build_info.yml": f"cmake:\n  zephyr:\n    version: {SECRET}\n",
}


def plant_link(relative: str) -> Callable[[Path, Path], None]:
    def plant(thread: Path, elsewhere: Path) -> None:
        outside = elsewhere / relative.replace("/", "_")
        outside.write_text(LINKABLE[relative])
        link = thread / relative
        if link.exists():
            link.unlink()
        link.symlink_to(outside)

    return plant


def plant_image_dir_link(thread: Path, elsewhere: Path) -> None:
    other = elsewhere / "mcuboot"
    shutil.copytree(thread / "build" / "mcuboot", other)
    (other / "zephyr" / ".config").write_text(f'CONFIG_BOARD="{SECRET}"\n')
    shutil.rmtree(thread / "build" / "mcuboot")
    (thread / "build" / "mcuboot").symlink_to(other, target_is_directory=True)


def plant_baseline(thread: Path, elsewhere: Path) -> None:
    """A --baseline build whose cache names a file outside it and a Zephyr tree of its own."""
    baseline = thread / "deployed"
    shutil.copytree(thread / "build", baseline)
    (elsewhere / "pm_static.yml").write_text(f"{SECRET}:\n  address: 0x0\n  size: 0x1000\n")
    trap = baseline / "zb" / "scripts" / "dts" / "python-devicetree" / "src" / "devicetree"
    trap.mkdir(parents=True)
    marker = elsewhere / "code-ran"
    for name in ("__init__.py", "dtlib.py"):
        (trap / name).write_text(f"open({str(marker)!r}, 'w').write('{SECRET}')\n")
    append(
        baseline / "CMakeCache.txt",
        f"PM_STATIC_YML_FILE:INTERNAL={elsewhere / 'pm_static.yml'}\nZEPHYR_BASE:PATH=zb\n",
    )


def plant_cwd_module(module: str) -> Callable[[Path, Path], None]:
    """A module in the attachment folder that Python would import before the installed one."""

    def plant(thread: Path, elsewhere: Path) -> None:
        marker = elsewhere / "code-ran"
        code = f"open({str(marker)!r}, 'w').write('{SECRET}')\n"
        if module == "devicetree":
            package = thread / "devicetree"
            package.mkdir()
            (package / "__init__.py").write_text(code)
            (package / "dtlib.py").write_text(code)
        else:
            (thread / f"{module}.py").write_text(code)

    return plant


def marker_absent(outcome: Outcome) -> Optional[str]:
    marker = outcome.cwd.parent / "elsewhere" / "code-ran"
    return f"code from the input ran (it wrote {marker})" if marker.exists() else None


def plant_huge_int_partitions(thread: Path, elsewhere: Path) -> None:
    edit(thread / "build" / "partitions.yml", "size: 0x78e00", f"size: {big_number()}")


def plant_huge_int_static(thread: Path, elsewhere: Path) -> None:
    (thread / "pm_static.yml").write_text(f"app:\n  address: {big_number()}\n  size: 0x1000\n")


def plant_huge_hex(thread: Path, elsewhere: Path) -> None:
    edit(thread / "build" / "partitions.yml", "size: 0x78e00", "size: 0x" + "f" * INT_DIGITS)


def plant_huge_origin(kind: str) -> Callable[[Path, Path], None]:
    def plant(thread: Path, elsewhere: Path) -> None:
        path = _dt_app(thread)
        if kind == "property":
            edit(path, "nrf52840_partition.dtsi:16 */", f"nrf52840_partition.dtsi:{big_number()} */")
        else:
            edit(path, "nrf52840_partition.dtsi:15 */", f"nrf52840_partition.dtsi:{big_number()} */")

    return plant


def plant_huge_banner(thread: Path, elsewhere: Path) -> None:
    (thread / "console.log").write_text(
        f"*** Booting nRF Connect SDK v{big_number()}.0.0 ***\n"
        "E: Failed to open flash area ID 1 (image 0 slot 1): -2, cannot continue\n"
    )


def plant_loop_link(thread: Path, elsewhere: Path) -> None:
    (thread / "build" / "partitions_CPUNET.yml").symlink_to("partitions_CPUNET.yml")
    (thread / "loop").symlink_to("loop")
    (thread / "ping").symlink_to("pong")
    (thread / "pong").symlink_to("ping")


def plant_fifo(relative: str) -> Callable[[Path, Path], None]:
    return lambda thread, elsewhere: replace_with(thread / relative, "fifo")


def names_pm_static(outcome: Outcome) -> Optional[str]:
    return None if "pm_static.yml" in outcome.stdout + outcome.stderr else "pm_static.yml is not named"


def plant_dts_line(line: str, extra: Optional[Callable[[Path], None]] = None) -> Callable[[Path, Path], None]:
    def plant(thread: Path, elsewhere: Path) -> None:
        path = _dt_app(thread)
        if extra is not None:
            extra(path.parent)
        append(path, "\n" + line + "\n")

    return plant


def _include_loop(folder: Path) -> None:
    (folder / "loop.dtsi").write_text('/include/ "loop.dtsi"\n')


def _fifo_beside(folder: Path) -> None:
    os.mkfifo(folder / "pipe.dtsi")


def plant_dts_body(make: Callable[[], str]) -> Callable[[Path, Path], None]:
    return lambda thread, elsewhere: inject_dts(_dt_app(thread), make())


def colon_comment() -> str:
    return "\t/*\n" + "a:" * 50_000 + "\n\t*/\n"


def origin_repeated() -> str:
    return "\tx-prop = < 0x1 >; " + "/* in " * 17_000 + "*/\n"


def one_line_nodes() -> str:
    return "".join(f"\tn{index} {{ }};\n" for index in range(20_000))


def long_string() -> str:
    return '\tlong-model = "' + "a" * (10 * MIB) + '";\n'


def unterminated_comments() -> str:
    return "/ {\n\tchosen {\n\t\tzephyr,code-partition = &slot0_partition;\n\t};\n};\n" + "/* " * 100_000


def plant_overlay(thread: Path, elsewhere: Path) -> None:
    (thread / "app.overlay").write_text(unterminated_comments())


def plant_partitions(count: int, overlapping: bool) -> Callable[[Path, Path], None]:
    def plant(thread: Path, elsewhere: Path) -> None:
        (thread / "build" / "partitions.yml").write_text(partitions_text(count, overlapping))

    return plant


def plant_node_flood(thread: Path, elsewhere: Path) -> None:
    (thread / "build" / "partitions.yml").write_text(yaml_node_flood(20 * MIB))


def plant_domains(thread: Path, elsewhere: Path) -> None:
    (thread / "build" / "domains.yaml").write_text(domains_text(10_000))


def plant_log(thread: Path, elsewhere: Path) -> None:
    (thread / "big.log").write_text(log_text(400_000))


def plant_names(names: Sequence[str]) -> Callable[[Path, Path], None]:
    def plant(thread: Path, elsewhere: Path) -> None:
        append(thread / "build" / "partitions.yml", hostile_partitions(names))

    return plant


_INJECTED_BUILD = "b\n::error title=pwned::forged annotation\n%0A"


def plant_injected_build_dir(thread: Path, elsewhere: Path) -> None:
    (thread / "build").rename(thread / _INJECTED_BUILD)


def no_forged_line(outcome: Outcome) -> Optional[str]:
    """The hostile names reached the report, and none of them started a line of its own."""
    if "forged" not in outcome.stdout:
        return "the hostile names do not reach the report: this case checks nothing"
    for line in re.split(r"[\r\n]", outcome.stdout):
        # A forged line starts as a finding's head and goes on with the planted words; a real head
        # may quote a name further on (the map says which partitions a finding is on).
        if re.match(r"\s*(ERROR|WARNING|NOTE)\s+PMD\d{3}\s+(unreadable-file\s+)?forged", line):
            return f"an input name forged a report line: {line[:100]!r}"
        if line.startswith("::error title=pwned"):
            return f"an input name forged a workflow command: {line[:100]!r}"
    return None


def plant_special(relative: str, kind: str) -> Callable[[Path, Path], None]:
    return lambda thread, elsewhere: replace_with(thread / relative, kind)


_DUPLICATE_APP = "app:\n  address: 0x0\n  end_address: 0x1000\n  region: flash_primary\n  size: 0x1000\n"


def plant_duplicate_key(relative: str) -> Callable[[Path, Path], None]:
    def plant(thread: Path, elsewhere: Path) -> None:
        append(thread / relative, _DUPLICATE_APP)

    return plant


def plant_duplicate_nested(thread: Path, elsewhere: Path) -> None:
    edit(thread / "build" / "partitions.yml", "  size: 0x78e00\n", "  size: 0x78e00\n  size: 0x1000\n")


def duplicate_named(outcome: Outcome) -> Optional[str]:
    """A PMD002 warning that names both lines of the duplicated key."""
    for finding in findings(outcome):
        if finding["rule"] != "PMD002":
            continue
        line = str((finding.get("location") or {}).get("line"))
        numbers = {*re.findall(r"\d+", finding["message"]), line}
        if "duplicate" in finding["message"].lower() and len(numbers) >= 2:
            return None
    return "no PMD002 finding says the key is duplicated and names both of its lines"


JSON = ("--format", "json")
CHECK = ("-d", "build", *JSON)  # the cli/healthy copy: the build is below the application
DT_CHECK = ("-d", ".", *JSON)  # the foundation/devicetree_nrf52840 copy is the build
HEALTHY, DEVICETREE = "builds/cli/healthy", "builds/foundation/devicetree_nrf52840"
SPECIAL_FILES = (
    "build/smp_svr/zephyr/zephyr.dts",
    "build/smp_svr/zephyr/.config",
    "build/domains.yaml",
    "pm_static.yml",
)


def _security_cases() -> Iterable[Case]:
    """Other routes than ZEPHYR_BASE / PM_STATIC_YML_FILE (tests/test_security.py) to a file or code."""
    secret = {"exits": (0, 1), "forbid_secret": True}
    dts_leak = {"rules": ("PMD001",), "names": "zephyr.dts", "forbid_secret": True}
    yield Case("security/dts-include-absolute", DEVICETREE, plant_dts_include(False), DT_CHECK, **dts_leak)
    yield Case("security/dts-include-relative", DEVICETREE, plant_dts_include(True), DT_CHECK, **dts_leak)
    yield Case("security/dts-incbin", DEVICETREE, plant_dts_incbin, DT_CHECK, **dts_leak)
    yield Case("security/domains-build-dir-relative", HEALTHY, plant_domains_escape, CHECK, **secret)
    yield Case("security/build-info-source-dir-check", HEALTHY, plant_build_info_not_an_app, CHECK, **secret)
    yield Case(
        "security/build-info-source-dir-triage",
        HEALTHY,
        plant_build_info_source,
        ("triage", "build", *JSON),
        **secret,
    )
    yield Case(
        "security/cache-app-dir-triage", HEALTHY, plant_cache_app_dir, ("triage", "build", *JSON), **secret
    )
    for relative in LINKABLE:
        name = relative.replace("/", "_")
        yield Case(f"security/link-{name}-check", HEALTHY, plant_link(relative), CHECK, **secret)
        yield Case(
            f"security/link-{name}-triage", HEALTHY, plant_link(relative), ("triage", ".", *JSON), **secret
        )
    yield Case("security/image-dir-link", HEALTHY, plant_image_dir_link, CHECK, **secret)
    yield Case(
        "security/baseline-build",
        HEALTHY,
        plant_baseline,
        (*CHECK, "--baseline", "deployed"),
        exits=(0, 1, 2),
        forbid_secret=True,
        check=marker_absent,
    )


def _exit3_cases() -> Iterable[Case]:
    """Inputs that made pmdoctor stop with exit 3 (internal error) instead of a finding."""
    either = {"exits": (0, 1)}
    yield Case(
        "exit3/yaml-int-digits-partitions",
        HEALTHY,
        plant_huge_int_partitions,
        CHECK,
        rules=("PMD001", "PMD002"),
        names="partitions.yml",
    )
    yield Case(
        "exit3/yaml-int-digits-triage",
        HEALTHY,
        plant_huge_int_static,
        ("triage", "pm_static.yml", *JSON),
        **either,
    )
    yield Case("exit3/yaml-huge-hex-json", HEALTHY, plant_huge_hex, CHECK, **either)
    yield Case("exit3/yaml-huge-hex-text", HEALTHY, plant_huge_hex, ("-d", "build"), **either)
    for kind in ("property", "node"):
        yield Case(f"exit3/dts-origin-digits-{kind}", DEVICETREE, plant_huge_origin(kind), DT_CHECK, **either)
    yield Case(
        "exit3/banner-version-digits-triage",
        HEALTHY,
        plant_huge_banner,
        ("triage", "console.log", *JSON),
        **either,
    )
    log = (*CHECK, "--log", "console.log")
    yield Case("exit3/banner-version-digits-log", HEALTHY, plant_huge_banner, log, **either)
    for fmt in ("json", "sarif", "markdown", "junit"):
        yield Case(
            f"exit3/symlink-loop-triage-{fmt}", HEALTHY, plant_loop_link, ("triage", ".", "--format", fmt)
        )


def _hang_cases() -> Iterable[Case]:
    """Inputs that made pmdoctor wait forever (or grow without bound)."""
    dts = {"rules": ("PMD001",), "names": "zephyr.dts"}
    yield Case(
        "hang/fifo-partitions-check",
        HEALTHY,
        plant_fifo("build/partitions.yml"),
        CHECK,
        rules=("PMD001",),
        names="partitions.yml",
    )
    yield Case(
        "hang/fifo-partitions-triage",
        HEALTHY,
        plant_fifo("build/partitions.yml"),
        ("triage", "build", *JSON),
        rules=("PMD001",),
        names="partitions.yml",
    )
    yield Case(
        "hang/fifo-given-to-triage",
        "",
        plant_fifo("pm_static.yml"),
        ("triage", "pm_static.yml", *JSON),
        exits=(0, 1, 2),
        names="pm_static.yml",
        check=names_pm_static,
    )
    yield Case(
        "hang/dts-include-loop",
        DEVICETREE,
        plant_dts_line('/include/ "loop.dtsi"', _include_loop),
        DT_CHECK,
        **dts,
    )
    for what, line, beside in (
        ("include-dev-zero", '/include/ "/dev/zero"', None),
        ("incbin-dev-zero", '/ { blob = /incbin/ ("/dev/zero"); };', None),
        ("include-fifo", '/include/ "pipe.dtsi"', _fifo_beside),
        ("incbin-fifo", '/ { blob = /incbin/ ("pipe.dtsi"); };', _fifo_beside),
    ):
        yield Case(f"hang/dts-{what}", DEVICETREE, plant_dts_line(line, beside), DT_CHECK, **dts)
    # Beyond the issue: dtlib reads "-" as standard input (a terminal: waits for the user).
    for what, line in (("include", '/include/ "-"'), ("incbin", '/ { blob = /incbin/ ("-"); };')):
        yield Case(
            f"new/dts-{what}-stdin", DEVICETREE, plant_dts_line(line), DT_CHECK, stdin_open=True, **dts
        )


def _slow_cases() -> Iterable[Case]:
    """Inputs under the 32 MB file limit whose time or memory grows faster than their size."""
    either = {"exits": (0, 1)}
    for what, make in (
        ("colon-comment", colon_comment),
        ("origin-repeated", origin_repeated),
        ("one-line-nodes", one_line_nodes),
        ("10MB-string", long_string),
    ):
        yield Case(f"slow/dts-{what}", DEVICETREE, plant_dts_body(make), DT_CHECK, **either)
    yield Case("slow/overlay-unterminated-comment-check", HEALTHY, plant_overlay, CHECK, **either)
    yield Case(
        "slow/overlay-unterminated-comment-triage",
        HEALTHY,
        plant_overlay,
        ("triage", "app.overlay", *JSON),
        **either,
    )
    yield Case("slow/30k-partitions-disjoint", HEALTHY, plant_partitions(30_000, False), CHECK, **either)
    yield Case("slow/30k-partitions-overlapping", HEALTHY, plant_partitions(30_000, True), CHECK, **either)
    yield Case(
        "slow/yaml-node-flood", HEALTHY, plant_node_flood, CHECK, rules=("PMD001",), names="partitions.yml"
    )
    yield Case("slow/10k-domains", HEALTHY, plant_domains, CHECK, **either)
    yield Case("slow/400k-log-lines", HEALTHY, plant_log, (*CHECK, "--log", "big.log"), **either)
    yield Case("slow/400k-log-lines-triage", HEALTHY, plant_log, ("triage", "big.log", *JSON), **either)


def _output_cases() -> Iterable[Case]:
    """Names from the input that break a report format or forge a line of it."""
    for fmt in ("text", "junit", "markdown", "github", "json", "sarif", "html"):
        yield Case(
            f"output/hostile-names-{fmt}",
            HEALTHY,
            plant_names(HOSTILE_NAMES),
            ("-d", "build", "--format", fmt, "--color", "never"),
            check=no_forged_line,
        )
    yield Case(  # the map draws every partition's name in its own row
        "output/hostile-names-map",
        HEALTHY,
        plant_names(HOSTILE_NAMES),
        ("map", "-d", "build", "--width", "100", "--color", "never"),
        check=no_forged_line,
    )
    for fmt in ("github", "text", "markdown", "junit"):
        yield Case(
            f"output/hostile-build-dir-{fmt}",
            HEALTHY,
            plant_injected_build_dir,
            ("-d", _INJECTED_BUILD, "--format", fmt, "--color", "never"),
            exits=(0, 1),
            check=no_forged_line,
        )


def _silent_cases() -> Iterable[Case]:
    """Inputs pmdoctor passed over without a word."""
    for relative in SPECIAL_FILES:
        name = Path(relative).name
        for kind in ("directory", "fifo", "device"):
            yield Case(
                f"silent/{kind}-as-{name}",
                HEALTHY,
                plant_special(relative, kind),
                CHECK,
                rules=("PMD001",),
                names=name,
            )
    for relative in ("build/partitions.yml", "pm_static.yml"):
        yield Case(
            f"silent/duplicate-key-{Path(relative).name}",
            HEALTHY,
            plant_duplicate_key(relative),
            CHECK,
            exits=(0, 1),
            check=duplicate_named,
        )
    yield Case(
        "silent/duplicate-nested-key",
        HEALTHY,
        plant_duplicate_nested,
        CHECK,
        exits=(0, 1),
        check=duplicate_named,
    )


LONG_PATH = "/home/dev/" + "a" * INT_DIGITS  # longer than any file name the system takes (ENAMETOOLONG)


def plant_long_path(where: str) -> Callable[[Path, Path], None]:
    """A path too long for the system where the build names a file or folder."""

    def plant(thread: Path, elsewhere: Path) -> None:
        build = thread / "build"
        if where == "domains.yaml":
            edit(
                build / "domains.yaml",
                "build_dir: /home/dev/ncs/apps/smp_svr/build/smp_svr",
                f"build_dir: {LONG_PATH}",
            )
        else:
            append(build / "CMakeCache.txt", f"{where}={LONG_PATH}\n")

    return plant


def plant_image_count(count: str) -> Callable[[Path, Path], None]:
    """MCUboot updating ``count`` images: a Kconfig number that a rule counts up to and prints.

    Hexadecimal has no digit limit in int(), but printing the number in decimal does.
    """

    def plant(thread: Path, elsewhere: Path) -> None:
        config = thread / "build" / "mcuboot" / "zephyr" / ".config"
        append(config, f"CONFIG_UPDATEABLE_IMAGE_NUMBER={count}\n")

    return plant


def plant_unsalvageable_paste(thread: Path, elsewhere: Path) -> None:
    """A pasted static file with a control character near its top (a YAML error without a line)
    and 4000 entries: triage's salvage re-parses every prefix that ends before a top-level key."""
    (thread / "pm_static.yml").write_text("app:\n  address: 0x0 # \x1b\n" + partitions_text(4000))


def _new_cases() -> Iterable[Case]:
    """Classes found beyond the issue's list (see also new/dts-*-stdin among the hangs)."""
    either = {"exits": (0, 1)}
    yield Case(
        "new/kconfig-updateable-images-2**32", HEALTHY, plant_image_count("0x100000000"), CHECK, **either
    )
    yield Case(
        "new/kconfig-updateable-images-huge-hex",
        HEALTHY,
        plant_image_count("0x" + "f" * INT_DIGITS),
        CHECK,
        **either,
    )
    yield Case(
        "new/triage-salvage-quadratic",
        "",
        plant_unsalvageable_paste,
        ("triage", "pm_static.yml", *JSON),
        **either,
    )
    for where in ("domains.yaml", "PM_STATIC_YML_FILE:INTERNAL", "ZEPHYR_BASE:PATH"):
        name = where.split(":")[0].lower().replace("_", "-")
        yield Case(f"new/long-path-{name}-check", HEALTHY, plant_long_path(where), CHECK, **either)
    yield Case(
        "new/long-path-pm-static-yml-file-triage",
        HEALTHY,
        plant_long_path("PM_STATIC_YML_FILE:INTERNAL"),
        ("triage", "build", *JSON),
        **either,
    )


def _cases() -> List[Case]:
    groups = (
        _security_cases,
        _exit3_cases,
        _hang_cases,
        _slow_cases,
        _output_cases,
        _silent_cases,
        _new_cases,
    )
    return [case for group in groups for case in group()]


CASES: List[Case] = _cases()

# ------------------------------------------------------------------ valid layouts


BLOCK = 0x1000  # the erase block of nRF52840 internal flash


def packed_layout(
    blocks: Sequence[int],
    gap_after: Optional[int] = None,
    gap_blocks: int = 0,
    containers: Sequence[Tuple[int, int]] = (),
    block: int = BLOCK,
) -> Tuple[Dict[str, dict], int]:
    """A valid static layout and the size of its region.

    Partition ``i`` is ``blocks[i]`` erase blocks long; partitions follow each
    other from address 0, with one free gap of ``gap_blocks`` after partition
    ``gap_after`` (the region then ends with the last partition, so the region
    has exactly one gap) or none (the region is what they fill plus
    ``gap_blocks``). ``containers`` are ``(first, count)`` runs of partitions
    that a ``span`` partition covers (they must not straddle the gap).
    """
    layout: Dict[str, dict] = {}
    address = 0
    starts = []
    for index, count in enumerate(blocks):
        size = count * block
        starts.append(address)
        layout[f"part_{index}"] = {
            "address": address,
            "end_address": address + size,
            "region": "flash_primary",
            "size": size,
        }
        address += size
        if gap_after == index:
            address += gap_blocks * block
    end = address if gap_after is not None else address + gap_blocks * block
    for number, (first, count) in enumerate(containers):
        members = [f"part_{index}" for index in range(first, first + count)]
        start = layout[members[0]]["address"]
        stop = layout[members[-1]]["end_address"]
        layout[f"span_{number}"] = {
            "address": start,
            "end_address": stop,
            "region": "flash_primary",
            "size": stop - start,
            "span": members,
        }
    return layout, end


def containers_fit(containers: Sequence[Tuple[int, int]], parts: int, gap_after: Optional[int]) -> bool:
    """Runs within the partitions, not straddling the gap, not overlapping each other."""
    used: set = set()
    for first, count in containers:
        members = set(range(first, first + count))
        if count < 1 or first + count > parts or members & used:
            return False
        if gap_after is not None and first <= gap_after < first + count - 1:
            return False
        used |= members
    return True


def layout_yaml(layout: Dict[str, dict]) -> str:
    """A layout written as Partition Manager does (hex numbers, one key per line)."""
    lines = []
    for name, entry in layout.items():
        lines.append(f"{name}:")
        for key in sorted(entry):
            value = entry[key]
            if isinstance(value, list):
                lines.append(f"  {key}:")
                lines += [f"  - {item}" for item in value]
            elif isinstance(value, int):
                lines.append(f"  {key}: {value:#x}")
            else:
                lines.append(f"  {key}: {value}")
    return "\n".join(lines) + "\n"


def regions_yaml(size: int) -> str:
    return (
        "flash_primary:\n  base_address: 0x0\n  device: flash_controller\n  dynamic_partition: app\n"
        f"  name: flash_primary\n  placement_strategy: complex\n  size: {size:#x}\n"
    )


def random_valid_layout(rng: random.Random) -> Tuple[Dict[str, dict], int]:
    parts = rng.randint(1, 12)
    blocks = [rng.randint(1, 16) for _ in range(parts)]
    gap_after = rng.choice([None, rng.randrange(parts)])
    containers = [(0, min(parts, rng.randint(1, 3)))] if rng.random() < 0.4 else []
    if not containers_fit(containers, parts, gap_after):
        containers = []
    return packed_layout(blocks, gap_after, rng.randint(0, 8), containers)


# ------------------------------------------------------------------ logs

_JUNK_WORDS = (
    "flash",
    "area",
    "ID",
    "slot",
    "-19",
    "0x1000",
    "error",
    "<err>",
    "***",
    "Booting",
    "v2.6.0",
    "Mcu",
    "Mgr",
    "Group:",
    ":",
    "image",
    "failed",
    "\x1b[1;31m",
    "\t",
    "nRF Connect SDK",
)


def junk_line(rng: random.Random) -> str:
    words = [rng.choice(_JUNK_WORDS) for _ in range(rng.randint(0, 12))]
    if rng.random() < 0.2:
        words.append(str(rng.choice([0, -1, 2**31, 10**30, -(10**12)])))
    return " ".join(words)


def decorate(line: str, rng: random.Random) -> str:
    """A log line as a terminal or a forum paste shows it: timestamps, levels, colours, CRs."""
    prefix = rng.choice(["", "[00:00:41.512,030] ", "I: ", "E: ", "> `", "12:00:00.123 ", "\x1b[1;31m"])
    suffix = rng.choice(["", "\r", "\x1b[0m", "`", " ***"])
    return prefix + line + suffix


def random_log(rng: random.Random, lines: int = 40) -> str:
    out = []
    for _ in range(lines):
        line = rng.choice(RECOGNISED_LINES) if rng.random() < 0.5 else junk_line(rng)
        out.append(decorate(line, rng))
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ mutations

MAX_MUTATED = 4 * MIB


def _flip(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if buffer:
            buffer[rng.randrange(len(buffer))] ^= 1 << rng.randrange(8)
    return bytes(buffer)


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randint(0, len(data))]


def _duplicate(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    piece = data[start : start + rng.randint(1, 400)]
    at = rng.randint(0, len(data))
    return data[:at] + piece * rng.choice([1, 2, 10, 1000]) + data[at:]


def _delete(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    return data[:start] + data[start + rng.randint(1, 200) :]


_NUMBER = re.compile(rb"\b(?:0x[0-9a-fA-F]+|\d+)\b")


def _huge_number(data: bytes, rng: random.Random) -> bytes:
    numbers = list(_NUMBER.finditer(data))
    replacement = rng.choice(
        [
            b"1" * INT_DIGITS,
            b"0x" + b"f" * INT_DIGITS,
            b"-1",
            b"-0x1000",
            b"0x100000000",
            b"99999999999999999999",
        ]
    )
    if not numbers:
        return data + replacement
    match = rng.choice(numbers)
    return data[: match.start()] + replacement + data[match.end() :]


def _deep_nesting(data: bytes, rng: random.Random) -> bytes:
    depth = rng.choice([100, 1000, 20_000])
    piece = rng.choice(
        [
            b"[" * depth + b"]" * depth,
            b"{" * depth + b"}" * depth,
            b"n { " * depth + b"};" * depth,
            b"- " * depth + b"x",
            b"a:\n" + b"".join(b" " * i + b"a:\n" for i in range(1, min(depth, 3000))),
        ]
    )
    at = rng.randint(0, len(data))
    return data[:at] + piece + data[at:]


_CONTROLS = [bytes([c]) for c in range(0x20) if c not in (0x0A,)] + [
    b"\x7f",
    b"\x1b[2J",
    b"\x1b]8;;http://evil.example/\x07",
    "\u202e".encode(),
    b"\xc2\x9b",
    b"\xef\xbb\xbf",
]


def _control_chars(data: bytes, rng: random.Random) -> bytes:
    buffer = data
    for _ in range(rng.randint(1, 5)):
        at = rng.randint(0, len(buffer))
        buffer = buffer[:at] + rng.choice(_CONTROLS) + buffer[at:]
    return buffer


_IDENTIFIER = re.compile(rb"^([A-Za-z_][\w]*)(:|\s*\{| =)", re.M)


def _hostile_name(data: bytes, rng: random.Random) -> bytes:
    names = list(_IDENTIFIER.finditer(data))
    name = yaml_quoted(rng.choice(HOSTILE_NAMES)).encode("utf-8")
    if not names:
        return data + b"\n" + name + b":\n  address: 0x0\n  size: 0x1000\n"
    match = rng.choice(names)
    return data[: match.start(1)] + name + data[match.end(1) :]


_STRUCTURES = (
    b"app:\n  address: 0x0\n  size: 0x1000\n",  # a duplicate key in most layouts
    b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n",
    b"<<: {address: 0}\n",
    b"x: !!python/object/apply:os.system ['echo pwned']\n",
    b"---\nsecond: document\n",
    b'/include/ "zephyr.dts"\n',
    b'/include/ "/dev/zero"\n',
    b"/* never closed\n",
    b"n0 { }; n1 { }; n2 { };\n",
    b"CONFIG_FLASH_SIZE=0xffffffffffffffffffffffffffffff\n",
    b"CONFIG_PARTITION_MANAGER_ENABLED=\n",
    b"# CONFIG_BOOTLOADER_MCUBOOT is not set\nCONFIG_BOOTLOADER_MCUBOOT=y\n",
    b"PM_STATIC_YML_FILE:INTERNAL=/etc/passwd\nZEPHYR_BASE:PATH=zb\n",
    b"  - name: ../../../../etc\n    build_dir: /etc\n",
)


def _structure(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    at = rng.randint(0, len(lines))
    piece = rng.choice(_STRUCTURES + tuple(line.encode() + b"\n" for line in RECOGNISED_LINES))
    return b"\n".join(lines[:at]) + b"\n" + piece + b"\n".join(lines[at:])


def _shuffle_lines(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    start = rng.randrange(len(lines))
    window = lines[start : start + rng.randint(2, 20)]
    rng.shuffle(window)
    return b"\n".join(lines[:start] + window + lines[start + len(window) :])


MUTATORS: Dict[str, Callable[[bytes, random.Random], bytes]] = {
    "flip": _flip,
    "truncate": _truncate,
    "duplicate": _duplicate,
    "delete": _delete,
    "huge-number": _huge_number,
    "deep-nesting": _deep_nesting,
    "control-chars": _control_chars,
    "hostile-name": _hostile_name,
    "structure": _structure,
    "shuffle-lines": _shuffle_lines,
}


def mutate(data: bytes, rng: random.Random, names: Optional[Sequence[str]] = None) -> Tuple[bytes, List[str]]:
    """``data`` after the mutations ``names`` (default: 1-3 random ones), cut to :data:`MAX_MUTATED` bytes."""
    if names is None:
        names = [rng.choice(sorted(MUTATORS)) for _ in range(rng.randint(1, 3))]
    for name in names:
        data = MUTATORS[name](data, rng)[:MAX_MUTATED]
    return data, list(names)


# ------------------------------------------------------------------ what to mutate


@dataclass(frozen=True)
class Target:
    """A folder to copy, the file in it to mutate, and how to run pmdoctor on the copy."""

    root: Path
    file: str  # relative to root
    argv: Tuple[str, ...]

    @property
    def single_file(self) -> bool:
        """Whether pmdoctor runs on the file alone (``triage FILE``), not on a copy of its folder."""
        return self.argv[0] == "triage" and self.argv[1] != "."

    @property
    def label(self) -> str:
        try:
            where = self.root.relative_to(ROOT.parent).as_posix()
        except ValueError:
            where = str(self.root)
        return f"{where}/{self.file}"


_TEXT_NAMES = re.compile(r"(\.ya?ml|\.dts|\.dtsi|\.overlay|\.conf|\.config|\.txt|\.log|\.tsv)$|^\.config$")


def _build_dir_of(root: Path) -> Optional[str]:
    """The build directory below ``root``, relative (``.`` or ``build``), when it is a build."""
    if (root / "CMakeCache.txt").is_file():
        return "."
    if (root / "build" / "CMakeCache.txt").is_file():
        return "build"
    return None


def _files_of(root: Path) -> List[str]:
    files = []
    for path in sorted(root.rglob("*")):
        wanted = path.is_file() and not path.is_symlink() and _TEXT_NAMES.search(path.name)
        if wanted and path.stat().st_size <= 2 * MIB:
            files.append(path.relative_to(root).as_posix())
    return files


def targets(corpus: Optional[Path] = CORPUS) -> List[Target]:
    """Every file of the fixtures (and of the corpus, when present) as something to mutate."""
    roots: List[Path] = []
    for group in sorted(BUILDS.iterdir()):
        if group.is_dir():
            roots += [p for p in sorted(group.iterdir()) if p.is_dir() and _build_dir_of(p)]
    roots += [p for p in sorted(TRIAGE.iterdir()) if p.is_dir()]
    if corpus is not None and (corpus / "builds").is_dir():
        roots += [p for p in sorted((corpus / "builds").iterdir()) if p.is_dir()]
    found: List[Target] = []
    for root in roots:
        build = _build_dir_of(root)
        for file in _files_of(root):
            found.append(Target(root, file, ("-d", build) if build else ("triage", ".")))
            if build:
                found.append(Target(root, file, ("triage", ".")))
    if corpus is not None and (corpus / "pm_static").is_dir():
        for path in sorted((corpus / "pm_static").glob("*.yml")):
            found.append(Target(path.parent, path.name, ("triage", path.name)))
    return found


def materialise(target: Optional[Target], files: Dict[str, bytes], folder: Path) -> Path:
    """``folder`` with a copy of the target's folder (unless it runs on one file) and ``files`` written in."""
    if target is not None and not target.single_file:
        shutil.copytree(target.root, folder, symlinks=True)
    else:
        folder.mkdir(parents=True)
    for name, data in files.items():
        destination = folder / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(data)
    return folder


FORMATS = ("text", "json", "sarif", "junit", "github", "markdown", "html")
