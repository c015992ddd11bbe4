"""Check many builds in one run, and write every report piece by piece as builds finish.

A twister run leaves hundreds of build directories. Each is checked in a
worker process (``--jobs``), which renders its piece of every report and
returns only those strings: the :class:`~pmdoctor.model.Build` dies where it
was made, so memory does not grow with the number of builds. The pieces are
written in the order of the sorted build directories, between one head and
one tail per report, so each report is still one valid document.

A build that cannot be checked (not a build directory, an internal error
while checking it, a worker that died) becomes a "not checked" entry in every
report and sets the exit code; the others go on.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Deque, Iterable, Iterator, List, Optional, Sequence, TextIO, Tuple

from ..inputs.scope import Environment
from ..report import RenderOptions, streamer
from ..report.stream import Failure, Piece, Stream, Totals
from .common import (
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    Context,
    OutputOptions,
    Report,
    UsageError,
    findings_exit_code,
    is_terminal,
    write_document,
)

# ------------------------------------------------------------------ the work


@dataclass(frozen=True)
class Target:
    """One build directory to check, or one already known not to be one (``problem`` says why)."""

    path: Path
    problem: Optional[str] = None


@dataclass(frozen=True)
class Job:
    """What every build of a run is checked and rendered with (sent once to each worker)."""

    reports: Tuple[Tuple[str, RenderOptions], ...]  # each report's format and options
    rules: Optional[Tuple[str, ...]] = None
    baselines: Tuple[Any, ...] = ()
    logs: Tuple[Path, ...] = ()
    environment: Environment = field(default_factory=Environment)
    fail_on: str = "error"
    exit_zero: bool = False
    verbose: bool = False
    keep_analyses: bool = False  # a report renders only whole documents (no pieces): keep them


@dataclass
class Result:
    """One build, rendered: a piece per report, its exit code, and a line for stderr if it failed."""

    pieces: List[Piece]
    code: int
    failure: Optional[Failure] = None  # why it could not be checked (also said on standard error)
    trace: Optional[str] = None  # the traceback of an internal error (-v)
    analysis: Any = None  # only with Job.keep_analyses


def job_for(reports: Sequence[Report], output: OutputOptions, **check: Any) -> Job:
    """The work of a run: render ``reports``, judge the exit code by ``output``; ``check`` adds
    what the analysis takes (rules, baselines, logs, environment)."""
    return Job(
        tuple((report.fmt, report.options) for report in reports),
        fail_on=output.fail_on,
        exit_zero=output.exit_zero,
        verbose=output.verbose,
        keep_analyses=any(streamer(report.fmt) is None for report in reports),
        **check,
    )


def check_target(target: Target, job: Job) -> Result:
    """Check one build and render it; never raises for anything the build holds."""
    if target.problem is not None:
        return failed(Failure(target.path, target.problem, EXIT_USAGE), job)
    try:
        from ..assemble import load_build
        from ..fixes.verify import checked_analysis as check

        build = load_build(target.path, job.environment, logs=job.logs)
        build.baselines = list(job.baselines)
        analysis = check(build, job.rules)
        return rendered(analysis, job)
    except Exception as exc:  # one build's bug must not stop the batch
        import traceback

        message = f"internal error: {type(exc).__name__}: {exc} (please report it with the build directory)"
        result = failed(Failure(target.path, message, EXIT_INTERNAL), job)
        result.trace = traceback.format_exc() if job.verbose else None
        return result


def rendered(analysis: Any, job: Job) -> Result:
    """An analysed build as every report's piece, and its exit code."""
    pieces = [_stream(fmt).piece(analysis, options) for fmt, options in job.reports if streamer(fmt)]
    code = findings_exit_code(analysis.findings, job.fail_on, job.exit_zero)
    return Result(pieces, code, analysis=analysis if job.keep_analyses else None)


def failed(failure: Failure, job: Job) -> Result:
    pieces = [_stream(fmt).failed(failure, options) for fmt, options in job.reports if streamer(fmt)]
    return Result(pieces, failure.exit_code, failure=failure)


def _stream(fmt: str) -> Stream:
    found = streamer(fmt)
    assert found is not None
    return found


def build_targets(explicit: Sequence[str], recursive: Sequence[str], ctx: Context) -> List[Target]:
    """Every build of the run, each once, sorted: ``-d`` as given, and all below each ``--recursive``.

    One build that is no build directory is a usage error, as it always was;
    in a batch it is one "not checked" entry and the others are checked.
    """
    from ..inputs.locate import NoBuildDirectory, build_key, build_top, find_build_dir, find_build_dirs
    from ..inputs.scope import real
    from .common import build_dirs

    if not explicit and not recursive:
        return [Target(path) for path in build_dirs((), ctx)]
    found: List[Target] = []
    for given in explicit:
        try:
            found.append(Target(build_top(find_build_dir(explicit=given, cwd=ctx.cwd, command=ctx.command))))
        except NoBuildDirectory as error:
            found.append(Target(real(ctx.cwd / given), _reason(str(error), given)))
    for given in recursive:
        root = real(ctx.cwd / given)
        if not root.is_dir():
            raise UsageError(f"{given}: no such directory (--recursive)")
        unreadable: List[Path] = []
        below = find_build_dirs(root, unreadable)
        for folder in unreadable:
            ctx.stderr.write(f"pmdoctor: cannot list {folder}: skipped\n")
        if not below:
            raise UsageError(f"no build directory (with a CMakeCache.txt) below {given}")
        found += [Target(path) for path in below]
    unique = {}
    for target in found:
        unique.setdefault(build_key(target.path) if target.problem is None else target.path, target)
    if len(unique) == 1 and found[0].problem is not None:
        raise UsageError(f"{explicit[0]}: {found[0].problem}")
    return sorted(unique.values(), key=lambda target: target.path.parts)


def _reason(message: str, given: str) -> str:
    """The locator's message without the path it starts with (reports name the path themselves)."""
    prefix = f"{given}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


# ------------------------------------------------------------------ workers

_JOB: Optional[Job] = None  # a worker's job, set once when it starts


def _start_worker(job: Job) -> None:
    global _JOB
    import signal

    _JOB = job
    # Ctrl-C goes to the whole process group: the parent stops the run, workers just end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker shares the parent's unflushed stdout buffer; it must never write it out again.
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the worker's whole life


def _check_chunk(targets: Sequence[Target]) -> List[Result]:
    assert _JOB is not None
    return [check_target(target, _JOB) for target in targets]


def available_cpus() -> int:
    """The CPUs this process may run on (a container's or taskset's share, not the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def ordered_map(
    work: Callable[[Sequence[Any]], List[Any]],
    items: Sequence[Any],
    jobs: int,
    initializer: Callable[..., None],
    initargs: Tuple[Any, ...],
    lost: Callable[[Any], Any],
) -> Iterator[Any]:
    """``work`` over ``items`` in worker processes, results in the order of ``items``.

    Items go in chunks (less inter-process traffic), and only a few chunks
    are ahead of the one awaited, so finished results wait in memory only
    briefly. When a worker dies (killed for memory, a crash in a C
    extension), its chunk is retried one item at a time in a fresh pool, and
    the item that kills a worker alone becomes ``lost(item)``.
    """
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    size = max(1, min(8, len(items) // (jobs * 4)))
    chunks: Deque[List[Any]] = deque(list(items[i : i + size]) for i in range(0, len(items), size))
    window = jobs * 3

    def pool() -> ProcessPoolExecutor:
        for stream in (sys.stdout, sys.stderr):  # nothing buffered may be inherited
            stream.flush()
        return ProcessPoolExecutor(jobs, mp_context=_mp_context(), initializer=initializer, initargs=initargs)

    executor = pool()
    pending: Deque[Tuple[List[Any], Any]] = deque()
    try:
        while chunks or pending:
            while chunks and len(pending) < window:
                chunk = chunks.popleft()
                pending.append((chunk, executor.submit(work, chunk)))
            chunk, future = pending.popleft()
            try:
                results = future.result()
            except BrokenProcessPool:
                executor.shutdown(wait=True, cancel_futures=True)
                executor = pool()
                # Everything in flight is lost with the pool: retry it, the broken chunk item by item.
                chunks.extendleft(reversed([c for c, _ in pending]))
                pending.clear()
                if len(chunk) > 1:
                    chunks.extendleft(reversed([[item] for item in chunk]))
                    continue
                results = [lost(chunk[0])]
            yield from results
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _mp_context():
    import multiprocessing

    # fork: a worker starts with everything the parent imported, in a few milliseconds.
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _lost(target: Target) -> Result:
    assert _PARENT_JOB is not None
    message = "internal error: the process checking it died (out of memory?)"
    return failed(Failure(target.path, message, EXIT_INTERNAL), _PARENT_JOB)


_PARENT_JOB: Optional[Job] = None


def results(targets: Sequence[Target], job: Job, jobs: int) -> Iterator[Result]:
    """Each target checked and rendered, in order; in worker processes when ``jobs`` > 1."""
    checkable = sum(1 for target in targets if target.problem is None)
    if jobs <= 1 or checkable <= 1 or job.keep_analyses:
        for target in targets:
            yield check_target(target, job)
        return
    global _PARENT_JOB
    _PARENT_JOB = job
    _warm(job)
    yield from ordered_map(_check_chunk, targets, min(jobs, checkable), _start_worker, (job,), _lost)


def _warm(job: Job) -> None:
    """Import the analysis and the reporters once here, so that no forked worker imports them."""
    from ..assemble import load_build  # noqa: F401
    from ..fixes.verify import checked_analysis  # noqa: F401
    from ..rules import load_all

    load_all()
    for fmt, _ in job.reports:
        streamer(fmt)


# ------------------------------------------------------------------ writing


class Sink:
    """One report being written: its head, the pieces in order, its tail."""

    def __init__(self, report: Report, ctx: Context):
        self.report = report
        self.stream = _stream(report.fmt)
        self.totals = Totals()
        self.started = False
        self.own = report.path is not None
        self.file: TextIO = ctx.stdout
        if self.own:
            try:
                mode = "a" if report.append else "w"
                self.file = open(Path(ctx.cwd, report.path), mode, encoding="utf-8")  # noqa: SIM115
            except OSError as error:
                raise UsageError(f"cannot write {report.path}: {error.strerror or error}") from None
        # The head needs the totals: pieces wait on disk, so memory stays flat.
        self.spool: Optional[TextIO] = None
        if self.stream.totals_first:
            import tempfile  # only JUnit's head waits for the totals: other formats skip its imports

            self.spool = tempfile.SpooledTemporaryFile(1 << 20, "w+", encoding="utf-8")  # noqa: SIM115
        self.wrote = False

    @property
    def terminal(self) -> bool:
        return not self.own and is_terminal(self.file)

    def start(self) -> None:
        if self.spool is None:
            self.file.write(self.stream.head(self.totals, self.report.options))

    def add(self, piece: Piece) -> None:
        self.totals.add(piece)
        if not piece.text:
            return
        target = self.spool if self.spool is not None else self.file
        if self.wrote:
            target.write(self.stream.separator)
        target.write(piece.text)
        self.wrote = True
        if self.terminal:
            self.file.flush()

    def finish(self) -> None:
        options = self.report.options
        if self.spool is not None:
            self.file.write(self.stream.head(self.totals, options))
            self.spool.seek(0)
            shutil.copyfileobj(self.spool, self.file)
            self.spool.close()
        self.file.write(self.stream.tail(self.totals, options))
        self.close()

    def close(self) -> None:
        if self.own:
            self.file.close()
        else:
            self.file.flush()


class WholeSink:
    """A report that renders only whole documents: it keeps the analyses until the end."""

    def __init__(self, report: Report, ctx: Context):
        self.report, self.ctx = report, ctx
        self.analyses: List[Any] = []

    def start(self) -> None:
        pass

    def keep(self, analysis: Any) -> None:
        if analysis is not None:
            self.analyses.append(analysis)

    def finish(self) -> None:
        from ..report import renderer

        write_document(self.report, renderer(self.report.fmt)(self.analyses, self.report.options), self.ctx)

    def close(self) -> None:
        pass


def _complaint(failure: Failure, ctx: Context) -> str:
    from ..report._neutral import one_line
    from ..report.paths import display_path

    return f"pmdoctor: {one_line(display_path(failure.path, ctx.cwd))}: {one_line(failure.message)}\n"


class Progress:
    """``[123/400] build/dir`` on a terminal's stderr, redrawn in place, gone at the end.

    Only for runs long enough to wonder about (after half a second), never
    into a file, a pipe or a CI log.
    """

    DELAY = 0.5
    INTERVAL = 0.1

    def __init__(self, stream: TextIO, total: int, cwd: Path):
        self.stream, self.total, self.cwd = stream, total, cwd
        quiet = os.environ.get("CI") or os.environ.get("TERM") == "dumb"
        self.enabled = total > 1 and is_terminal(stream) and not quiet
        self.started = time.monotonic()
        self.drawn = 0.0
        self.visible = False

    def update(self, done: int, path: Path) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.started < self.DELAY or now - self.drawn < self.INTERVAL:
            return
        from ..report._neutral import one_line
        from ..report.paths import display_path

        columns = shutil.get_terminal_size().columns
        line = f"[{done}/{self.total}] {one_line(display_path(path, self.cwd))}"[: max(10, columns - 1)]
        self.stream.write(f"\r{line}\x1b[K")
        self.stream.flush()
        self.drawn, self.visible = now, True

    def clear(self) -> None:
        if self.visible:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.visible = False


def write_reports(
    targets: Sequence[Target],
    job: Job,
    reports: Sequence[Report],
    ctx: Context,
    jobs: int,
    analysed: Optional[Iterable[Any]] = None,
) -> int:
    """Check the targets (or take already ``analysed`` builds), write every report, return the exit code."""
    sinks: List[Any] = []
    try:
        for report in reports:
            sinks.append(Sink(report, ctx) if streamer(report.fmt) else WholeSink(report, ctx))
    except UsageError:
        for sink in sinks:
            sink.close()
        raise
    for sink in sinks:
        sink.start()
    streamed = [sink for sink in sinks if isinstance(sink, Sink)]
    whole = [sink for sink in sinks if isinstance(sink, WholeSink)]
    progress = Progress(ctx.stderr, len(targets), ctx.cwd)
    code = EXIT_OK
    stream = results(targets, job, jobs) if analysed is None else (rendered(a, job) for a in analysed)
    try:
        for done, (target, result) in enumerate(zip(targets, stream), start=1):
            if any(sink.terminal for sink in streamed):
                progress.clear()
            for sink, piece in zip(streamed, result.pieces):
                sink.add(piece)
            for sink in whole:
                sink.keep(result.analysis)
            if result.failure is not None:
                progress.clear()
                ctx.stderr.write((result.trace or "") + _complaint(result.failure, ctx))
            code = max(code, result.code)
            progress.update(done, target.path)
    finally:
        progress.clear()
    for sink in sinks:
        sink.finish()
    return code
