"""A stand-in rule for the ``pmdoctor fix`` tests, and the way to run pmdoctor with it.

``fix`` applies the edits the rules offer; which rules offer checked edits
changes as rules are converted, so these tests do not depend on one. A test
writes ``fix-offers.json`` into a build directory (the edits, as
:mod:`pmdoctor.model.edits` spells them, and whether the fix is checked,
moves the layout, …), and the rule PMD990 offers them. It behaves as a
perfect rule would: it reports an offer while applying its edits would still
change a file, so after ``fix --write`` the finding is gone.

:func:`run_fix` starts a real ``pmdoctor`` process with this rule registered
(and ``fix`` analysing without the fix checker, so the offer's own ``checked``
decides; converted rules are tested through the checker in
test_fix_command.py's real-rule test and in test_fix_checks.py), and optionally
a hook that stops the process right before a rename or edits a file right
after the plan (the two moments a test cannot reach otherwise).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

from conftest import ROOT
from pmdoctor.fixes.apply import EditError, apply_edits, read_source
from pmdoctor.model.edits import Action, KconfigEdit, OverlayEdit, PartitionNode, StaticEdit, Target
from pmdoctor.model.findings import Finding, Fix, Severity
from pmdoctor.rules import REGISTRY, Rule

OFFERS = "fix-offers.json"
RULE_ID = "PMD990"


def edit_from(data: dict):
    """An edit from its JSON form: ``{"kind": "static"|"kconfig"|"overlay", "file": PATH, …}``."""
    target = Target(Path(data["file"]), data.get("convention", "test"), data.get("exists", True))
    action = Action(data.get("action", "set"))
    if data["kind"] == "static":
        entries = tuple(tuple(pair) for pair in data.get("entries", ()))
        value = tuple(data["value"]) if isinstance(data.get("value"), list) else data.get("value")
        return StaticEdit(target, action, data["partition"], data.get("key"), value, entries)
    if data["kind"] == "kconfig":
        return KconfigEdit(target, action, data["symbol"], data.get("value"))
    node = PartitionNode(**data["partition"]) if data.get("partition") else None
    return OverlayEdit(target, action, data["node"], data.get("prop"), data.get("value"), node)


def _check(build):
    offers = Path(build.path) / OFFERS
    if not offers.is_file():
        return
    for number, offer in enumerate(json.loads(offers.read_text())):
        edits = tuple(edit_from(item) for item in offer["edits"])
        if not _still_needed(edits):
            continue
        fix = Fix(
            offer.get("description", "apply the test's edits"),
            edits=edits,
            checked=offer.get("checked", True),
            conflict=offer.get("conflict"),
            field_warning=offer.get("field_warning"),
        )
        yield Finding(
            offer.get("message", f"offer {number} is not applied"), fixes=[fix], subject=(str(number),)
        )


def _still_needed(edits) -> bool:
    for edit in edits:
        try:
            text = read_source(edit.target.file)[0] or ""
            if apply_edits(text, [(edit, RULE_ID)]) != text:
                return True
        except EditError:
            return True
    return False


def register() -> None:
    """Add PMD990 to the registry: only in the pmdoctor process :func:`run_fix` starts, never in pytest's."""
    REGISTRY.setdefault(RULE_ID, Rule(RULE_ID, "test-fix-offer", Severity.ERROR, _check, "test"))


def write_offers(build_dir: Path, offers: List[dict]) -> None:
    (build_dir / OFFERS).write_text(json.dumps(offers, default=str))


_BOOT = """
import os, sys
sys.path.insert(0, {tests!r})
import fix_offers
fix_offers.register()
# The stand-in's edits are judged by the test ("checked" in fix-offers.json), not by the fix
# checker: it simulates edits on the model, and the stand-in reads the files themselves.
import pmdoctor.analysis
import pmdoctor.commands.fix
pmdoctor.commands.fix._checked = pmdoctor.analysis.check
if os.environ.get("FIX_TEST_DIE_BEFORE_RENAME"):
    import pmdoctor.fixes.write as write
    def die(source, destination):
        os._exit(70)  # the process ends here: the new text is written, the rename never happens
    write._rename = die
if os.environ.get("FIX_TEST_TOUCH_AFTER_PLAN"):
    import pmdoctor.commands.fix as command
    planned = command.plan
    def plan_then_touch(*args, **kwargs):
        outcome = planned(*args, **kwargs)
        with open(os.environ["FIX_TEST_TOUCH_AFTER_PLAN"], "a") as handle:
            handle.write("# edited by hand meanwhile\\n")
        return outcome
    command.plan = plan_then_touch
from pmdoctor.cli import main
main()
"""


def run_fix(
    *args: str, cwd: Path, env: Optional[Dict[str, str]] = None, command: str = "fix"
) -> subprocess.CompletedProcess:
    """``pmdoctor fix ARGS`` in a real process, with PMD990 registered."""
    environ = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), NO_COLOR="1")
    environ.pop("ZEPHYR_BASE", None)
    environ.update(env or {})
    boot = _BOOT.format(tests=str(ROOT / "tests"))
    return subprocess.run(
        [sys.executable, "-c", boot, command, *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
