"""Hostile devicetree input costs bounded time and memory, and every failure is a finding.

Support engineers run ``pmdoctor triage`` on files strangers attached; CI runs
``pmdoctor -d BUILD``. Each hostile file is generated here, into tmp_path. The
CLI runs in a subprocess under an address-space cap, so a run that would need
gigabytes fails with MemoryError instead of taking the machine; time bounds are
generous (the real figures are a fraction of a second).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Tuple

import pytest

from conftest import BUILDS, CORPUS, ROOT
from pmdoctor.loaders import LoadError, devicetree, dts_source
from pmdoctor.loaders.devicetree import LineMap, dtlib_module, load_devicetree
from pmdoctor.loaders.overlay import scan_chosen

try:
    import resource
except ImportError:  # Windows: no address-space cap
    resource = None  # type: ignore[assignment]

SECONDS = 20.0  # generous: these runs take well under a second
MEMORY_CAP = 1536 * 1024 * 1024
HEALTHY = BUILDS / "cli" / "healthy"


# ----------------------------------------------------------------- helpers


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_capped(args: Tuple[str, ...], cwd: Path) -> subprocess.CompletedProcess:
    """``python -m pmdoctor ARGS`` like ``helpers.run_pmdoctor``, under a memory cap and a time bound."""
    environ = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), NO_COLOR="1")
    environ.pop("ZEPHYR_BASE", None)
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pmdoctor", *args, "--color", "never"],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=3 * SECONDS,
        preexec_fn=_cap_memory if resource else None,
    )
    elapsed = time.monotonic() - start
    for stream in (result.stdout, result.stderr):
        assert "Traceback" not in stream, stream[-2000:]
        assert "internal error" not in stream, stream[-2000:]
    assert elapsed < SECONDS, f"{elapsed:.1f}s"
    return result


def run_python(code: str, tmp_path: Path) -> None:
    """Run a snippet against this checkout under the same caps (unit checks that used to blow up)."""
    environ = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"))
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=SECONDS,
        preexec_fn=_cap_memory if resource else None,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def hostile_build(tmp_path: Path, body: str) -> Path:
    """A copy of the healthy fixture whose app devicetree has ``body`` at the start of its root node."""
    app = Path(shutil.copytree(HEALTHY, tmp_path / "app"))
    dts = app / "build" / "smp_svr" / "zephyr" / "zephyr.dts"
    text = dts.read_text()
    assert text.count("/ {\n") == 1
    dts.write_text(text.replace("/ {\n", "/ {\n" + body, 1))
    return app / "build"


def unreadable(build: Path, tmp_path: Path) -> Tuple[str, int]:
    """``pmdoctor -d BUILD``: the message and line of the one PMD001 finding, on the app devicetree."""
    result = run_capped(("-d", str(build), "--format", "json"), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    findings = [f for b in json.loads(result.stdout)["builds"] for f in b["findings"]]
    assert [f["rule"] for f in findings] == ["PMD001"], findings
    assert findings[0]["location"]["file"].endswith("smp_svr/zephyr/zephyr.dts")
    return findings[0]["message"], findings[0]["location"]["line"]


def dtlib_or_skip():
    dtlib = dtlib_module()
    if dtlib is None:
        pytest.skip("no devicetree parser installed")
    return dtlib


# ----------------------------------------------- 1. origin comments, linear


def test_comments_that_used_to_backtrack_cost_no_time(tmp_path: Path) -> None:
    """`a:a:a:` lines, `/* in ` and `/* node '' defined in ` repeated: each was quadratic or worse."""
    body = "\t/*\n" + "a:" * 8000 + "\n\t*/\n"
    body *= 50
    body += "".join(f"\tp{i} = < 0x1 >; /* in " + "/* in " * 2600 + "*/\n" for i in range(20))
    body += ("\t/* node '' defined in " * 700 + "*/\n") * 20
    result = run_capped(("-d", str(hostile_build(tmp_path, body))), tmp_path)
    assert result.returncode == 0, result.stdout


def test_line_map_is_linear_on_long_comment_lines(tmp_path: Path) -> None:
    run_python(
        "from pmdoctor.loaders.devicetree import LineMap\n"
        "text = '/ {\\n\\t/*\\n' + 'a:' * 50000 + '\\n\\t*/\\n'\n"
        "text += '\\tp = < 0x1 >; /* in ' + '/* in ' * 20000 + '*/\\n'\n"
        "text += \"\\t/* node '' defined in \" * 5000 + '*/\\n'\n"
        "text += '\\t/* in a.dts:' + ':1' * 50000 + ' */\\n};\\n'\n"
        "LineMap(text)\n",
        tmp_path,
    )


# ------------------------------------------------- 2. one-line nodes close


def test_one_line_nodes_are_closed_on_their_line() -> None:
    text = (
        "/dts-v1/;\n"
        "/ {\n"
        "\tempty { };\n"
        '\tfull: full@0 { status = "ok;ay"; reg; };\n'
        "\tnext {\n"
        "\t\tp = < 0x1 >; /* in next.dts:7 */\n"
        "\t};\n"
        "};\n"
    )
    lines = LineMap(text)
    assert lines.nodes == {"/": 2, "/empty": 3, "/full@0": 4, "/next": 5}
    assert lines.props == {("/full@0", "status"): 4, ("/full@0", "reg"): 4, ("/next", "p"): 6}
    assert lines.prop_origin == {("/next", "p"): ("next.dts", 7)}


def test_many_one_line_nodes_take_linear_memory(tmp_path: Path) -> None:
    run_python(
        "from pmdoctor.loaders.devicetree import LineMap\n"
        "text = '/ {\\n' + ''.join(f'\\tn{i} {{ p; }};\\n' for i in range(200000)) + '};\\n'\n"
        "lines = LineMap(text)\n"
        "assert lines.nodes['/n199999'] == 200001, lines.nodes['/n199999']\n"
        "assert lines.props[('/n5', 'p')] == 7\n",
        tmp_path,
    )


def test_one_line_nodes_in_a_build_are_bounded(tmp_path: Path) -> None:
    body = "".join(f"\tn{i} {{ p; }};\n" for i in range(50_000))
    message, line = unreadable(hostile_build(tmp_path, body), tmp_path)
    assert message.startswith("devicetree not read: more than 10000 nodes")
    assert line == 10_003  # the 10001st `{`


def test_line_map_finds_every_node_and_property_of_real_devicetrees() -> None:
    """On what dtlib wrote, every node and property maps to the line that declares it."""
    dtlib = dtlib_or_skip()
    files = sorted(BUILDS.rglob("zephyr.dts"))
    if (CORPUS / "INDEX.tsv").is_file():  # the shared corpus, when present
        files += sorted((CORPUS / "builds").rglob("zephyr.dts"))
    checked = 0
    for path in files:
        text = path.read_text()
        try:
            tree = dtlib.DT(str(path))
        except Exception:
            continue  # fixtures that are broken on purpose
        lines = LineMap(text)
        source = text.split("\n")
        for node in tree.node_iter():
            number = lines.nodes[node.path]
            assert f"{node.name} {{" in source[number - 1], (path, node.path, number)
            for name in node.props:
                declared = source[lines.props[(node.path, name)] - 1].strip()
                assert declared.startswith((name + " =", name + ";")), (path, node.path, name)
        checked += 1
    assert checked >= 10


# ------------------------------------------ 3. huge numbers are no crash


def test_origin_comment_with_a_huge_line_number(tmp_path: Path) -> None:
    digits = "9" * 5000
    body = f"\t/* node '/big' defined in a.dts:{digits} */\n\tbig {{\n"
    body += f"\t\tp = < 0x1 >; /* in a.dts:{digits} */\n\t}};\n"
    result = run_capped(("-d", str(hostile_build(tmp_path, body))), tmp_path)
    assert result.returncode == 0, result.stdout


def test_devicetree_number_of_5000_digits_is_a_finding(tmp_path: Path) -> None:
    body = "\tbig = < " + "9" * 5000 + " >;\n"
    message, line = unreadable(hostile_build(tmp_path, body), tmp_path)
    assert message == "devicetree not read: a name or number of 5000 characters (at most 256)"
    assert line == 4


@pytest.mark.parametrize(
    "cells",
    ["DT_SIZE_K(" + "9" * 5000 + ")", "-" * 100_000 + "1", "~" * 100_000 + "1"],
    ids=["size macro of 5000 digits", "100000 minus signs", "100000 tildes"],
)
def test_overlay_cells_that_crashed_are_a_note(tmp_path: Path, cells: str) -> None:
    overlay = tmp_path / "app.overlay"
    overlay.write_text(f"/ {{\n\tchosen {{ zephyr,console = &uart0; }};\n\tsize = < {cells} >;\n}};\n")
    result = run_capped(("triage", str(overlay)), tmp_path)
    assert result.returncode in (0, 1)
    assert "not read as devicetree source: a cell of" in result.stdout


# ---------------------------------------------- 4. no file is ever followed


def _fifo(folder: Path) -> str:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    os.mkfifo(folder / "pipe")
    return '\t/include/ "pipe"\n'


def _loop(folder: Path) -> str:
    (folder / "a.dtsi").write_text('/include/ "b.dtsi"\n')
    (folder / "b.dtsi").write_text('/include/ "a.dtsi"\n')
    return '\t/include/ "a.dtsi"\n'


def _outside(folder: Path) -> str:
    secret = folder.parents[3] / "secret.dtsi"
    secret.write_text('\tstolen = "SECRET-CONTENT";\n')
    return f'\t/include/ "{secret}"\n'


INCLUDES = [
    ("itself", lambda folder: '\t/include/ "zephyr.dts"\n', "/include/"),
    ("a loop of two files", _loop, "/include/"),
    ("/dev/zero", lambda folder: '\t/include/ "/dev/zero"\n', "/include/"),
    ("/incbin/ of /dev/zero", lambda folder: '\tblob = /incbin/ ("/dev/zero");\n', "/incbin/"),
    ("a FIFO", _fifo, "/include/"),
    ("an absolute path", _outside, "/include/"),
]


@pytest.mark.parametrize(
    ("make", "directive"), [case[1:] for case in INCLUDES], ids=[case[0] for case in INCLUDES]
)
def test_include_and_incbin_are_never_followed(
    tmp_path: Path, make: Callable[[Path], str], directive: str
) -> None:
    build = hostile_build(tmp_path, "")
    dts = build / "smp_svr" / "zephyr" / "zephyr.dts"
    text = dts.read_text()
    dts.write_text(text.replace("/ {\n", "/ {\n" + make(dts.parent), 1))
    message, line = unreadable(build, tmp_path)
    assert message.startswith(f"devicetree not read: {directive} names another file")
    assert line == 4  # the directive's
    assert "SECRET" not in message


def test_include_words_in_comments_and_strings_are_text(tmp_path: Path) -> None:
    body = '\t/* see /include/ "x.dtsi" */\n\tnote = "/include/ \\"x\\" /* not a comment";\n'
    result = run_capped(("-d", str(hostile_build(tmp_path, body))), tmp_path)
    assert result.returncode == 0, result.stdout


def test_dtlib_itself_opens_no_file(tmp_path: Path) -> None:
    """Were the scan ever to lex differently from dtlib, dtlib still opens nothing."""
    dtlib = dtlib_or_skip()
    (tmp_path / "other.dtsi").write_text("/ { };\n")
    path = tmp_path / "zephyr.dts"
    path.write_text('/dts-v1/;\n/ {\n};\n/include/ "other.dtsi"\n')
    with pytest.raises(LoadError, match="/include/ names another file") as error:
        devicetree._parse(dtlib, path)
    assert error.value.source.line == 4


# ---------------------------------------- 5. overlays: no quadratic scans

OVERLAYS = [
    ("unclosed comments", "/ {\n\tchosen { zephyr,console = &uart0; };\n};\n" + "/* " * 100_000),
    ("unclosed byte strings", "/ {\n\tp = " + "[" * 300_000 + ";\n};\n"),
    ("unclosed strings", "/ {\n\tp = " + '"\\' * 100_000 + ";\n};\n"),
    ("a define with spaces", "#define A x" + " " * 100_000 + "x\n/ { };\n"),
    ("unclosed path references", "/ {\n\tp = < " + "&{ " * 150_000 + ">;\n};\n"),
]


@pytest.mark.parametrize("text", [case[1] for case in OVERLAYS], ids=[case[0] for case in OVERLAYS])
def test_hostile_overlay_in_triage(tmp_path: Path, text: str) -> None:
    overlay = tmp_path / "app.overlay"
    overlay.write_text(text)
    result = run_capped(("triage", str(overlay)), tmp_path)
    assert result.returncode in (0, 1)


def test_hostile_overlay_next_to_a_build(tmp_path: Path) -> None:
    build = hostile_build(tmp_path, "")
    (build.parent / "app.overlay").write_text(OVERLAYS[0][1])
    result = run_capped(("-d", str(build)), tmp_path)
    assert result.returncode == 0, result.stdout


def test_comment_blanking_keeps_lines_strings_and_columns() -> None:
    text = 'a = "/* kept */"; /* gone\n still gone */ b; // gone\n"x\\"/*" c; "unclosed /* gone */\n'
    blanked = dts_source.blank_comments(text)
    assert [len(line) for line in blanked.split("\n")] == [len(line) for line in text.split("\n")]
    assert [line.rstrip() for line in blanked.split("\n")] == [
        'a = "/* kept */";',
        "               b;",
        '"x\\"/*" c; "unclosed',
        "",
    ]
    found = scan_chosen("/ { chosen {\n/* x = &no; */ y =\n &yes; // z = &no;\n}; };\n", Path("a.overlay"))
    assert [(c.prop, c.target, c.source.line) for c in found] == [("y", "&yes", 2)]


def test_source_detection_is_linear_on_blank_lines(tmp_path: Path) -> None:
    run_python(
        "from pmdoctor.loaders.dts_source import looks_like_source_dts\n"
        "assert not looks_like_source_dts('\\n' * 100000 + ' x')\n"
        "assert not looks_like_source_dts(' \\n' * 100000 + ' x')\n"
        "assert looks_like_source_dts('\\n' * 10 + '  &uart0 {')\n",
        tmp_path,
    )


# ------------------------------------------------ 6. no huge values kept


def test_ten_megabyte_string_is_a_finding(tmp_path: Path) -> None:
    body = '\tmodel2 = "' + "x" * 10_000_000 + '";\n'
    message, line = unreadable(hostile_build(tmp_path, body), tmp_path)
    assert message == "devicetree not read: a string longer than 16384 characters, or not closed"
    assert line == 4


def test_kept_values_are_small(tmp_path: Path) -> None:
    dtlib_or_skip()
    path = tmp_path / "zephyr.dts"
    path.write_text(
        "/dts-v1/;\n/ {\n\tflash0: flash@0 {\n"
        f'\t\tlabel = "{"L" * 4000}";\n\t\tsize = < {" ".join(["0x1"] * 1000)} >;\n'
        '\t\terase-block-size = < 0x1000 >;\n\t\tcompatible = "soc-nv-flash";\n\t};\n};\n'
    )
    node = load_devicetree(path, "app").nodes["/flash@0"]
    assert node.props == {"erase-block-size": 0x1000}
    assert node.compatible == ("soc-nv-flash",)


# ------------------------------------------------ 7. deep nesting


def test_deeply_nested_build_devicetree_is_a_finding(tmp_path: Path) -> None:
    depth = 50_000
    body = " ".join(f"n{i} {{" for i in range(depth)) + "\n" + " };" * depth + "\n"
    message, line = unreadable(hostile_build(tmp_path, body), tmp_path)
    assert message == "devicetree not read: nodes nested more than 32 levels deep"
    assert line == 4


@pytest.mark.parametrize("name", ["zephyr.dts", "app.overlay"])
def test_deeply_nested_attachment_is_a_note(tmp_path: Path, name: str) -> None:
    depth = 20_000
    attachment = tmp_path / name
    header = "/dts-v1/;\n" if name == "zephyr.dts" else ""
    attachment.write_text(f"{header}/ {{\n" + "n {\n" * depth + "};\n" * depth + "};\n")
    result = run_capped(("triage", str(attachment)), tmp_path)
    assert result.returncode in (0, 1)
    assert "nested more than 64 levels deep" in result.stdout
