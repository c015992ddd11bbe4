"""``--format junit``: JUnit XML for CI dashboards (GitLab, Jenkins, test-report actions).

One test suite per build; one test case per rule that ran and found nothing (so
passing checks show too) and one failing case per error or warning finding.
Notes pass, with their text as output. Every attribute and text holding
user data goes through ``one_line``, which shows control characters escaped
and so also removes every character XML 1.0 forbids.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import List

from ..analysis import Analysis
from ..model.findings import Finding, shown
from ..rules import load_all
from . import RenderOptions
from ._neutral import one_line
from .paths import display_path, relative_shower
from .stream import Failure, Piece, Stream, Totals, first_rule, whole


def _case_name(finding: Finding) -> str:
    subject = " ".join(part for part in finding.subject if part) or str(finding.message)[:60]
    return one_line(f"{finding.rule} {finding.name}: {subject}")


def _suite(analysis: Analysis, options: RenderOptions) -> ET.Element:
    where = one_line(display_path(analysis.build.path, options.cwd) or ".")
    show = relative_shower(options.cwd)
    suite = ET.Element("testsuite", name=f"pmdoctor {where}")
    failures = 0
    fired = {finding.rule for finding in analysis.findings}
    registry = load_all()
    # One passing case per rule that ran and found nothing: what --rules did not select did not run.
    for rule_id in analysis.rules_run:
        if rule_id not in fired and rule_id in registry:
            ET.SubElement(suite, "testcase", classname=where, name=f"{rule_id} {registry[rule_id].name}")
    for finding in analysis.findings:
        case = ET.SubElement(suite, "testcase", classname=where, name=_case_name(finding))
        if finding.location.file is not None:
            case.set("file", one_line(display_path(finding.location.file, options.cwd)))
            if finding.location.line:
                case.set("line", str(finding.location.line))
        details = "\n".join(
            one_line(line)
            for line in [
                show(finding.location),
                *(shown(item, show) for item in finding.evidence),
                *("fix: " + shown(f.description, show) for f in finding.fixes),
            ]
        )
        message = one_line(shown(finding.message, show))
        severity = finding.effective_severity.value
        if severity == "note":
            ET.SubElement(case, "system-out").text = f"{message}\n{details}"
            continue
        failures += 1
        failure = ET.SubElement(case, "failure", message=message, type=severity)
        failure.text = details
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    return suite


class JunitStream(Stream):
    """``<testsuites>`` with the run's totals, then one ``<testsuite>`` per build."""

    totals_first = True  # the root element carries the totals

    def head(self, totals: Totals, options: RenderOptions) -> str:
        root = ET.Element("testsuites", name="pmdoctor")
        root.set("tests", str(totals.count("tests")))
        root.set("failures", str(totals.count("failures")))
        if totals.failures:  # build directories that could not be checked
            root.set("errors", str(len(totals.failures)))
        if not totals.builds:
            return _DECLARATION + ET.tostring(root, encoding="unicode")
        root.text = _MARK
        return _DECLARATION + ET.tostring(root, encoding="unicode").split(_MARK)[0]

    def piece(self, analysis: Analysis, options: RenderOptions) -> Piece:
        suite = _suite(analysis, options)
        counts = {"tests": int(suite.get("tests", "0")), "failures": int(suite.get("failures", "0"))}
        return Piece(_placed(suite), counts, first_rule(analysis))

    def failed(self, failure: Failure, options: RenderOptions) -> Piece:
        where = one_line(display_path(failure.path, options.cwd) or ".")
        suite = ET.Element("testsuite", name=f"pmdoctor {where}", tests="1", failures="0", errors="1")
        case = ET.SubElement(suite, "testcase", classname=where, name="pmdoctor could not check this build")
        ET.SubElement(case, "error", message=one_line(failure.message), type="error")
        return Piece(_placed(suite), {"tests": 1}, failure=failure)

    def tail(self, totals: Totals, options: RenderOptions) -> str:
        return "\n</testsuites>\n" if totals.builds else "\n"


_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_MARK = "\ue000pmdoctor-suites\ue000"  # a private-use character: never in ET's escaped output


def _placed(suite: ET.Element) -> str:
    """A suite indented as ``ET.indent`` places it inside the root."""
    ET.indent(suite, level=1)
    return "\n  " + ET.tostring(suite, encoding="unicode")


STREAM = JunitStream()


def render(analyses: List[Analysis], options: RenderOptions) -> str:
    return whole(STREAM, analyses, options)
