"""``--format html``: one self-contained page, and nothing a stranger's file holds may act in it.

Partition names, paths and messages come from forum attachments. Each test
puts a hostile string into every field the page shows (partition and region
names, files, board, messages, evidence, fix snippets, notes) and parses the
page: no script element, no event-handler attribute, no style attribute, no
link that leaves the page, ids of pmdoctor's own making, one stylesheet that
is exactly pmdoctor's (its hash is the only style the CSP allows), and the
same elements as for a plain name.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from conftest import ROOT
from helpers import copy_tree, run_pmdoctor
from pmdoctor.analysis import Analysis
from pmdoctor.model import (
    Build,
    Era,
    Image,
    InputFile,
    Layout,
    LayoutKind,
    Partition,
    Region,
    Source,
    StaticFile,
)
from pmdoctor.model.findings import Finding, Fix, Severity, Text
from pmdoctor.report import RenderOptions, renderers
from pmdoctor.report import html as html_report

HOSTILE: Dict[str, str] = {
    "script": "<script>alert(1)</script>",
    "quotes": '"\' onmouseover="alert(1)" x=\'',
    "svg-close": "</svg></text><script>alert(2)</script>",
    "cdata": "]]><![CDATA[<script>alert(3)</script>]]>",
    "style-close": "</style><img src=x onerror=alert(4)>",
    "comment": "--><script>alert(5)</script><!--",
    "controls": "a\x1b[31mb\x00c\x07d\x0ce\u202ef\u2028g",
    "entity": "&lt;script&gt;&#x3c;",
    "url": "javascript:alert(6)",
    "title-close": "</title><script>alert(7)</script>",
}
HOSTILE["all"] = "".join(HOSTILE.values())

ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "main", "footer", "section", "h1", "h2",
    "h3", "h4", "p", "span", "div", "dl", "dt", "dd", "ul", "li", "code", "pre", "strong", "a", "figure",
    "figcaption", "table", "thead", "tbody", "tr", "th", "td", "article", "svg", "defs", "pattern", "rect",
    "line", "g", "text",
}  # fmt: skip
HIDDEN = ("Cc", "Cf", "Cs", "Zl", "Zp")


def hostile_analysis(value: str) -> Analysis:
    """A two-region build with ``value`` in every field the page shows ("" for plain names)."""
    root = Path("/nonexistent") / f"dir{value}"
    partitions = root / "build" / f"partitions{value}.yml"
    layout = Layout(LayoutKind.GENERATED, partitions)
    layout.regions = {
        "flash_primary": Region("flash_primary", 0, 0x100000, origin=f"regions{value}.yml"),
        f"ext{value}": Region(f"ext{value}", 0, 0x800000, origin=f"devicetree {value}"),
    }
    parts = [
        Partition("mcuboot", 0, 0xC000, source=Source(partitions, 1)),
        Partition(f"app{value}", 0xC000, 0x70000, source=Source(partitions, 6)),
        Partition(f"box{value}", 0x7C000, 0x80000, span=(f"store{value}",), source=Source(partitions, 11)),
        Partition(f"store{value}", 0x7C000, 0x80000, source=Source(partitions, 17)),
        Partition(f"slot{value}", 0, 0x70000, region=f"ext{value}", source=Source(partitions, 22)),
    ]
    layout.partitions = {p.name: p for p in parts}
    build = Build(
        path=root / "build",
        era=Era.SYSBUILD,
        board=f"board{value}",
        soc=f"soc{value}",
        ncs_version=f"2.7.0{value}",
        images=[Image(f"app{value}", root / "build")],
        layouts=[layout],
        static_files=[StaticFile(root / f"pm_static{value}.yml", None, None, f"found {value}")],
        notes=[f"note {value}"],
        inputs=[InputFile(root / f"att{value}.yml", f"static layout{value}", f"detail {value}", value)],
        wanted=[f"attach {value}"],
    )
    findings = [
        Finding(
            f"`app{value}` overlaps {value}",
            Source(partitions, 6),
            image=f"app{value}",
            evidence=[
                f"app{value}: 0xc000-0x7c000 ({partitions.name}:6)",
                value or "plain",
                Text(f"cited{value} (", Source(root / f"cited{value}.yml", 3), ")"),
            ],
            fixes=[Fix(f"move `{value}`", root / f"fix{value}.yml", f"{value}:\n  address: 0x0 # {value}\n")],
            rule="PMD101",
            name="partition-overlap",
            subject=("partitions", f"app{value}", f"slot{value}"),
        ),
        Finding(
            f"{value} warned",
            Source(None),
            domain=f"D{value}",  # no layout of that domain: not on the map, with or without the value
            severity=Severity.WARNING,
            rule="PMD203",
            name=f"w{value}",
        ),
    ]
    return Analysis(build, findings)


def render(value: str) -> str:
    options = RenderOptions(cwd=Path("/nonexistent"), command="pmdoctor")
    return renderers()["html"]([hostile_analysis(value)], options)


class Page(HTMLParser):
    """Every element with its attributes, in order, and the text of style and script elements."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.elements: List[Tuple[str, Dict[str, Optional[str]]]] = []
        self.raw_text: Dict[str, List[str]] = {"style": [], "script": []}
        self._open: Optional[str] = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._open = tag if tag in self.raw_text else None

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        if self._open in self.raw_text:
            self.raw_text[self._open].append(data)

    def handle_endtag(self, tag):
        self._open = None

    def tags(self, without_text: bool = False) -> List[str]:
        return [tag for tag, _ in self.elements if not (without_text and tag == "text")]


def assert_inert(text: str) -> Page:
    page = Page(text)
    assert "script" not in page.tags() and page.raw_text["script"] == []
    assert set(page.tags()) <= ALLOWED_TAGS, set(page.tags()) - ALLOWED_TAGS
    ids = {attrs["id"] for _, attrs in page.elements if "id" in attrs}
    assert all(re.fullmatch(r"[a-z0-9-]+", i) for i in ids), ids
    for tag, attrs in page.elements:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert "style" not in attrs, (tag, attrs)
        if "href" in attrs:
            assert attrs["href"].startswith("#") and attrs["href"][1:] in ids, attrs
        for name in ("src", "xlink:href", "action", "formaction"):
            assert name not in attrs, (tag, attrs)
    assert page.raw_text["style"] == [html_report._STYLE]
    digest = base64.b64encode(hashlib.sha256(html_report._STYLE.encode()).digest()).decode()
    policies = [a["content"] for t, a in page.elements if t == "meta" and a.get("http-equiv")]
    assert policies == [html_report._csp(html_report._STYLE)]
    assert f"style-src 'sha256-{digest}'" in policies[0] and "default-src 'none'" in policies[0]
    assert "script-src 'none'" in policies[0]
    hidden = [c for c in text if c != "\n" and unicodedata.category(c) in HIDDEN]
    assert hidden == []
    return page


def test_plain_page_is_well_formed_and_self_contained():
    text = render("")
    page = assert_inert(text)
    assert text.startswith('<!DOCTYPE html>\n<html lang="en">')
    maps = [attrs for tag, attrs in page.elements if tag == "svg" and attrs.get("class") == "map"]
    assert len(maps) == 2  # one per region
    assert "http" not in text.replace("http-equiv", "")  # nothing to load, no link out


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_values_stay_inert(name):
    value = HOSTILE[name]
    text = render(value)
    page = assert_inert(text)
    # Same structure as for plain names (labels that do not fit are left out: text elements differ).
    assert page.tags(without_text=True) == Page(render("")).tags(without_text=True)
    assert "<script>alert" not in text and "<img" not in text and "<svg onload" not in text
    if name == "script":
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_hostile_partition_names_from_a_real_file(tmp_path):
    """A pm_static.yml with hostile names, triaged, rendered by the real command line."""
    names = ["<script>alert(1)</script>", '"><svg onload=alert(2)>', "]]></svg>", "a\\x1bb"]
    lines = ["app:", "  address: 0x10000", "  size: 0x1000", "  region: flash_primary"]
    address = 0
    for name in names:
        lines += [f"'{name}':", f"  address: {hex(address)}", "  size: 0x1000", "  region: flash_primary"]
        address += 0x1000
    static = tmp_path / "pm_static.yml"
    static.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "report.html"
    proc = run_pmdoctor("triage", str(static), "--format", "html", "-o", str(out), cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    text = out.read_text(encoding="utf-8")
    assert_inert(text)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&quot;&gt;&lt;svg onload=alert(2)&gt;" in text


def test_inputs_and_fixes_are_on_the_page():
    proc = run_pmdoctor("-d", "examples/pinnacle100-qspi-secondary/build", "--format", "html", cwd=ROOT)
    assert proc.returncode == 1
    text = proc.stdout
    assert_inert(text)
    for fact in ("child-image", "pinnacle_100_dvk", "nrf52840", "NCS 2.4.0", "build/partitions.yml"):
        assert fact in text
    assert "CONFIG_NORDIC_QSPI_NOR=y" in text  # a fix's snippet
    assert "checked: the rules pass on the edited model" in text  # what the fix checker said
    assert text.count('<article class="finding') == 3
    assert re.search(r'<tr class="partition sev-error">.*?mcuboot_secondary</td>', text)


def test_file_references_are_shown_relative_to_where_pmdoctor_runs(tmp_path):
    """Evidence keeps its files as references (Text): the page shows them as the text report does."""
    app = copy_tree(ROOT / "examples" / "pinnacle100-qspi-secondary", tmp_path / "work" / "pinnacle")
    proc = run_pmdoctor("-d", "build", "--format", "html", cwd=app)
    assert proc.returncode == 1, proc.stderr
    assert_inert(proc.stdout)
    assert "is not set (build/zephyr/.config:70)" in proc.stdout
    assert str(tmp_path) not in proc.stdout.split("<h3>Findings", 1)[1]
