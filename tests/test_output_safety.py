"""Hostile names and log lines in every report format: nothing a stranger's file holds may act.

Partition names, paths, Kconfig values and log lines come from forum
attachments. Each test puts one hostile string into every field of the model
that a reporter shows (names, paths, messages, evidence, fixes, notes, input
details, log lines, the build directory) and checks that the output keeps
exactly the structure the reporter writes for a plain name.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import unicodedata
import xml.dom.minidom
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List

import pytest

from conftest import BUILDS
from helpers import run_pmdoctor
from pmdoctor.api import Analysis
from pmdoctor.model import Build, Era, Image, InputFile, Layout, LayoutKind, Source, StaticFile
from pmdoctor.model.findings import Finding, Fix, Severity
from pmdoctor.model.symptoms import Symptom
from pmdoctor.report import RenderOptions, renderers
from pmdoctor.report._neutral import block_lines, md_code, md_fence, md_text, one_line

try:
    from markdown_it import MarkdownIt
except ImportError:  # optional: the renderer checks skip without it
    MarkdownIt = None

HOSTILE: Dict[str, str] = {
    "csi": "\x1b[31mred\x1b[0m",
    "osc8-link": "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "osc-title": "\x1b]0;title\x07",
    "cr": "ok\rERROR   PMD001 forged",
    "lf": "ok\nERROR   PMD001 forged",
    "crlf": "ok\r\nWARNING PMD002 forged",
    "nul": "a\x00b",
    "vt-ff": "a\x0bb\x0cc",
    "del": "a\x7fb",
    "c1-csi": "a\x9b31mb\x85c",
    "rlo": "abc\u202etxt.exe",
    "isolate": "a\u2066b\u2069c\u061cd\u200fe",
    "line-separator": "a\u2028ERROR   PMD001 forged\u2029",
    "backticks": "a``b`c```d",
    "fence": "```\n<script>alert(1)</script>\n```",
    "tilde-fence": "~~~ x",
    "script": "<script>alert(1)</script>",
    "js-link": "[x](javascript:alert(1))",
    "image": "![i](http://x.example/i.png)",
    "reference": "[app]: javascript:alert(1)",
    "entity": "&#x202e;&lt;b&gt;",
    "emphasis": "*a* _b_ **c** ~~d~~",
    "table": "| a | b |",
    "heading": "# heading",
    "list": "- item",
    "ordered": "1. item",
    "quote": "> quote",
    "rule": "---",
    "workflow": "::error::x",
    "percent": "%0A::warning::y%0D",
    "group": "::group::g",
    "surrogate": "a\ud800b",
    "backslash": "C:\\x\\*y\\",
}
HOSTILE["all"] = "".join(HOSTILE.values())

FORMATS = ["text", "json", "sarif", "markdown", "github", "junit"]
OPTIONS = RenderOptions(cwd=Path("/nonexistent"), command="pmdoctor", sarif_root=Path("/nonexistent"))
HIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")


def hidden_characters(text: str, allowed: str = "\n") -> List[str]:
    """Every control, format, surrogate or separator character in ``text`` (by Unicode category)."""
    return [c for c in text if c not in allowed and unicodedata.category(c) in HIDDEN_CATEGORIES]


def analyses(value: str) -> List[Analysis]:
    """A build and a triage, with ``value`` in every field a reporter shows ("" for plain names)."""
    root = Path("/nonexistent") / f"dir{value}"
    build_dir, source = root / "build", root / "app"
    app = Image(name=f"app{value}", build_dir=build_dir)
    mcuboot = Image(name=f"mcuboot{value}", build_dir=build_dir, role="mcuboot")
    partitions = build_dir / f"partitions{value}.yml"
    static = source / f"pm_static{value}.yml"
    build = Build(
        path=build_dir,
        era=Era.SYSBUILD,
        board=f"board{value}",
        soc=f"soc{value}",
        ncs_version=f"2.7.0{value}",
        source_dir=source,
        images=[app, mcuboot],
        layouts=[Layout(LayoutKind.GENERATED, partitions)],
        static_files=[StaticFile(static, None, None, f"found{value}")],
        notes=[f"note {value}", value or "plain"],
        wanted=[f"attach {value}"],
    )
    symptom = Symptom(
        "slot-unreachable",
        f"meaning {value}",
        f"  E: Failed to open flash area {value}  ",
        Source(root / f"console{value}.log", 5),
    )
    findings = [
        Finding(
            f"`mcuboot_secondary` and `{value}` overlap {value}",
            Source(partitions, 3),
            image=app.name,
            domain=f"CPUAPP{value}",
            evidence=[f"{value}: 0x0-0x1000", value or "plain"],
            fixes=[
                Fix(
                    f"move `{value}` {value}", static, f"{value}:\n  address: 0x0\n\tsize: 0x1000 # {value}\n"
                )
            ],
            rule="PMD101",
            name="partition-overlap",
            subject=("partitions", value),
            observed=(symptom,),
        ),
        Finding(f"{value} warned", Source(static), severity=Severity.WARNING, rule="PMD203", name="x"),
        Finding(value or "plain", image=mcuboot.name, severity=Severity.NOTE, rule="PMD204", name="y"),
    ]
    triage = Build(
        path=root / f"thread{value}",
        era=Era.CHILD_IMAGE,
        inputs=[
            InputFile(root / f"att{value}.yml", f"static layout{value}", f"detail {value}", f"img{value}"),
            InputFile(root / f"junk{value}.png", "", f"why {value}"),
        ],
        wanted=[value or "plain"],
    )
    triaged = [
        Finding(f"`{value}` {value}", Source(root / f"att{value}.yml", 1), rule="PMD101", name="z"),
    ]
    return [Analysis(build, findings), Analysis(triage, triaged)]


def render(fmt: str, value: str, **options) -> str:
    chosen = RenderOptions(**{**OPTIONS.__dict__, **options})
    return renderers()[fmt](analyses(value), chosen)


HOSTILE_IDS = list(HOSTILE)


# ------------------------------------------------------------------- text


def column_zero(text: str) -> List[str]:
    """The first word of every line that starts at column 0: the lines only the reporter writes."""
    return [line.split(" ")[0] for line in text.split("\n") if line and not line.startswith(" ")]


@pytest.mark.parametrize("key", HOSTILE_IDS)
def test_text_shows_hidden_characters_escaped_and_no_forged_line(key):
    value = HOSTILE[key]
    text = render("text", value)
    assert hidden_characters(text, allowed="\n\t") == []
    assert all(line.startswith(" " * 7) for line in text.split("\n") if "\t" in line)  # snippets only
    assert column_zero(text) == column_zero(render("text", ""))
    severity_lines = [line for line in text.split("\n") if re.match(r"(ERROR|WARNING|NOTE)\b", line)]
    assert len(severity_lines) == 4
    assert one_line(value) in text  # shown, escaped, not dropped


@pytest.mark.parametrize("key", ["csi", "osc-title", "all"])
def test_text_colour_codes_are_the_reporters_only(key):
    text = render("text", HOSTILE[key], color=True)
    without_colour = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert hidden_characters(without_colour, allowed="\n\t") == []
    assert without_colour == render("text", HOSTILE[key])


def test_text_snippet_keeps_its_lines_each_indented_and_neutral():
    value = HOSTILE["csi"] + HOSTILE["rlo"] + HOSTILE["surrogate"]
    text = render("text", value)
    snippet = block_lines(f"{value}:\n  address: 0x0\n\tsize: 0x1000 # {value}\n")
    assert len(snippet) == 3 and "\t" in snippet[2]
    for line in snippet:
        assert f"\n       {line}\n" in text


# ------------------------------------------------------------------ JUnit


@pytest.mark.parametrize("key", HOSTILE_IDS)
def test_junit_is_well_formed_xml(key):
    text = render("junit", HOSTILE[key])
    root = ET.fromstring(text)
    xml.dom.minidom.parseString(text.encode("utf-8"))  # expat: strict XML 1.0
    assert hidden_characters(text, allowed="\n") == []
    failures = [case for case in root.iter("testcase") if case.find("failure") is not None]
    assert len(failures) == 3
    assert one_line(HOSTILE[key]) in failures[0].find("failure").get("message")


# ----------------------------------------------------------------- GitHub


def commands(text: str) -> List[str]:
    return [re.match(r"::([a-z]+)", line).group(1) for line in text.split("\n")[:-1]]


@pytest.mark.parametrize("key", HOSTILE_IDS)
def test_github_has_exactly_the_lines_the_reporter_writes(key):
    text = render("github", HOSTILE[key])
    assert text.endswith("\n") and "\r" not in text
    assert commands(text) == commands(render("github", ""))
    assert commands(text) == ["group", "error", "warning", "notice", "endgroup", "group", "error", "endgroup"]
    assert hidden_characters(text) == []


def test_github_escapes_percent_and_the_group_title():
    text = render("github", HOSTILE["percent"] + HOSTILE["lf"])
    group = text.split("\n")[0]
    assert group.startswith("::group::pmdoctor ") and "%250A::warning::y%250D" in group
    assert "ok\\nERROR" in group  # a line break in a folder name is shown, never made


# --------------------------------------------------------------- markdown


def test_markdown_keeps_plain_names_as_written():
    plain = "`mcuboot_secondary` and mcuboot_secondary, A__B: size >= 0x1000, &mx25r64; pm_static*.yml"
    assert md_text(plain) == plain
    assert md_code("build/partitions.yml") == "`build/partitions.yml`"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<script>alert(1)</script>", "&lt;script>alert(1)&lt;/script>"),
        ("[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))"),
        ("![i](http://x)", "!\\[i\\](http://x)"),
        ("# heading", "\\# heading"),
        ("- item", "\\- item"),
        ("1. item", "1\\. item"),
        ("> quote", "&gt; quote"),
        ("*a* _b_", "\\*a* \\_b_"),
        ("&#x202e;", "&amp;#x202e;"),
        ("a\\*", "a\\\\\\*"),
        ("x `<b>` y", "x `<b>` y"),
    ],
)
def test_markdown_free_text_escapes_what_would_be_active(value, expected):
    assert md_text(value) == expected


def test_markdown_code_span_fence_outgrows_the_value():
    assert md_code("a``b") == "```a``b```"
    assert md_code("`x") == "`` `x ``"
    assert md_code("a|b", table=True) == "`a\\|b`"
    assert md_fence(["```", "````x"]) == "`````" and md_fence(["plain"]) == "```"


@pytest.mark.parametrize("key", HOSTILE_IDS)
def test_markdown_raw_text_has_no_hidden_characters(key):
    text = render("markdown", HOSTILE[key])
    assert hidden_characters(text, allowed="\n\t") == []  # tabs: in the snippet's code block
    assert text.count("\n### ") == 0 and text.startswith("### Flash layout diagnosis\n")


def markdown_html(text: str) -> str:
    if MarkdownIt is None:
        pytest.skip("markdown-it-py is not installed (pip install markdown-it-py)")
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)


TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>")
BLOCKS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "ul", "ol", "li", "blockquote", "pre", "hr"}
BLOCKS |= {"table", "thead", "tbody", "tr", "th", "td"}


def tags(html: str) -> List[str]:
    return [match.group(1) + match.group(2).lower() for match in TAG.finditer(html)]


@pytest.mark.parametrize("key", HOSTILE_IDS)
def test_markdown_renders_inert(key):
    """Through a real CommonMark renderer: the same blocks as for plain names, no link, image, HTML."""
    html = markdown_html(render("markdown", HOSTILE[key]))
    plain = markdown_html(render("markdown", ""))
    for forbidden in ("<script", "<a ", "<img", "<em>", "<del>", "<s>", "<h1", "<h2"):
        assert forbidden not in html
    assert not re.search(r"<[^>]*javascript:", html)
    assert [t for t in tags(html) if t.strip("/") in BLOCKS] == [
        t for t in tags(plain) if t.strip("/") in BLOCKS
    ]
    assert set(tags(html)) <= set(tags(plain))
    assert tags(html).count("strong") == tags(plain).count("strong")


def test_markdown_plain_names_render_without_backslashes():
    html = markdown_html(md_text("`mcuboot_secondary` is mcuboot_secondary; FinnWBiggs__x_y: pm_static*.yml"))
    assert "\\" not in html and "mcuboot_secondary is mcuboot_secondary;" in TAG.sub("", html)


# Free text made inert, checked exhaustively enough: random strings over the
# markdown-active characters, in the places the reporter puts free text.
ALPHABET = "ab1 _*~`[]()<>!&#;|\\-+.=:/é\u00a0°x"


def random_texts(count: int) -> List[str]:
    chooser = random.Random(20240609)
    return ["".join(chooser.choice(ALPHABET) for _ in range(chooser.randint(0, 14))) for _ in range(count)]


def test_markdown_free_text_forms_nothing_in_any_position():
    if MarkdownIt is None:
        pytest.skip("markdown-it-py is not installed (pip install markdown-it-py)")
    renderer = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    for value in random_texts(3000):
        for prefix, suffix in (("w ", " w"), ("- ", ""), ("[", "]"), ("x", "x")):
            html = renderer.render(prefix + md_text(value) + suffix)
            assert set(tags(html)) <= {"p", "/p", "code", "/code", "ul", "/ul", "li", "/li"}, (value, html)
        row = renderer.render(
            f"| a | b |\n|---|---|\n| {md_text(value, table=True)} | {md_code(value, True)} |\n"
        )
        assert tags(row).count("td") == 2, (value, row)


# ------------------------------------------------------------ JSON, SARIF


@pytest.mark.parametrize("key", HOSTILE_IDS)
def test_json_and_sarif_escape_and_keep_every_character(key):
    value = HOSTILE[key]
    for fmt in ("json", "sarif"):
        text = render(fmt, value)
        assert text.isascii()  # every control, bidi and lone surrogate as a \\u escape
        document = json.loads(text)
        if fmt == "json":
            assert document["builds"][0]["findings"][2]["message"] == (value or "plain")
        else:
            assert document["runs"][0]["results"][1]["message"]["text"] == f"{value} warned"


# ------------------------------------------------------------ the neutraliser


def test_one_line_escapes_every_hidden_character():
    hidden = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) in HIDDEN_CATEGORIES]
    hidden += ["\ufffe", "\uffff"]
    assert hidden_characters(one_line("".join(hidden)), allowed="") == []
    assert one_line("\x1b\r\n\t\u202e\ud800\x9b") == "\\x1b\\r\\n\\t\\u202e\\ud800\\x9b"
    assert one_line("mcuboot_secondary é 日本") == "mcuboot_secondary é 日本"


def test_block_lines_keep_line_breaks_and_tabs_only():
    assert block_lines("a\tb\r\nc\x1b\n") == ["a\tb\\r", "c\\x1b"]


# ---------------------------------------------------------------- end to end

HOSTILE_PARTITIONS = (
    # YAML double-quoted keys: escapes make the control characters
    '"evil\\e]0;title\\a\\e[31m\\r\\nERROR   PMD001 forged\\u202e`x`<script>alert(1)</script>":\n'
    "  address: 0x1000\n  end_address: 0x2000\n  region: flash_primary\n  size: 0x1000\n"
    '"[x](javascript:alert(1))\\0\\v\\f\\x7f\\x9b\\u2066 # h | a | ```~~~ ::error::x %0A":\n'
    "  address: 0x3000\n  end_address: 0x4000\n  region: flash_primary\n  size: 0x1000\n"
)
HOSTILE_LOG = (
    "I: Starting bootloader\n"
    "E: Protect mcuboot flash failed, cancel startup.\x1b]0;pwn\x07 `x` <script>alert(1)</script> "
    "\u202e [x](javascript:alert(1))\r\n"
)


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile") / "healthy"
    shutil.copytree(BUILDS / "cli" / "healthy", folder)
    with (folder / "build" / "partitions.yml").open("a", encoding="utf-8") as handle:
        handle.write(HOSTILE_PARTITIONS)
    (folder / "boot.log").write_bytes(HOSTILE_LOG.encode("utf-8"))
    return folder


@pytest.fixture(scope="module")
def hostile_reports(hostile_build) -> Dict[str, str]:
    reports = {}
    for fmt in FORMATS:
        result = run_pmdoctor(
            "-d", "build", "--log", "boot.log", "-f", fmt, "--color", "always", cwd=hostile_build
        )
        assert result.returncode == 1, result.stderr
        assert result.stderr == ""
        reports[fmt] = result.stdout
    return reports


def test_end_to_end_every_format_stays_inert(hostile_reports):
    """Through the real CLI: hostile partition names and a hostile log line, every format."""
    findings = json.loads(hostile_reports["json"])["builds"][0]["findings"]
    names = " ".join(f["message"] for f in findings)
    assert "\x1b]0;title" in names and "\u202e" in names  # the names did reach the findings

    text = re.sub(r"\x1b\[[0-9;]*m", "", hostile_reports["text"])  # --color always: ours only
    assert hidden_characters(text, allowed="\n\t") == []
    forged = [line for line in text.split("\n") if re.match(r"(ERROR|WARNING|NOTE)\b", line)]
    assert len(forged) == len(findings)
    assert "cancel startup.\\x1b]0;pwn\\x07 `x` <script>" in text  # the log line, quoted and escaped

    root = ET.fromstring(hostile_reports["junit"])
    xml.dom.minidom.parseString(hostile_reports["junit"].encode("utf-8"))
    assert int(root.get("failures")) == sum(f["severity"] != "note" for f in findings)

    github = hostile_reports["github"].split("\n")[:-1]
    assert [line.split(" ")[0].split("::")[1] for line in github] == (
        ["group"] + [{"note": "notice"}.get(f["severity"], f["severity"]) for f in findings] + ["endgroup"]
    )

    sarif = json.loads(hostile_reports["sarif"])
    assert len(sarif["runs"][0]["results"]) == len(findings)
    assert hostile_reports["sarif"].isascii() and hostile_reports["json"].isascii()


def test_end_to_end_markdown_renders_inert(hostile_reports):
    findings = json.loads(hostile_reports["json"])["builds"][0]["findings"]
    markdown = hostile_reports["markdown"]
    assert hidden_characters(markdown, allowed="\n\t") == []
    html = markdown_html(markdown)
    for forbidden in ("<script", "<a ", "<img", "<em>", "<h1", "<h2", "<h4"):
        assert forbidden not in html
    assert html.count("<h3>") == 1 and html.count("<ol>") == 1
    # every list item is one the reporter began a line with
    items = [line for line in markdown.split("\n") if re.match(r" *([0-9]+\.|-) ", line)]
    assert html.count("<li>") == len(items)
    assert len([line for line in items if re.match("[0-9]+\\. ", line)]) == len(findings)
