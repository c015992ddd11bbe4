"""``--format html``: one self-contained page: the layout of every region to scale, the findings, the inputs.

The file has no script, loads nothing (a Content-Security-Policy forbids
both), and reads the same in any browser offline: it is meant to be attached
to a ticket or a forum reply. Each region is an SVG drawn to scale, one lane
per nesting level; each partition is a focusable group whose ``<title>``
gives its details on hover, and whose focus or hover shows them on the map's
status line (CSS only). A table under each map lists the same rows with
exact addresses; findings follow with their evidence and fixes.

Everything taken from the user's files (names, paths, messages, snippets)
goes through :func:`_text` (neutralised, then ``html.escape`` with quotes)
and lands only in text or in quoted attribute values; no user text is ever
placed in ``<style>``, in an ``id``, a ``class`` or a URL.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from typing import Dict, Iterable, List, Optional, Tuple

from .. import __version__
from ..analysis import Analysis
from ..model import Build
from ..model.findings import Finding, Severity, shown
from . import RenderOptions
from ._edits import note_lines, other_files
from ._map_model import (
    BuildMap,
    LayoutMap,
    RegionMap,
    Row,
    RowKind,
    build_map,
    by_severity,
    human_size,
    layout_title,
    percent_text,
    region_extent_text,
)
from ._neutral import block_lines, one_line
from .paths import display_path, relative_shower
from .text import summary_line

VIEW_WIDTH = 1000  # SVG user units across a region
LANE = 30  # height of one nesting level
LANE_GAP = 6
AXIS = 34  # room under the lanes for the address axis
STATUS = 22  # the status line the focused partition's details appear on
MIN_RECT = 3.0  # the narrowest a partition is drawn, so that a 512-byte pad stays visible
CHAR = 6.6  # width of one label character at the map's font size (monospace)
AXIS_CHAR = 6.1  # width of one axis label character (10px monospace)

_CATEGORIES: Tuple[Tuple[str, str], ...] = (
    ("boot", r"(mcuboot|b0n?|s[01]|s[01]_pad|s[01]_image|provision|boot_partition|mcuboot_pad|.*_container)"),
    ("secondary", r"(mcuboot_secondary(_[0-9]+)?|slot[13579]_partition|.*secondary.*)"),
    ("secure", r"(tfm.*|spm.*|.*_secure|sram_secure|slot[0-9]_s_partition|tfm_its|tfm_ps|tfm_otp.*)"),
    ("storage", r"(.*storage.*|nvs.*|littlefs.*|lfs.*|.*_fs|settings.*|tfm_.*storage)"),
    ("scratch", r"(.*scratch.*)"),
    ("shared", r"(pcd_sram|rpmsg.*|.*_sram|nrf_modem_lib.*|otp|.*ipc.*_sram|.*shared.*)"),
    (
        "app",
        r"(app|mcuboot_primary.*|slot[02468]_partition|.*nonsecure.*|ipc_radio|hci_.*|image-[0-9]+|.*_app)",
    ),
)

_STYLE = """
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6676; --line: #d5dbe3; --paper: #ffffff;
  --canvas: #f4f6f9; --error: #c62828; --warning: #b26a00; --note: #1565c0; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--canvas); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
code, pre, .mono, td.num { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono",
  monospace; font-size: 12.5px; }
header.page { background: #1f2a37; color: #f5f7fa; padding: 18px 32px; }
header.page h1 { margin: 0; font-size: 20px; font-weight: 600; letter-spacing: .2px; }
header.page p { margin: 4px 0 0; color: #c3ccd8; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 40px; }
section.build { background: var(--paper); border: 1px solid var(--line); border-radius: 8px;
  padding: 18px 22px; margin-bottom: 28px; }
h2 { font-size: 18px; margin: 0 0 10px; word-break: break-all; }
h3 { font-size: 15px; margin: 26px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-word; }
ul.plain { margin: 0; padding-left: 18px; }
.counts { display: flex; gap: 8px; flex-wrap: wrap; margin: 12px 0 4px; }
.pill { display: inline-block; border-radius: 999px; padding: 1px 10px; font-size: 12px; font-weight: 600;
  border: 1px solid currentColor; white-space: nowrap; }
.pill.error { color: var(--error); } .pill.warning { color: var(--warning); }
.pill.note { color: var(--note); }
.pill.ok { color: #2e7d32; }
figure.region { margin: 14px 0 22px; }
figcaption { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; margin-bottom: 6px; }
figcaption .name { font-weight: 600; font-size: 15px; }
figcaption .extent { color: var(--muted); }
.gauge { display: inline-block; width: 120px; height: 8px; background: #e3e8ee; border-radius: 4px;
  overflow: hidden; vertical-align: middle; }
.gauge svg { display: block; width: 120px; height: 8px; }
.gauge rect { fill: #51677f; }
svg.map { width: 100%; height: auto; display: block; background: #fbfcfd; border: 1px solid var(--line);
  border-radius: 6px; }
svg.map text { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 11px;
  fill: #102030; pointer-events: none; }
svg.map .axis line { stroke: #9aa6b2; stroke-width: 1; }
svg.map .axis text { fill: var(--muted); font-size: 10px; }
svg.map .frame { fill: none; stroke: #aab4bf; stroke-width: 1; }
.part { cursor: default; outline: none; }
.part rect.body { stroke: #33414f; stroke-width: .6; }
.part:hover rect.body, .part:focus rect.body { stroke: #000; stroke-width: 2.2; }
.part .detail { visibility: hidden; }
.part:hover .detail, .part:focus .detail { visibility: visible; }
svg.map:hover .hint, svg.map:focus-within .hint { visibility: hidden; }
.hint, .detail { fill: var(--muted); }
.part .detail { fill: var(--ink); font-weight: 600; }
.k-boot rect.body { fill: #b9a7e0; } .k-app rect.body { fill: #8fb8e8; }
.k-secondary rect.body { fill: #8fd1c1; } .k-storage rect.body { fill: #e8cf8f; }
.k-secure rect.body { fill: #e7a98a; } .k-shared rect.body { fill: #c3cbd5; }
.k-scratch rect.body { fill: #d7b2cf; } .k-other rect.body { fill: #b8c4cf; }
.k-container rect.body { fill: #eef2f6; stroke-dasharray: 4 2; }
.k-free rect.body, .k-gap rect.body { fill: url(#pmd-hatch); stroke: #c2cad3; }
.k-gap rect.body { stroke-dasharray: 2 2; }
.flag { stroke: none; }
.sev-error .flag { fill: var(--error); } .sev-warning .flag { fill: var(--warning); }
.sev-note .flag { fill: var(--note); }
.sev-error rect.body { stroke: var(--error); stroke-width: 1.6; }
.sev-warning rect.body { stroke: var(--warning); stroke-width: 1.6; }
table.rows { border-collapse: collapse; width: 100%; margin-top: 8px; }
table.rows th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px;
  border-bottom: 1px solid var(--line); padding: 4px 8px; }
table.rows td { padding: 3px 8px; border-bottom: 1px solid #edf0f3; vertical-align: top; }
table.rows tr.gap td, table.rows tr.free td { color: var(--muted); }
table.rows tr.sev-error td.pname { color: var(--error); font-weight: 600; }
table.rows tr.sev-warning td.pname { color: var(--warning); font-weight: 600; }
td.num { white-space: nowrap; text-align: right; width: 1%; }
td.marks { white-space: nowrap; }
th.wide { width: 60%; }
td.pname { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
.d1 { padding-left: 26px !important; } .d2 { padding-left: 44px !important; }
.d3 { padding-left: 62px !important; } .d4 { padding-left: 80px !important; }
.d5 { padding-left: 98px !important; } .d6 { padding-left: 116px !important; }
.notes { color: var(--muted); margin: 6px 0 0; }
.legend { display: flex; gap: 14px; flex-wrap: wrap; color: var(--muted); font-size: 12px; margin: 6px 0 0; }
.legend svg { width: 14px; height: 10px; vertical-align: -1px; margin-right: 4px; }
.swatch { stroke: #33414f; stroke-width: .6; }
.swatch.k-boot { fill: #b9a7e0; } .swatch.k-app { fill: #8fb8e8; } .swatch.k-secondary { fill: #8fd1c1; }
.swatch.k-storage { fill: #e8cf8f; } .swatch.k-secure { fill: #e7a98a; } .swatch.k-shared { fill: #c3cbd5; }
.swatch.k-free { fill: url(#pmd-hatch); } .swatch.k-container { fill: #eef2f6; stroke-dasharray: 3 1; }
article.finding { border: 1px solid var(--line); border-left: 5px solid var(--muted); border-radius: 6px;
  padding: 10px 14px; margin: 10px 0; background: #fff; }
article.finding.error { border-left-color: var(--error); }
article.finding.warning { border-left-color: var(--warning); }
article.finding.note { border-left-color: var(--note); }
article.finding:target { box-shadow: 0 0 0 3px #90caf9; }
article.finding h4 { margin: 0 0 6px; font-size: 14px; display: flex; gap: 8px; align-items: baseline;
  flex-wrap: wrap; }
article.finding .rule { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
article.finding .scope, article.finding .where { color: var(--muted); font-weight: 400; }
article.finding p { margin: 4px 0; }
article.finding ul { margin: 4px 0; padding-left: 20px; color: #374151; }
.fix { background: #f3f8f3; border: 1px solid #d6e6d6; border-radius: 5px; padding: 6px 10px;
  margin: 8px 0 2px; }
.fix pre { margin: 6px 0 0; background: #fff; border: 1px solid #e1e7e1; border-radius: 4px; padding: 6px 8px;
  overflow-x: auto; white-space: pre; }
a { color: #1f5fae; }
a.badge { text-decoration: none; margin-right: 4px; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 0 0 24px; }
@media print { body { background: #fff; } section.build { border: none; } header.page { color: #000;
  background: none; } }
"""

_DEFS = (
    '<svg class="defs" width="0" height="0" aria-hidden="true" focusable="false">'
    '<defs><pattern id="pmd-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f3f5f7"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#c9d0d8" stroke-width="2"/></pattern></defs></svg>'
)


def _text(value: object) -> str:
    """A user value for HTML text or a quoted attribute: hidden characters shown, markup escaped."""
    return html.escape(one_line(value), quote=True)


def _words(value: str, options: RenderOptions) -> str:
    """A message, evidence line, fix or note with its file references relative to the cwd (as text)."""
    return shown(value, relative_shower(options.cwd))


def _csp(style: str) -> str:
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; script-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def render(analyses: List[Analysis], options: RenderOptions) -> str:
    totals = {s.value: 0 for s in Severity}
    for analysis in analyses:
        for key, value in analysis.summary.items():
            totals[key] += value
    title = "flash layout" + (
        f" of {display_path(analyses[0].build.path, options.cwd) or '.'}" if len(analyses) == 1 else ""
    )
    body: List[str] = []
    for index, analysis in enumerate(analyses):
        body += _build(index, analysis, options)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_csp(_STYLE)}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="referrer" content="no-referrer">',
            f'<meta name="generator" content="pmdoctor {_text(__version__)}">',
            f"<title>pmdoctor — {_text(title)}</title>",
            f"<style>{_STYLE}</style>",
            "</head>",
            "<body>",
            _DEFS,
            '<header class="page">',
            f"<h1>pmdoctor — {_text(title)}</h1>",
            f"<p>{_text(summary_line(totals))} · pmdoctor {_text(__version__)}</p>",
            "</header>",
            "<main>",
            *body,
            "</main>",
            "<footer>Made by pmdoctor from the files listed above. This page runs no script and loads"
            " nothing.</footer>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _build(index: int, analysis: Analysis, options: RenderOptions) -> List[str]:
    build = analysis.build
    drawn = build_map(build, analysis.findings)
    anchors = {id(f): f"f{index}-{n}" for n, f in enumerate(analysis.findings, start=1)}
    where = display_path(build.path, options.cwd) or "."
    out = [f'<section class="build" aria-labelledby="b{index}">', f'<h2 id="b{index}">{_text(where)}</h2>']
    out += _counts(analysis)
    out += _facts(build, options)
    out.append("<h3>Layout</h3>")
    if not drawn.layouts:
        out.append("<p>No layout to draw: no partitions file, static file or devicetree partitions.</p>")
    else:
        out.append(_legend())
    for number, layout in enumerate(drawn.layouts):
        out += _layout(f"{index}-{number}", layout, anchors, options)
    out += _findings(analysis.findings, drawn, anchors, options)
    if build.wanted:
        out += ["<h3>Please attach next</h3>", '<ul class="plain">']
        out += [f"<li>{_text(_words(item, options))}</li>" for item in build.wanted]
        out.append("</ul>")
    out.append("</section>")
    return out


def _counts(analysis: Analysis) -> List[str]:
    pills = [
        f'<span class="pill {severity}">{count} {severity}{"s" if count != 1 else ""}</span>'
        for severity, count in analysis.summary.items()
        if count
    ]
    return ['<div class="counts">', *(pills or ['<span class="pill ok">no findings</span>']), "</div>"]


_FACT_NAMES = {"soc": "SoC", "board": "board"}


def _facts(build: Build, options: RenderOptions) -> List[str]:
    """The inputs: what the text report's header says, one fact a line."""
    target = build.board or "unknown"
    facts: List[Tuple[str, str]] = [("era", _text(build.era.value)), ("board", _text(target))]
    if build.soc:
        facts.append(("SoC", _text(build.soc)))
    for name, fact in build.inferred.items():
        inferred = f"{fact.value} — {_words(fact.evidence, options)} ({fact.confidence.value})"
        facts.append((f"{_FACT_NAMES.get(name, _text(name))} inferred", _text(inferred)))
    versions = [f"NCS {build.ncs_version}"] if build.ncs_version else []
    versions += [f"Zephyr {build.zephyr_version}"] if build.zephyr_version else []
    if versions:
        facts.append(("versions", _text(" · ".join(versions))))
    images = []
    for image in build.images:
        about = [image.role.value] if image.role.value != image.name else []
        about += [image.domain] if image.domain else []
        images.append(image.name + (f" ({', '.join(about)})" if about else ""))
    facts.append(("images", _text(", ".join(images) or "none found")))
    files = [f for f in (layout.file for layout in build.layouts) if f is not None]
    if files:
        facts.append(("Partition Manager", _list(display_path(f, options.cwd) for f in files)))
    elif not build.inputs:
        words = (
            "enabled; no partitions.yml in the build" if build.partition_manager else "not used: devicetree"
        )
        facts.append(("Partition Manager", _text(words)))
    for static in build.static_files:
        shown = f"{display_path(static.path, options.cwd)} ({static.how_found})"
        facts.append(("static layout", _text(shown)))
    if build.inputs:
        lines = []
        for item in build.inputs:
            name = display_path(item.path, options.cwd)
            if item.used:
                image = f" of {item.image}" if item.image else ""
                detail = f" ({item.detail})" if item.detail else ""
                lines.append(f"read {name} as {item.taken_as}{image}{detail}")
            else:
                lines.append(f"not used: {name} — {item.detail}")
        facts.append(("files", _list(lines)))
    if build.notes:
        facts.append(("notes", _list(_words(note, options) for note in build.notes)))
    out = ['<dl class="facts">']
    out += [f"<dt>{term}</dt><dd>{value}</dd>" for term, value in facts]
    out.append("</dl>")
    return out


def _list(items: Iterable[object]) -> str:
    return '<ul class="plain">' + "".join(f"<li>{_text(item)}</li>" for item in items) + "</ul>"


def _legend() -> str:
    kinds = [
        ("boot", "bootloader"),
        ("app", "application / primary slot"),
        ("secondary", "secondary slot"),
        ("secure", "secure firmware"),
        ("storage", "storage"),
        ("shared", "RAM / shared"),
        ("container", "container (spans the rows under it)"),
        ("free", "free space"),
    ]
    items = [
        f'<span><svg viewBox="0 0 14 10" aria-hidden="true"><rect class="swatch k-{kind}" x="0.5" y="0.5" '
        f'width="13" height="9"/></svg>{label}</span>'
        for kind, label in kinds
    ]
    return '<p class="legend">' + "".join(items) + "</p>"


def _layout(key: str, layout: LayoutMap, anchors: Dict[int, str], options: RenderOptions) -> List[str]:
    what, where = layout_title(layout, options)
    out = [f"<h3>{_text(what)} <code>{_text(where)}</code></h3>"]
    for number, region in enumerate(layout.regions):
        out += _region(f"{key}-{number}", region, anchors)
    return out


def _region(key: str, region: RegionMap, anchors: Dict[int, str]) -> List[str]:
    caption = [f'<span class="name mono">{_text(region.name)}</span>']
    caption.append(f'<span class="extent">{_text(region_extent_text(region))}</span>')
    if region.percent is not None:
        width = min(max(region.percent, 0.0), 100.0) * 1.2
        caption.append(
            f'<span class="gauge" title="{_text(percent_text(region))} allocated"><svg viewBox="0 0 120 8" '
            f'aria-hidden="true"><rect x="0" y="0" width="{width:.1f}" height="8"/></svg></span>'
        )
    if region.origin:
        caption.append(f'<span class="extent">from {_text(region.origin)}</span>')
    caption += [_badges(region.findings, anchors)] if region.findings else []
    out = ['<figure class="region">', "<figcaption>" + "".join(caption) + "</figcaption>"]
    if not region.rows:
        out += ['<p class="notes">No partitions.</p>', "</figure>"]
        return out
    out.append(_svg(key, region))
    out += _table(region, anchors)
    if region.notes:
        out.append('<ul class="notes">' + "".join(f"<li>{_text(n)}</li>" for n in region.notes) + "</ul>")
    out.append("</figure>")
    return out


def _badges(findings: List[Finding], anchors: Dict[int, str]) -> str:
    return "".join(
        f'<a class="badge pill {f.effective_severity.value}" href="#{anchors[id(f)]}">{_text(f.rule)}</a>'
        for f in by_severity(findings)
        if id(f) in anchors
    )


def _category(row: Row) -> str:
    if row.kind == RowKind.GAP:
        return "gap"
    if row.kind == RowKind.FREE:
        return "free"
    if row.kind == RowKind.CONTAINER:
        return "container"
    name = row.partition.dt_label if row.partition is not None and row.partition.dt_label else row.name
    for category, pattern in _CATEGORIES:
        if re.fullmatch(pattern, name):
            return category
    return "other"


def _svg(key: str, region: RegionMap) -> str:
    extent = region.extent
    drawable = [r for r in region.rows if r.start is not None and r.end is not None]
    if extent is None or not drawable:
        return '<p class="notes">Nothing to draw to scale: no partition has an address and size.</p>'
    low, high = extent
    depth = max(r.depth for r in drawable) + 1
    lanes_height = depth * (LANE + LANE_GAP)
    height = 8 + lanes_height + AXIS + STATUS

    def x_of(address: int) -> float:
        clamped = min(max(address, low), high)
        return 4 + (clamped - low) * (VIEW_WIDTH - 8) / (high - low)

    label = f"{one_line(region.name)}: map of {len(drawable)} rows"
    parts = [
        f'<svg class="map" viewBox="0 0 {VIEW_WIDTH} {height}" role="group" '
        f'aria-label="{html.escape(label, quote=True)}">',
        f'<rect class="frame" x="{x_of(low):.1f}" y="4" width="{x_of(high) - x_of(low):.1f}" '
        f'height="{lanes_height + 4}"/>',
    ]
    status_y = height - 7
    # Wide rows first, so that a small partition in the same lane (mcuboot_pad) is drawn over them.
    for row in sorted(drawable, key=lambda r: (r.depth, -(r.size or 0))):
        parts.append(_svg_row(row, x_of, status_y))
    parts.append(_axis(region, drawable, x_of, 8 + lanes_height))
    parts.append(
        f'<text class="hint" x="4" y="{status_y}">Hover over or tab to a partition for its details.</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _svg_row(row: Row, x_of, status_y: int) -> str:
    y = 8 + row.depth * (LANE + LANE_GAP)
    x0, x1 = x_of(row.start), x_of(row.end)
    width = max(x1 - x0, MIN_RECT)
    classes = f"part k-{_category(row)}"
    severity = row.worst
    if severity is not None:
        classes += f" sev-{severity.value}"
    name = "free space" if row.kind == RowKind.GAP else one_line(row.name)
    details = f"{name} · 0x{row.start:x}–0x{row.end:x} · {human_size(row.size or 0)}"
    rules = " ".join(dict.fromkeys(one_line(f.rule) for f in by_severity(row.findings)))
    if rules:
        details += f" · {rules}"
    if row.outside:
        details += " · outside the region"
    title = details + "".join(
        f"\n{f.effective_severity.value} {one_line(f.rule)} {one_line(f.name)}: {one_line(f.message)}"
        for f in by_severity(row.findings)
    )
    out = [
        f'<g class="{classes}" tabindex="0" aria-label="{html.escape(details, quote=True)}">',
        f"<title>{html.escape(title)}</title>",
        f'<rect class="body" x="{x0:.1f}" y="{y}" width="{width:.1f}" height="{LANE}" rx="2"/>',
    ]
    if severity is not None:
        out.append(f'<rect class="flag" x="{x0:.1f}" y="{y}" width="{width:.1f}" height="5" rx="1"/>')
    text = _fit_label(name if row.kind != RowKind.GAP else "free", width)
    if text:
        out.append(f'<text x="{x0 + 5:.1f}" y="{y + LANE / 2 + 6:.1f}">{html.escape(text)}</text>')
    out.append(f'<text class="detail" x="4" y="{status_y}">{html.escape(details)}</text>')
    out.append("</g>")
    return "".join(out)


def _fit_label(name: str, width: float) -> str:
    """The label that fits in ``width`` units: the name, cut with an ellipsis, or nothing."""
    room = int((width - 8) // CHAR)
    if room >= len(name):
        return name
    return name[: room - 1] + "…" if room >= 4 else ""


def _axis(region: RegionMap, rows: List[Row], x_of, y: int) -> str:
    """Tick marks at every top-level boundary; labels where they do not crowd each other."""
    extent = region.extent
    assert extent is not None
    low, high = extent
    marks = sorted(
        {low, high, *(r.start for r in rows if r.depth == 0), *(r.end for r in rows if r.depth == 0)}
    )
    digits = max(len(f"{v:x}") for v in marks)
    out = ['<g class="axis" aria-hidden="true">']
    labelled = []
    for address in marks:
        x = x_of(address)
        out.append(f'<line x1="{x:.1f}" y1="{y - 2}" x2="{x:.1f}" y2="{y + 5}"/>')
        labelled.append((x, address))
    right_edge: Optional[float] = None  # where the last label drawn ends
    for x, address in labelled:
        text = f"0x{address:0{digits}x}"
        width = len(text) * AXIS_CHAR
        anchor = "end" if address == high else ("start" if address == low else "middle")
        left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
        if address != high and right_edge is not None and left < right_edge + 8:
            continue
        if address not in (low, high) and left + width > x_of(high) - len(text) * AXIS_CHAR - 8:
            continue  # would run into the end label
        out.append(f'<text x="{x:.1f}" y="{y + 17}" text-anchor="{anchor}">{text}</text>')
        right_edge = left + width
    out.append("</g>")
    return "".join(out)


def _table(region: RegionMap, anchors: Dict[int, str]) -> List[str]:
    digits = max([len(f"{v:x}") for r in region.rows for v in (r.start, r.end) if v is not None] + [1])

    def hexa(value: Optional[int]) -> str:
        return "?" if value is None else f"0x{value:0{digits}x}"

    out = [
        '<table class="rows"><thead><tr><th>start</th><th>end</th><th colspan="2">size</th>'
        '<th class="wide">partition</th><th>findings</th></tr></thead><tbody>'
    ]
    for row in region.rows:
        classes = [row.kind]
        if row.worst is not None:
            classes.append(f"sev-{row.worst.value}")
        size = row.size
        name = "(free)" if row.kind == RowKind.GAP else one_line(row.name)
        if row.kind == RowKind.FREE:
            name += " (free)"
        elif row.kind == RowKind.UNPLACED:
            name += " (no address)"
        if row.outside:
            name += " (outside the region)"
        out.append(
            f'<tr class="{" ".join(classes)}"><td class="num">{hexa(row.start)}</td>'
            f'<td class="num">{hexa(row.end)}</td>'
            f'<td class="num">{"?" if size is None else f"0x{size:x}"}</td>'
            f'<td class="num">{"" if size is None else html.escape(human_size(size))}</td>'
            f'<td class="pname d{min(row.depth, 6)}">{html.escape(name)}</td>'
            f'<td class="marks">{_badges(row.findings, anchors)}</td></tr>'
        )
    out.append("</tbody></table>")
    return out


def _findings(
    findings: List[Finding], drawn: BuildMap, anchors: Dict[int, str], options: RenderOptions
) -> List[str]:
    out = [f"<h3>Findings ({len(findings)})</h3>"]
    if not findings:
        return [*out, "<p>No findings.</p>"]
    for finding in findings:
        out += _finding(finding, drawn, anchors[id(finding)], options)
    return out


def _finding(finding: Finding, drawn: BuildMap, anchor: str, options: RenderOptions) -> List[str]:
    severity = finding.effective_severity.value
    scope = "/".join(one_line(x) for x in (finding.domain, finding.image) if x)
    head = [
        f'<span class="pill {severity}">{severity}</span>',
        f'<span class="rule">{_text(finding.rule)}</span>',
        f"<span>{_text(finding.name)}</span>",
    ]
    if scope:
        head.append(f'<span class="scope">[{html.escape(scope)}]</span>')
    out = [f'<article class="finding {severity}" id="{anchor}">', "<h4>" + "".join(head) + "</h4>"]
    out.append(f"<p>{_text(_words(finding.message, options))}</p>")
    if finding.location.file is not None:
        at = display_path(finding.location.file, options.cwd)
        at += f":{finding.location.line}" if finding.location.line else ""
        out.append(f'<p class="where">at <code>{_text(at)}</code></p>')
    where = drawn.where(finding)
    if where:
        out.append(f'<p class="where">on the map: {_text(", ".join(where))}</p>')
    show = relative_shower(options.cwd)
    items = [f"seen {show(s.source)}: {s.text.strip()} — {s.meaning}" for s in finding.observed]
    items += [_words(item, options) for item in finding.evidence]
    if items:
        out.append("<ul>" + "".join(f"<li>{_text(item)}</li>" for item in items) + "</ul>")
    for fix in finding.fixes:
        target = f" <code>{_text(display_path(fix.file, options.cwd))}</code>" if fix.file else ""
        block = [f'<div class="fix"><strong>Fix:</strong> {_text(_words(fix.description, options))}{target}']
        if fix.snippet:
            # Tabs become spaces: the page shows no control character, whatever a browser's tab width.
            lines = "\n".join(
                html.escape(line.expandtabs(4), quote=True) for line in block_lines(fix.snippet)
            )
            block.append(f"<pre><code>{lines}</code></pre>")
        for file, text in other_files(fix):
            lines = "\n".join(html.escape(line.expandtabs(4), quote=True) for line in block_lines(text))
            shown_file = _text(display_path(file, options.cwd))
            block.append(f"<p>in <code>{shown_file}</code>:</p><pre><code>{lines}</code></pre>")
        for note in note_lines(fix):  # checked or advice (with the conflict), the field warning
            block.append(f'<p class="fix-note">{_text(note)}</p>')
        block.append("</div>")
        out.append("".join(block))
    out.append("</article>")
    return out
