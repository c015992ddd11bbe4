"""Run pmdoctor with one output stream on a pseudo-terminal, as a user at a terminal sees it."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence

from conftest import ROOT


@dataclass
class TtyRun:
    returncode: int
    output: str  # what went to the terminal
    other: str  # the other stream (a pipe)


def run_on_tty(
    argv: Sequence[str],
    cwd: Path,
    stream: str = "stdout",
    env: Optional[Dict[str, str]] = None,
    columns: int = 100,
    command: Optional[Sequence[str]] = None,
) -> TtyRun:
    """``python -m pmdoctor ARGV`` (or ``command``) with ``stream`` on a terminal ``columns`` wide."""
    environ = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), COLUMNS=str(columns), TERM="xterm")
    for key in ("ZEPHYR_BASE", "NO_COLOR", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
        environ.pop(key, None)
    for key, value in (env or {}).items():
        if value:
            environ[key] = value
        else:
            environ.pop(key, None)
    master, slave = pty.openpty()
    pipes = (
        {"stdout": slave, "stderr": subprocess.PIPE} if stream == "stdout" else {"stdout": subprocess.PIPE}
    )
    if stream == "stderr":
        pipes["stderr"] = slave
    process = subprocess.Popen(
        list(command or [sys.executable, "-m", "pmdoctor"]) + list(argv),
        cwd=cwd,
        env=environ,
        stdin=subprocess.DEVNULL,
        **pipes,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    piped = process.stderr if stream == "stdout" else process.stdout
    other = piped.read().decode() if piped else ""
    process.wait(timeout=120)
    # A terminal turns "\n" into "\r\n".
    return TtyRun(process.returncode, b"".join(chunks).decode().replace("\r\n", "\n"), other)
