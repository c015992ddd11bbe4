#!/usr/bin/env python3
"""Fuzz pmdoctor: the crafted hostile inputs of issue 9, then thousands of mutated build files.

    python scripts/fuzz.py [--count N] [--seed S] [--jobs J] [--out DIR] [--corpus DIR]

First every crafted case of ``hostile_inputs.CASES`` runs through the real
CLI in a subprocess (real time and memory, up to ``--crafted-timeout``).
Then N inputs (default 10,000) are made from the fixtures in tests/ and, when
present, ../shared/corpus: a file of a build or attachment mutated 1-3 times
(byte flips, truncations, duplications, huge numbers, deep nesting, control
characters, hostile names, YAML/DTS/Kconfig/log structure), plus generated
valid layouts (which must get no layout error) and generated logs. Each runs
in a worker process (``pmdoctor.cli.run`` in-process, so thousands of runs
take minutes, not hours) under an address-space limit, killed and restarted
at the per-input timeout; its peak RSS is reset and read per input.

It prints the count, exit-3 results, hangs, unparseable output, inputs over
2 s and over 200 MB and the slowest inputs, and saves each failing input under
``--out`` with the command that reproduces it (``--only INDEX`` rebuilds one
input of a seed). Exit code: 0 when nothing failed, 1 otherwise, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import hostile_inputs as hostile  # noqa: E402

SLOW_SECONDS = 2.0  # the goal per input
HEAVY_BYTES = 200 * hostile.MIB
LAYOUT_RULES = {f"PMD10{n}" for n in range(1, 7)}
SAVED_PER_KIND = 25

# ------------------------------------------------------------------ inputs


@dataclass
class FuzzInput:
    index: int
    label: str  # what it is: target file, mutations, format
    base: Optional[hostile.Target]  # the folder copied (None: an empty folder)
    files: Dict[str, bytes]  # written into the copy
    argv: Tuple[str, ...]
    valid_layout: bool = False  # a generated valid layout: must get no PMD101-PMD106


def make_input(index: int, seed: int, targets: List[hostile.Target]) -> FuzzInput:
    """Input ``index`` of run ``seed``: the same every time, so a failure can be rebuilt."""
    rng = random.Random(f"{seed}:{index}")
    fmt = rng.choice(hostile.FORMATS)
    roll = rng.random()
    if roll < 0.05:
        return _layout_input(index, rng)
    if roll < 0.10:
        return _log_input(index, rng, fmt, targets)
    target = rng.choice(targets)
    content, applied = hostile.mutate(_read(target), rng)
    label = f"{target.label} [{'+'.join(applied)}] {fmt}"
    return FuzzInput(index, label, target, {target.file: content}, (*target.argv, "--format", fmt))


def _layout_input(index: int, rng: random.Random) -> FuzzInput:
    layout, region_size = hostile.random_valid_layout(rng)
    files = {
        "pm_static.yml": hostile.layout_yaml(layout).encode(),
        "regions.yml": hostile.regions_yaml(region_size).encode(),
    }
    argv = ("triage", ".", "--soc", "nrf52840", "--format", "json")
    return FuzzInput(index, f"valid layout of {len(layout)} partitions", None, files, argv, valid_layout=True)


def _log_input(index: int, rng: random.Random, fmt: str, targets: List[hostile.Target]) -> FuzzInput:
    log = hostile.random_log(rng, rng.randint(1, 200)).encode()
    builds = [t for t in targets if t.argv[0] == "-d"]
    if builds and rng.random() < 0.5:
        target = rng.choice(builds)
        argv = (*target.argv, "--log", "console.log", "--format", fmt)
        return FuzzInput(
            index, f"generated log, with {target.label} {fmt}", target, {"console.log": log}, argv
        )
    argv = ("triage", "console.log", "--format", fmt)
    return FuzzInput(index, f"generated log {fmt}", None, {"console.log": log}, argv)


_CONTENT_CACHE: Dict[Path, bytes] = {}


def _read(target: hostile.Target) -> bytes:
    path = target.root / target.file
    if path not in _CONTENT_CACHE:
        _CONTENT_CACHE[path] = path.read_bytes()
    return _CONTENT_CACHE[path]


def materialise(item: FuzzInput, folder: Path) -> Path:
    return hostile.materialise(item.base, item.files, folder)


# ------------------------------------------------------------------ the worker process


def worker_main(memory_limit: int) -> None:
    """Run requests from the parent one by one, in this process; reply with figures."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    requests = os.fdopen(os.dup(0), "r")
    replies = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # dtlib reads "-" as standard input: never the request pipe
    os.dup2(devnull, 1)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - for the life of the worker
    for line in requests:
        request = json.loads(line)
        reset_peak_rss()
        outcome = hostile.run_in_process(request["argv"], Path(request["cwd"]))
        outcome.peak_rss = peak_rss()
        replies.write(json.dumps(_reply(outcome)) + "\n")
        replies.flush()
        if outcome.exit_code == 3 or current_rss() > 300 * hostile.MIB:
            return  # start afresh: a grown heap would inflate the next inputs' figures


def _reply(outcome: hostile.Outcome) -> dict:
    problems = hostile.general_problems(outcome, float("inf"), 1 << 62)
    rules = (
        sorted({f["rule"] for f in hostile.findings(outcome)})
        if hostile.format_of(outcome.argv) == "json"
        else []
    )
    return {
        "exit": outcome.exit_code,
        "seconds": outcome.seconds,
        "rss": outcome.peak_rss,
        "problems": problems,
        "rules": rules,
        "stderr": outcome.stderr[:400],
    }


def reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        pass  # elsewhere the peak is the worker's lifetime peak (an overestimate)


def _status(field_name: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def peak_rss() -> int:
    peak = _status("VmHWM")
    if peak is not None:
        return peak
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def current_rss() -> int:
    return _status("VmRSS") or 0


class Worker:
    """One worker subprocess, restarted after a timeout or when it chose to exit."""

    def __init__(self, memory_limit: int):
        self.memory_limit = memory_limit
        self.process: Optional[subprocess.Popen] = None

    def _start(self) -> subprocess.Popen:
        environ = hostile.cli_environment()
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            "--memory",
            str(self.memory_limit),
        ]
        return subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environ,
            text=True,
            start_new_session=True,
        )

    def run(self, argv: Tuple[str, ...], cwd: Path, timeout: float) -> Optional[dict]:
        """The worker's reply, or None when it did not answer in time (it is then killed)."""
        for _attempt in range(2):
            if self.process is None or self.process.poll() is not None:
                self.process = self._start()
            assert self.process.stdin is not None and self.process.stdout is not None
            try:
                self.process.stdin.write(json.dumps({"argv": list(argv), "cwd": str(cwd)}) + "\n")
                self.process.stdin.flush()
            except BrokenPipeError:
                self.process = None
                continue
            ready, _, _ = select.select([self.process.stdout], [], [], timeout)
            line = self.process.stdout.readline() if ready else ""
            if line:
                return json.loads(line)
            if ready:  # the worker died (e.g. killed by the kernel): retry once in a fresh one
                self.stop()
                continue
            self.stop()
            return None
        return {
            "exit": None,
            "seconds": 0.0,
            "rss": 0,
            "problems": ["the worker died"],
            "rules": [],
            "stderr": "",
        }

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(OSError):  # already gone
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None


# ------------------------------------------------------------------ the run


@dataclass
class Result:
    item: FuzzInput
    reply: Optional[dict]  # None: hang

    @property
    def kinds(self) -> List[str]:
        """What is wrong with this result (empty: fine)."""
        if self.reply is None:
            return ["hang"]
        kinds = []
        if self.reply["exit"] == 3:
            kinds.append("exit3")
        elif self.reply["problems"]:
            kinds.append("bad-output")
        if self.item.valid_layout and LAYOUT_RULES & set(self.reply["rules"]):
            kinds.append("valid-layout-flagged")
        return kinds

    @property
    def seconds(self) -> float:
        return self.reply["seconds"] if self.reply else float("inf")

    @property
    def rss(self) -> int:
        return self.reply["rss"] if self.reply else 0


class Fuzzer:
    def __init__(self, args: argparse.Namespace, targets: List[hostile.Target]):
        self.args = args
        self.targets = targets
        self.results: List[Result] = []
        self.saved: Counter = Counter()
        self.lock = threading.Lock()
        self.local = threading.local()
        self.scratch = Path(tempfile.mkdtemp(prefix="pmdoctor-fuzz-"))

    def worker(self) -> Worker:
        if not hasattr(self.local, "worker"):
            self.local.worker = Worker(self.args.memory * hostile.MIB)
            with self.lock:
                self.workers.append(self.local.worker)
        return self.local.worker

    def one(self, index: int) -> None:
        item = make_input(index, self.args.seed, self.targets)
        folder = materialise(item, self.scratch / f"in-{index}")
        reply = self.worker().run(item.argv, folder, self.args.timeout)
        result = Result(item, reply)
        with self.lock:
            self.results.append(result)
            done = len(self.results)
        worth = result.kinds + (["slow"] if result.seconds > SLOW_SECONDS else [])
        worth += ["heavy"] if result.rss > HEAVY_BYTES else []
        if worth:
            self.save(result, folder, worth[0])
        shutil.rmtree(folder, ignore_errors=True)
        if done % 500 == 0:
            print(f"  … {done} inputs", file=sys.stderr, flush=True)

    def save(self, result: Result, folder: Path, kind: str) -> None:
        with self.lock:
            self.saved[kind] += 1
            if self.saved[kind] > SAVED_PER_KIND:
                return
        destination = Path(self.args.out) / kind / f"{result.item.index:06d}"
        shutil.rmtree(destination, ignore_errors=True)
        shutil.copytree(folder, destination / "input", symlinks=True)
        rerun = f"cd {destination / 'input'} && PYTHONPATH={hostile.ROOT / 'scripts'} python -m pmdoctor "
        (destination / "README.txt").write_text(
            f"{kind}: {result.item.label}\n\n{rerun}{' '.join(result.item.argv)}\n\n"
            f"rebuild: python scripts/fuzz.py --seed {self.args.seed} --only {result.item.index}\n\n"
            f"result: {json.dumps(result.reply, indent=2)}\n"
        )

    def run(self) -> List[Result]:
        self.workers: List[Worker] = []
        try:
            with ThreadPoolExecutor(self.args.jobs) as pool:
                list(pool.map(self.one, range(self.args.count)))
        finally:
            for worker in self.workers:
                worker.stop()
            shutil.rmtree(self.scratch, ignore_errors=True)
        return sorted(self.results, key=lambda r: r.item.index)


# ------------------------------------------------------------------ crafted cases


def run_crafted(args: argparse.Namespace) -> List[Tuple[hostile.Case, hostile.Outcome, List[str]]]:
    devices = hostile.can_make_devices()
    cases = [c for c in hostile.CASES if devices or "/device-as-" not in c.name]

    def one(case: hostile.Case) -> Tuple[hostile.Case, hostile.Outcome, List[str]]:
        with tempfile.TemporaryDirectory(prefix="pmdoctor-case-") as sandbox:
            outcome = hostile.run_case(case, Path(sandbox), args.crafted_timeout, args.memory * hostile.MIB)
            problems = hostile.case_problems(case, outcome, SLOW_SECONDS, HEAVY_BYTES)
            if problems and not outcome.timed_out:
                keep = Path(args.out) / "crafted" / case.name.replace("/", "-")
                shutil.rmtree(keep, ignore_errors=True)
                _copy_small(Path(sandbox), keep)
        return case, outcome, problems

    with ThreadPoolExecutor(args.jobs) as pool:
        return list(pool.map(one, cases))


def _copy_small(source: Path, destination: Path) -> None:
    """Keep a crafted failure for reproduction (skipping FIFOs and devices, which copytree cannot copy)."""

    def ignore(folder: str, names: List[str]) -> List[str]:
        special = []
        for name in names:
            path = Path(folder, name)
            if not path.is_symlink() and path.exists() and not (path.is_file() or path.is_dir()):
                special.append(name)
        return special

    shutil.copytree(source, destination, symlinks=True, ignore=ignore)


def report_crafted(outcomes: List[Tuple[hostile.Case, hostile.Outcome, List[str]]], timeout: float) -> int:
    print(
        f"crafted hostile inputs: {len(outcomes)} (goal per input: {SLOW_SECONDS:.0f} s, "
        f"{HEAVY_BYTES // hostile.MIB} MiB; killed at {timeout:.0f} s)"
    )
    failing = 0
    for case, outcome, problems in outcomes:
        exit_text = f">{timeout:.0f}s" if outcome.timed_out else f"exit {outcome.exit_code}"
        figures = f"{exit_text:>8} {outcome.seconds:7.2f} s {outcome.peak_rss / hostile.MIB:7.0f} MiB"
        verdict = "ok" if not problems else "FAIL " + "; ".join(problems)
        failing += bool(problems)
        print(f"  {case.name:52} {figures}  {verdict[:160]}")
    print(f"  {failing} of {len(outcomes)} crafted inputs fail\n")
    return failing


# ------------------------------------------------------------------ the summary


def report(results: List[Result], args: argparse.Namespace, seconds: float) -> int:
    kinds = Counter(kind for result in results for kind in result.kinds)
    slow = [r for r in results if r.reply and r.seconds > SLOW_SECONDS]
    heavy = [r for r in results if r.rss > HEAVY_BYTES]
    exit3 = Counter(_error_class(r.reply["stderr"]) for r in results if "exit3" in r.kinds and r.reply)
    codes = Counter(r.reply["exit"] if r.reply else "hang" for r in results)
    print(
        f"mutated and generated inputs: {len(results)} (seed {args.seed}, {args.jobs} jobs, "
        f"{seconds:.0f} s; per input: killed at {args.timeout:.0f} s, {args.memory} MiB address space)"
    )
    print(f"  exit codes: {dict(sorted(codes.items(), key=str))}")
    print(f"  exit 3 (internal error): {kinds['exit3']}")
    for message, count in exit3.most_common(12):
        print(f"    {count:6} × {message}")
    print(f"  hangs (killed at {args.timeout:.0f} s): {kinds['hang']}")
    print(f"  unparseable output or traceback: {kinds['bad-output']}")
    print(f"  valid generated layouts given a layout error: {kinds['valid-layout-flagged']}")
    print(f"  over {SLOW_SECONDS:.0f} s: {len(slow)}; over {HEAVY_BYTES // hostile.MIB} MiB: {len(heavy)}")
    print("  slowest:")
    for result in sorted(results, key=lambda r: -r.seconds)[:10]:
        print(f"    {_figures(result)}")
    print("  largest peak RSS:")
    for result in sorted(results, key=lambda r: -r.rss)[:5]:
        print(f"    {_figures(result)}")
    failing = kinds["exit3"] + kinds["hang"] + kinds["bad-output"] + kinds["valid-layout-flagged"]
    with open(Path(args.out) / "results.jsonl", "w") as log:
        for result in results:
            log.write(
                json.dumps(
                    {
                        "index": result.item.index,
                        "label": result.item.label,
                        "kinds": result.kinds,
                        "reply": result.reply,
                    }
                )
                + "\n"
            )
    print(f"  failing inputs saved under {args.out} (at most {SAVED_PER_KIND} of each kind; all figures in")
    print(f"  {Path(args.out) / 'results.jsonl'})")
    return failing


def _figures(result: Result) -> str:
    seconds = "hang" if result.reply is None else f"{result.seconds:.2f} s"
    return f"{seconds:>8} {result.rss / hostile.MIB:5.0f} MiB  #{result.item.index} {result.item.label[:100]}"


def _error_class(stderr: str) -> str:
    """The internal error without what varies (paths, numbers), to count the classes."""
    lines = [line for line in stderr.splitlines() if "internal error" in line] or stderr.splitlines() or [""]
    message = lines[0].replace("pmdoctor: internal error: ", "").split(" (please report")[0]
    message = re.split(r": '|: \"|; use |: value has", message)[0]
    return re.sub(r"\d{5,}", "N", message)[:120]


def rebuild(args: argparse.Namespace, targets: List[hostile.Target]) -> int:
    item = make_input(args.only, args.seed, targets)
    folder = Path(args.out) / f"input-{args.seed}-{args.only}"
    shutil.rmtree(folder, ignore_errors=True)
    materialise(item, folder)
    print(
        f"{item.label}\ncd {folder} && PYTHONPATH={hostile.ROOT / 'scripts'} python -m pmdoctor "
        f"{' '.join(item.argv)}"
    )
    return 0


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="mutated inputs to run (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the run (inputs are a function of it)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="worker processes")
    parser.add_argument(
        "--out",
        default=str(Path(tempfile.gettempdir()) / "pmdoctor-fuzz"),
        help="where failing inputs are saved (default: <tmp>/pmdoctor-fuzz)",
    )
    parser.add_argument("--corpus", default=str(hostile.CORPUS), help="the shared corpus (optional)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per mutated input")
    parser.add_argument("--crafted-timeout", type=float, default=30.0, help="seconds per crafted input")
    parser.add_argument("--memory", type=int, default=1536, help="address-space limit per run, MiB")
    parser.add_argument("--no-crafted", action="store_true", help="skip the crafted hostile inputs")
    parser.add_argument("--only", type=int, help="rebuild input ONLY of the seed under --out and exit")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker_main(args.memory)
        return 0
    corpus = Path(args.corpus)
    targets = hostile.targets(corpus if corpus.is_dir() else None)
    if not targets:
        print("fuzz: no fixtures found", file=sys.stderr)
        return 2
    if args.only is not None:
        return rebuild(args, targets)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    print(f"{len(targets)} files to mutate ({'with' if corpus.is_dir() else 'without'} the corpus {corpus})")
    failing = 0
    if not args.no_crafted:
        failing += report_crafted(run_crafted(args), args.crafted_timeout)
    start = time.perf_counter()
    results = Fuzzer(args, targets).run() if args.count else []
    failing += report(results, args, time.perf_counter() - start)
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
