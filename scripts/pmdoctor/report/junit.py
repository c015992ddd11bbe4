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


def render(analyses: List[Analysis], options: RenderOptions) -> str:
    root = ET.Element("testsuites", name="pmdoctor")
    suites = [_suite(analysis, options) for analysis in analyses]
    root.extend(suites)
    root.set("tests", str(sum(int(s.get("tests", "0")) for s in suites)))
    root.set("failures", str(sum(int(s.get("failures", "0")) for s in suites)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
