#!/usr/bin/env python3
"""How fast pmdoctor is, each figure as a ratio to an anchor measured in the same run.

    python scripts/benchmark.py [--build DIR] [--corpus DIR] [--repeat N]

Machines differ and shared ones are noisy, so no figure stands alone: each
command is timed in fresh processes, alternating with its anchor, and the
ratio of their medians is what compares across machines.

- standalone: ``python -m pmdoctor -d BUILD`` on a multi-image sysbuild build
  vs ``python -c "import yaml"`` (goal: at most 2x);
- west: ``west pmdoctor -d BUILD`` vs ``west --version``, both in a temporary
  workspace made with ``west init -l`` from a copy of this checkout (no
  network; goal: at most 1.3x);
- peak RSS of the standalone check (and of its anchor);
- in-process: median ms per build of ``pmdoctor.api.analyze`` over the corpus;
- batch: the figures of ``scripts/benchmark_batch.py`` when it is there;
- breakdown: where the standalone run's time goes: the interpreter, the
  anchor's ``import yaml``, the other library modules a check loads, and
  pmdoctor's own share cold (dataclass creation and regex compilation named)
  and warm (the same check again in the same process).

BUILD defaults to the corpus build with the most images (``../shared/corpus``
beside the checkout), else the four-image nRF5340 fixture, so it runs from a
fresh clone. It prints figures only; it judges nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
FIXTURE_BUILD = ROOT / "tests" / "builds" / "dt" / "pm_sysbuild_nrf5340"

# The goals of each ratio (printed beside it; nothing fails on them).
GOAL_STANDALONE = 2.0
GOAL_WEST = 1.3

WEST_MANIFEST = """\
manifest:
  version: "1.0"
  self:
    west-commands: west-commands.yml
  projects: []
"""


# ------------------------------------------------------------------ running


@dataclass
class Runs:
    """Wall seconds, CPU seconds (user + system) and peak resident set size (bytes) of each run."""

    seconds: List[float]
    cpu: List[float]
    rss: List[int]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def median_cpu_ms(self) -> float:
        return statistics.median(self.cpu) * 1000 if self.cpu else 0.0

    @property
    def peak_rss(self) -> int:
        return max(self.rss) if self.rss else 0


def run_once(argv: Sequence[str], cwd: Path, env: Dict[str, str]) -> Tuple[float, Optional[float], int]:
    """Wall time, CPU time and peak RSS of one process (its own rusage, not the benchmark's)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        list(argv), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    rss, cpu = 0, None
    if hasattr(os, "wait4"):
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        # Linux reports KiB, macOS bytes.
        rss = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
        cpu = usage.ru_utime + usage.ru_stime
    else:  # pragma: no cover - Windows: no rusage of a child
        process.wait()
        elapsed = time.perf_counter() - start
    errors = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode not in (0, 1):  # 1: findings, which is an answer
        raise SystemExit(f"benchmark: {' '.join(argv)} ended with {process.returncode}:\n{errors[-2000:]}")
    return elapsed, cpu, rss


def compare(
    subject: Sequence[str], anchor: Sequence[str], repeat: int, cwd: Path, env: Dict[str, str]
) -> Tuple[Runs, Runs]:
    """Time both commands ``repeat`` times, alternating (after one unmeasured run of each)."""
    runs = (Runs([], [], []), Runs([], [], []))
    run_once(subject, cwd, env)
    run_once(anchor, cwd, env)
    for _ in range(repeat):
        for command, into in ((anchor, runs[1]), (subject, runs[0])):
            seconds, cpu, rss = run_once(command, cwd, env)
            into.seconds.append(seconds)
            if cpu is not None:
                into.cpu.append(cpu)
            into.rss.append(rss)
    return runs


def ratio_line(name: str, subject: Runs, anchor: Runs, anchor_name: str, goal: float) -> str:
    """Wall time ratio, and CPU time ratio (steadier on a busy machine) when the OS gives it."""
    ratio = subject.median_ms / anchor.median_ms
    line = (
        f"{name}: {ratio:.2f}x {anchor_name} ({subject.median_ms:.0f} vs {anchor.median_ms:.0f} ms wall, "
        f"median of {len(subject.seconds)}; goal <= {goal}x)"
    )
    if subject.cpu and anchor.median_cpu_ms:
        cpu_ratio = subject.median_cpu_ms / anchor.median_cpu_ms
        line += f"; CPU {cpu_ratio:.2f}x ({subject.median_cpu_ms:.0f} vs {anchor.median_cpu_ms:.0f} ms)"
    return line


def quiet_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment of every timed run: no Zephyr tree of this machine, no colour."""
    env = dict(os.environ, NO_COLOR="1")
    env.pop("ZEPHYR_BASE", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the bytecode cache is part of a real start
    env.update(extra or {})
    return env


# ------------------------------------------------------------------ figures


def standalone(build: Path, repeat: int) -> List[str]:
    env = quiet_env({"PYTHONPATH": str(HERE)})
    subject = [sys.executable, "-m", "pmdoctor", "-d", str(build)]
    anchor = [sys.executable, "-c", "import yaml"]
    check, yaml_only = compare(subject, anchor, repeat, ROOT, env)
    return [
        ratio_line("standalone", check, yaml_only, "import yaml", GOAL_STANDALONE),
        f"peak RSS: pmdoctor -d {mib(check.peak_rss)}, python -c 'import yaml' {mib(yaml_only.peak_rss)}",
    ]


def west_workspace(top: Path) -> Optional[Dict[str, str]]:
    """A workspace whose manifest repository is a copy of this checkout; its environment (None: no west)."""
    manifest = top / "pmdoctor"
    manifest.mkdir(parents=True)
    (manifest / "west.yml").write_text(WEST_MANIFEST, encoding="utf-8")
    shutil.copy2(ROOT / "west-commands.yml", manifest / "west-commands.yml")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    # Copies, not symlinks: west refuses extension files that resolve outside the project.
    shutil.copytree(HERE, manifest / "scripts", ignore=ignore)
    shutil.copytree(ROOT / "schemas", manifest / "schemas", ignore=ignore)
    env = quiet_env(
        {
            "WEST_CONFIG_SYSTEM": str(top / "west-system.cfg"),
            "WEST_CONFIG_GLOBAL": str(top / "west-global.cfg"),
        }
    )
    env.pop("WEST_CONFIG_LOCAL", None)
    env.pop("PYTHONPATH", None)  # the workspace's copy is the one west loads
    init = subprocess.run(
        [sys.executable, "-m", "west", "init", "-l", "pmdoctor"],
        cwd=top,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return env if init.returncode == 0 else None


def west(build: Path, repeat: int) -> List[str]:
    try:
        import west as _  # noqa: F401 - only whether it is there
    except ImportError:
        return ["west: not available (west is not installed in this Python)"]
    with tempfile.TemporaryDirectory(prefix="pmdoctor-bench-") as tmp:
        top = Path(tmp)
        env = west_workspace(top)
        if env is None:
            return ["west: not available (west init -l failed)"]
        subject = [sys.executable, "-m", "west", "pmdoctor", "-d", str(build)]
        anchor = [sys.executable, "-m", "west", "--version"]
        check, version = compare(subject, anchor, repeat, top, env)
    return [ratio_line("west", check, version, "west --version", GOAL_WEST)]


# The child of the breakdown: times pmdoctor's import and one check in-process,
# with the interpreter's dataclass and regex construction timed on the way
# (private hooks of this Python; a figure is -1 where a hook is missing).
_BREAKDOWN_CHILD = r"""
import sys
at_start = set(sys.modules)
import io, re, time, contextlib, dataclasses  # pmdoctor loads these too
import yaml  # the anchor's share, paid before the clock starts
for name in sys.argv[2:]:  # the other library modules, when known: their share is measured apart
    __import__(name)
spent = {"dataclass": 0.0, "regex": 0.0}
def timed(name, function):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - start
    return wrapper
hooks = ((dataclasses, "_process_class", "dataclass"), (re, "_compile", "regex"))
for module, attribute, name in hooks:
    if hasattr(module, attribute):
        setattr(module, attribute, timed(name, getattr(module, attribute)))
    else:
        spent[name] = -1.0
start = time.perf_counter()
from pmdoctor.cli import run
with contextlib.redirect_stdout(io.StringIO()):
    run(["-d", sys.argv[1]])
cold = time.perf_counter() - start
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    run(["-d", sys.argv[1]])
warm = time.perf_counter() - start
library = sorted(m for m in set(sys.modules) - at_start if m.split(".")[0] not in ("pmdoctor", "yaml"))
import json
json.dump({"cold": cold, "warm": warm, "library": library, **spent}, sys.stdout)
"""


def breakdown(build: Path, repeat: int) -> List[str]:
    """Where the standalone time goes, each share a median over ``repeat`` fresh processes."""
    env = quiet_env({"PYTHONPATH": str(HERE)})
    first = [sys.executable, "-c", _BREAKDOWN_CHILD, str(build)]
    subprocess.run(first, cwd=ROOT, env=env, capture_output=True, check=False)  # the bytecode cache
    importable = _importable(_child(first, env)["library"], env)
    # With the library modules imported before its clock, the child times pmdoctor's share alone.
    child = [*first, *importable]
    commands = {
        "start": [sys.executable, "-c", "pass"],
        "yaml": [sys.executable, "-c", "import yaml"],
        "library": [sys.executable, "-c", "import yaml, " + ", ".join(importable)],
    }
    walls: Dict[str, List[float]] = {name: [] for name in commands}
    figures = []
    for _ in range(repeat):
        for name, command in commands.items():
            walls[name].append(run_once(command, ROOT, env)[0])
        figures.append(_child(child, env))
    ms = {name: statistics.median(values) * 1000 for name, values in walls.items()}
    share = {
        key: statistics.median(f[key] for f in figures) * 1000
        for key in ("cold", "warm", "dataclass", "regex")
    }
    floor = ms["library"] + max(share["dataclass"], 0.0)
    budget = GOAL_STANDALONE * ms["yaml"] - ms["library"]
    return [
        f"breakdown of the standalone run (medians of {repeat}):",
        f"  interpreter start (python -c pass): {ms['start']:.0f} ms",
        f"  + import yaml (the anchor): {ms['yaml'] - ms['start']:.0f} ms",
        f"  + the {len(importable)} other library modules a check loads: {ms['library'] - ms['yaml']:.0f} ms",
        f"  + pmdoctor's modules and the check, cold: {share['cold']:.0f} ms, of which creating dataclasses "
        f"{_share(share['dataclass'])} and compiling regular expressions {_share(share['regex'])}",
        f"  the same check again in that process (warm): {share['warm']:.0f} ms",
        f"  interpreter, library modules and dataclass creation alone: {floor / ms['yaml']:.2f}x import yaml",
        f"  left for pmdoctor under the {GOAL_STANDALONE}x goal: {budget:.0f} ms "
        f"(its share cold: {share['cold']:.0f} ms; its check alone, warm: {share['warm']:.0f} ms)",
    ]


def _child(argv: List[str], env: Dict[str, str]) -> Dict[str, Any]:
    """The breakdown child's figures; its error, when it has one, ends the benchmark with it."""
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"benchmark: the breakdown's check failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _importable(modules: List[str], env: Dict[str, str]) -> List[str]:
    """The modules that import by name (a module a package registers under another name does not)."""
    probe = "import importlib, sys\nfor m in sys.argv[1:]:\n    try:\n        importlib.import_module(m)\n"
    probe += "        print(m)\n    except Exception:\n        pass\n"
    result = subprocess.run([sys.executable, "-c", probe, *modules], env=env, capture_output=True, text=True)
    return result.stdout.split()


def _share(value: float) -> str:
    return "n/a" if value < 0 else f"{value:.0f} ms"


def in_process(corpus: Optional[Path], repeat: int) -> List[str]:
    """Median ms per build of analyze() in this process (no start-up), over every corpus build."""
    if corpus is None:
        return ["in-process: no corpus"]
    sys.path.insert(0, str(HERE))
    from pmdoctor.api import analyze

    builds = sorted(path for path in (corpus / "builds").iterdir() if path.is_dir())
    medians = []
    for build in builds:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            analyze(build)
            times.append(time.perf_counter() - start)
        medians.append(statistics.median(times))
    return [
        f"in-process: {statistics.median(medians) * 1000:.1f} ms median per build, "
        f"{max(medians) * 1000:.1f} ms slowest, over {len(builds)} corpus builds"
    ]


def batch(corpus: Optional[Path]) -> List[str]:
    """The batch figures of scripts/benchmark_batch.py: serial vs ``--jobs 2`` in ms per build
    over 400 builds, and peak RSS at 1000 builds, one line each."""
    sys.path.insert(0, str(HERE))
    import benchmark_batch

    return benchmark_batch.batch_figures(corpus)


# ------------------------------------------------------------------ choosing the build


def image_count(build: Path) -> int:
    return sum(1 for _ in build.rglob("zephyr.dts"))


def default_build(corpus: Optional[Path]) -> Path:
    """The sysbuild corpus build with the most images (the first by name among equals), else the fixture."""
    if corpus is not None:
        sysbuilds = [
            path for path in sorted((corpus / "builds").iterdir()) if (path / "domains.yaml").is_file()
        ]
        if sysbuilds:
            return max(sysbuilds, key=image_count)  # max() keeps the first of equals
    return FIXTURE_BUILD


def usable_corpus(path: Path) -> Optional[Path]:
    return path if (path / "builds").is_dir() and any((path / "builds").iterdir()) else None


def mib(value: int) -> str:
    return f"{value / (1024 * 1024):.1f} MiB" if value else "n/a"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", type=Path, help="the build to time (default: see above)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus directory")
    parser.add_argument("-n", "--repeat", type=int, default=15, help="timed runs of each command (15)")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=("standalone", "west", "in-process", "batch", "breakdown"),
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    corpus = usable_corpus(args.corpus)
    build = (args.build or default_build(corpus)).resolve()
    if not (build / "CMakeCache.txt").is_file():
        sys.stderr.write(f"benchmark: {build} is not a build directory\n")
        return 2
    sections: Iterable[Tuple[str, object]] = (
        ("standalone", lambda: standalone(build, args.repeat)),
        ("west", lambda: west(build, args.repeat)),
        ("in-process", lambda: in_process(corpus, 3)),
        ("batch", lambda: batch(corpus)),
        ("breakdown", lambda: breakdown(build, args.repeat)),
    )
    python = sys.version.split()[0]
    print(f"build: {build} ({image_count(build)} images); python {python}; {os.cpu_count()} CPUs")
    for name, figures in sections:
        if name in args.skip:
            continue
        for line in figures():  # type: ignore[operator]
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
