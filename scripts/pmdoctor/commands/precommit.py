"""``pmdoctor-pre-commit FILE…``: check committed static layouts without a build (the pre-commit hook).

Each ``pm_static*.yml`` is triaged on its own — a repository often keeps one
per board, and one file's SoC must not be judged by another's — with the
rules that need nothing but the file: it parses and follows Partition
Manager's schema (PMD001-PMD003), its partitions fit, align and do not
overlap (PMD101-PMD106), and it was written for this SoC (PMD201). The board
comes from ``--board``, else from the file name (``pm_static_<board>.yml``);
the SoC from ``--soc``, else from the board and the layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence

from .common import EXIT_OK, EXIT_USAGE, Context, OutputOptions
from .triage import TriageOptions, run_triage

# The rules that judge a static file alone, without the build that uses it.
HOOK_RULES = (
    "PMD001",
    "PMD002",
    "PMD003",
    "PMD101",
    "PMD102",
    "PMD103",
    "PMD104",
    "PMD105",
    "PMD106",
    "PMD201",
)


@dataclass(frozen=True)
class PreCommitOptions:
    files: Sequence[str] = ()
    soc: Optional[str] = None
    board: Optional[str] = None
    output: OutputOptions = field(default_factory=OutputOptions)


def run_precommit(options: PreCommitOptions, ctx: Context) -> int:
    """Triage every file; the worst exit code wins (2 over 1 over 0)."""
    if not options.files:
        return EXIT_OK  # pre-commit runs the hook with no file when none matched: nothing to check
    codes: List[int] = []
    for name in options.files:
        triage = TriageOptions(
            paths=[name],
            soc=options.soc,
            board=options.board,
            rules=",".join(HOOK_RULES),
            output=options.output,
        )
        codes.append(run_triage(triage, ctx))
    return max(codes) if EXIT_USAGE not in codes else EXIT_USAGE
