"""List every error and warning pmdoctor reports on the real-world corpus, as one table.

usage: python scripts/corpus_report.py [CORPUS] [--all] [--format markdown|tsv]

CORPUS defaults to ../shared/corpus beside this checkout. Each corpus build is
checked (``pmdoctor -d BUILD``) and each loose static file is triaged
(``pmdoctor triage FILE``). One row per error or warning (``--all`` adds
notes), with what INDEX.tsv says about the input, so a reviewer can repeat
the corpus review in minutes: read each row, mark it true / debatable / false.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pmdoctor.cli import run

SHOWN = ("error", "warning")
MESSAGE_WIDTH = 150


def read_index(path: Path, key: str) -> Dict[str, str]:
    """``slug -> notes`` from one of the corpus index files (empty when absent)."""
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return {row.get(key, ""): (row.get("notes") or "").strip() for row in rows}


def findings(argv: List[str]) -> Tuple[int, List[dict]]:
    out, err = io.StringIO(), io.StringIO()
    code = run([*argv, "--format", "json"], config_get=lambda option: None, stdout=out, stderr=err)
    try:
        document = json.loads(out.getvalue())
    except ValueError:
        failed = f"no JSON (exit {code}): {err.getvalue()}"
        return code, [{"rule": "-", "severity": "error", "message": failed}]
    return code, [finding for build in document.get("builds", []) for finding in build.get("findings", [])]


def rows(corpus: Path, severities: Tuple[str, ...]) -> Iterator[Tuple[str, str, str, str, str]]:
    """(input, severity, rule, message, index note) per reported finding, builds then static files."""
    builds = read_index(corpus / "INDEX.tsv", "slug")
    statics = read_index(corpus / "INDEX_pm_static.tsv", "file")
    jobs = [(p.name, ["-d", str(p)], builds.get(p.name, "")) for p in sorted((corpus / "builds").iterdir())]
    jobs += [
        (f"pm_static/{p.name}", ["triage", str(p)], statics.get(p.name, ""))
        for p in sorted((corpus / "pm_static").iterdir())
    ]
    for name, argv, note in jobs:
        _, found = findings(argv)
        for finding in found:
            if finding.get("severity") in severities:
                message = " ".join(str(finding.get("message", "")).split())
                yield name, finding["severity"], finding.get("rule", "-"), message, note


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def markdown(table: List[Tuple[str, str, str, str, str]]) -> str:
    lines = ["| # | input | sev | rule | message | corpus note |", "|---|---|---|---|---|---|"]
    for number, (name, severity, rule, message, note) in enumerate(table, 1):
        cells = [str(number), name, severity, rule, clip(message, MESSAGE_WIDTH), clip(note, 90)]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    counts: Dict[str, int] = {}
    for _, severity, rule, _, _ in table:
        counts[f"{rule} {severity}"] = counts.get(f"{rule} {severity}", 0) + 1
    lines += ["", "Totals: " + ", ".join(f"{key}: {value}" for key, value in sorted(counts.items()))]
    return "\n".join(lines)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"
    parser.add_argument("corpus", nargs="?", type=Path, default=default)
    parser.add_argument("--all", action="store_true", help="also list notes")
    parser.add_argument("--format", choices=("markdown", "tsv"), default="markdown")
    options = parser.parse_args(argv)
    if not (options.corpus / "builds").is_dir():
        print(f"no corpus at {options.corpus}", file=sys.stderr)
        return 2
    table = list(rows(options.corpus, SHOWN + (("note",) if options.all else ())))
    if options.format == "tsv":
        print("\n".join("\t".join(row) for row in table))
    else:
        print(markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
