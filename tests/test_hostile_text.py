"""Issue 17, item 2: stored text is shown, never obeyed.

Names, notes and reasons may hold rich markup, terminal escapes, HTML, Markdown table
syntax or spreadsheet formulas: typed by the person, imported from a file or restored from
an old backup. The records are made through the CLI and then given hostile text straight
in the database (whatever validation lets in today, a database may already hold it), and
every way they are shown is read back: the terminal (piped, and rich tables as on a
terminal), errors, --json, Markdown (rendered by markdown-it, as a portal would), HTML
(parsed), CSV as a spreadsheet reads it, and reminders.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from medtrack.cli import app, common
from medtrack.render.escaping import (
    csv_cell,
    markdown_text,
    terminal_cell,
    terminal_text,
    visible,
)

runner = CliRunner()

NOW = "2026-11-23T14:30:00+01:00"
RED = "[red]X[/]"
UNBALANCED = "a[/]b"
OSC_LINK = "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07"
RICH_LINK = "[link=http://evil.example]lnk[/link]"
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example","x")'
PURPOSE = "<img src=x onerror=alert(1)>\n| x | y |\n# Injected purpose"
DOSE_NOTE = "line1\n| a | b |\n# heading\x1b[2J"
QUESTION = "- item\n## Injected <b>question</b> | pipe"
SIDE_EFFECT = "dizzy\x1b[31m\u202eevil"
NAMES = {
    "alpha": RED,
    "beta": UNBALANCED,
    "gamma": OSC_LINK,
    "delta": RICH_LINK,
    "epsilon": SCRIPT,
    "zeta": FORMULA,
}
# What must never reach a terminal from stored text: ESC (CSI, OSC), BEL, the 8-bit
# CSI, carriage return, and a right-to-left override.
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\r", "\u202e")


def ok(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.stderr)
    return result


def assert_no_raw_controls(text: str) -> None:
    for char in RAW_CONTROLS:
        assert char not in text, (char, text)


@pytest.fixture
def hostile(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDTRACK_NOW", NOW)
    for plain in NAMES:
        ok("med", "add", plain, "--dose", "50mg", "--schedule", "daily 08:00", "--start",
           "2026-11-01")  # fmt: skip
    ok("take", "alpha", "--at", "2026-11-22T08:10", "--note", "plain")
    ok("take", "beta", "--at", "2026-11-23T08:05")
    ok("take", "gamma", "--at", "2026-11-23T08:06")
    ok("skip", "delta", "--reason", "forgot", "--at", "2026-11-23T08:30")
    ok("note", "add", "placeholder", "--ask")
    ok("side-effect", "add", "nausea", "--severity", "severe", "--med", "alpha")
    conn = sqlite3.connect(os.environ["MEDTRACK_DB"])
    with conn:
        for plain, name in NAMES.items():
            conn.execute("UPDATE medications SET name = ? WHERE name = ?", (name, plain))
        conn.execute("UPDATE medications SET purpose = ? WHERE name = ?", (PURPOSE, RED))
        conn.execute("UPDATE doses SET note = ? WHERE note = 'plain'", (DOSE_NOTE,))
        conn.execute("UPDATE notes SET text = ?", (QUESTION,))
        conn.execute("UPDATE side_effects SET name = ?", (SIDE_EFFECT,))
    conn.close()
    return tmp_path


LISTINGS = [
    ("med", "list"),
    ("today",),
    ("log", "--days", "30"),
    ("summary", "--days", "30"),
    ("report",),
    ("note", "list"),
    ("side-effect", "list"),
]


@pytest.mark.parametrize("args", LISTINGS, ids=" ".join)
def test_piped_listings_show_names_as_written_and_controls_visibly(hostile, args):
    out = ok(*args).stdout
    assert_no_raw_controls(out)
    if args[0] in ("med", "today", "summary", "report"):
        for name in (RED, UNBALANCED, RICH_LINK, SCRIPT, FORMULA):
            assert name in out, (name, out)
        assert terminal_cell(OSC_LINK) in out
        assert "\\x1b]8;;http://evil.example\\x07click" in out
    if args[0] == "log":
        # A note with newlines stays on its row: one line per dose, the rest shown as \n.
        assert "line1\\n| a | b |\\n# heading\\x1b[2J" in out
        assert len(out.strip().splitlines()) == 1 + 1 + 4  # title, header, four records
    if args[0] == "side-effect":
        assert "dizzy\\x1b[31m\\u202eevil" in out


@pytest.mark.parametrize("args", LISTINGS, ids=" ".join)
def test_rich_tables_never_parse_stored_markup(hostile, args, monkeypatch):
    # As on a terminal: rich tables. `a[/]b` used to crash every listing showing it
    # (MarkupError: closing tag '[/]' has nothing to close); `[red]X[/]` lost its
    # brackets and `[link=...]` became a clickable link.
    monkeypatch.setattr(common, "is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "400")
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.stderr)
    assert "internal error" not in result.stderr
    out = result.stdout
    assert_no_raw_controls(out)
    if args[0] in ("med", "today", "summary"):
        for name in (RED, UNBALANCED, RICH_LINK, SCRIPT, FORMULA):
            assert name in out, (name, out)
        assert "\\x1b]8;;http://evil.example\\x07click" in out


def test_rich_cell_keeps_a_note_on_lines_inside_its_cell(hostile, monkeypatch):
    monkeypatch.setattr(common, "is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "400")
    out = ok("log", "--days", "30").stdout
    lines = [line for line in out.splitlines() if "line1" in line or "# heading" in line]
    # Inside the box: each line of the note starts and ends with the table's borders.
    assert len(lines) == 2
    assert all(line.rstrip().endswith("│") for line in lines)
    assert "# heading\\x1b[2J" in lines[1]


def test_json_output_keeps_values_exact_without_raw_terminal_controls(hostile):
    conn = sqlite3.connect(os.environ["MEDTRACK_DB"])
    with conn:
        conn.execute("UPDATE medications SET notes = ? WHERE name = ?", ("c1 \x9b2J", RED))
    conn.close()
    out = ok("med", "list", "--json").stdout
    assert "\x9b" not in out and "\\u009b" in out
    meds = {m["name"]: m for m in json.loads(out)}
    assert set(NAMES.values()) <= set(meds)
    assert meds[RED]["notes"] == "c1 \x9b2J"
    assert meds[RED]["purpose"] == PURPOSE


def test_reminder_text_is_shown_not_obeyed(hostile):
    result = runner.invoke(app, ["remind"], env={"MEDTRACK_NOW": "2026-11-24T08:05:00+01:00"})
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert_no_raw_controls(out)
    assert RED in out and "\\x1b]8;;http://evil.example" in out


# --- errors -------------------------------------------------------------------------------


def test_error_lines_quote_input_escaped_on_one_line(hostile):
    typed = "nope\x1b[31m\nsecond line\x07"
    result = runner.invoke(app, ["take", typed])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert_no_raw_controls(result.stderr)
    assert "nope\\x1b[31m\\nsecond line\\x07" in result.stderr


def test_usage_errors_quote_input_escaped(hostile):
    result = runner.invoke(app, ["bad\x1b]8;;http://evil\x07cmd"])
    assert result.exit_code in (1, 2)  # refused as an argument with a control character
    assert_no_raw_controls(result.output)
    assert "bad\\x1b]8;;http://evil\\x07cmd" in result.output
    choice = runner.invoke(app, ["side-effect", "add", "x", "--severity", "\x1b[2Jsevere"])
    assert choice.exit_code in (1, 2)
    assert_no_raw_controls(choice.output)


def test_internal_error_line_is_escaped(monkeypatch, capsys):
    import medtrack.cli as cli

    def broken() -> None:
        raise RuntimeError("boom\x1b[2J\nsecond")

    monkeypatch.setattr(cli, "app", broken)
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "boom\\x1b[2J\\nsecond" in err
    assert_no_raw_controls(err)


# --- Markdown -----------------------------------------------------------------------------


def rendered_markdown(text: str) -> str:
    from markdown_it import MarkdownIt  # a dependency of rich

    return MarkdownIt("commonmark").enable("table").render(text)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.rows: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend(attrs)
        if tag == "tr":
            self.rows.append([])

    def handle_data(self, data):
        self.text.append(data)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)


def parsed(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


MARKDOWN_TAGS = {"h1", "h2", "p", "ul", "li", "strong", "em", "code", "br", "blockquote"}
TABLE_TAGS = {"table", "thead", "tbody", "tr", "th", "td"}


def test_markdown_report_escapes_html_and_keeps_notes_in_their_cells(hostile):
    md = ok("report", "--format", "md").stdout
    assert_no_raw_controls(md)
    html = rendered_markdown(md)
    tags = parsed(html)
    assert set(tags.tags) <= MARKDOWN_TAGS | TABLE_TAGS, set(tags.tags) - MARKDOWN_TAGS
    assert "script" not in tags.tags and "img" not in tags.tags and "a" not in tags.tags
    assert not [name for name, _ in tags.attributes if name.startswith("on")]
    # No heading came from stored text: the title and the nine sections only.
    assert tags.tags.count("h1") == 1 and tags.tags.count("h2") == 10
    text = "".join(tags.text)
    for name in (RED, UNBALANCED, RICH_LINK, SCRIPT, FORMULA):
        assert name in text, name
    # The purpose with newlines and pipes stays in its cell: the medications table has one
    # row per medication and seven cells in each.
    table = html.split("<h2>Current medications</h2>")[1].split("</table>")[0]
    rows = table.split("<tr>")[2:]
    assert len(rows) == len(NAMES)
    assert all(row.count("<td>") == 7 for row in rows)
    assert "&lt;img src=x onerror=alert(1)&gt;<br>| x | y |<br># Injected purpose" in table
    # The question is one list item, its lines joined by <br>, nothing turned into markup.
    questions = html.split("<h2>Questions for this visit</h2>")[1]
    assert questions.count("<li>") == 1
    assert "- item<br>## Injected &lt;b&gt;question&lt;/b&gt; | pipe" in questions


def test_markdown_text_escapes_every_construct():
    shown = markdown_text("*b* _i_ `c` [l](http://e) ![i](x) ~~s~~ <b> & | \\")
    html = rendered_markdown(shown)
    assert parsed(html).tags == ["p"]
    assert "*b* _i_ `c` [l](http://e) ![i](x) ~~s~~ &lt;b&gt; &amp; | \\" in html
    for opener in ("# h", "1. x", "2) y", "- z", "+ w", "    code"):
        html = rendered_markdown(f"- {markdown_text(opener, line_start=True)}")
        assert parsed(html).tags == ["ul", "li"], (opener, html)


# --- HTML ---------------------------------------------------------------------------------


def test_html_report_shows_markup_as_text(hostile, tmp_path):
    ok("report", "--format", "html", "-o", str(tmp_path / "r.html"))
    html = (tmp_path / "r.html").read_text()
    assert_no_raw_controls(html)
    tags = parsed(html)
    assert "script" not in tags.tags and "img" not in tags.tags and "a" not in tags.tags
    assert not [name for name, _ in tags.attributes if name.startswith("on")]
    text = "".join(tags.text)
    for name in (RED, UNBALANCED, RICH_LINK, SCRIPT, FORMULA):
        assert name in text, name
    assert "&lt;img src=x onerror=alert(1)&gt;<br>| x | y |<br># Injected purpose" in html


def test_pdf_report_draws_controls_visibly_and_quietly(hostile, tmp_path):
    result = runner.invoke(app, ["report", "--format", "pdf", "-o", str(tmp_path / "r.pdf")])
    assert result.exit_code == 0, result.stderr
    assert_no_raw_controls(result.stderr)  # fpdf's missing-glyph warning quoted them raw
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "r.pdf").pages)
    assert "\x1b" not in text and "\\x1b]8;;http://evil.example" in text.replace("\n", "")


# --- CSV ----------------------------------------------------------------------------------


def test_csv_export_prefixes_formulas_as_owasp_recommends(hostile, tmp_path):
    conn = sqlite3.connect(os.environ["MEDTRACK_DB"])
    with conn:
        conn.execute("UPDATE medications SET notes = '+1+1' WHERE name = ?", (RED,))
        conn.execute("UPDATE medications SET notes = '-2+3' WHERE name = ?", (UNBALANCED,))
        conn.execute("UPDATE medications SET notes = '@SUM(A1)' WHERE name = ?", (OSC_LINK,))
        conn.execute("UPDATE medications SET notes = ? WHERE name = ?", ("\t=1", RICH_LINK))
        conn.execute("UPDATE medications SET notes = ? WHERE name = ?", ("\r=1", SCRIPT))
        conn.execute("UPDATE medications SET notes = 'a=b, -c' WHERE name = ?", (FORMULA,))
        conn.execute("UPDATE doses SET amount = -5 WHERE id = 1")
    conn.close()
    ok("export", "--format", "csv", "-o", str(tmp_path / "csv"))
    with open(tmp_path / "csv" / "medications.csv", newline="", encoding="utf-8") as handle:
        meds = {row["id"]: row for row in csv.DictReader(handle)}
    by_name = {row["name"]: row for row in meds.values()}
    assert "'" + FORMULA in by_name
    assert by_name[RED]["notes"] == "'+1+1"
    assert by_name[UNBALANCED]["notes"] == "'-2+3"
    assert by_name[OSC_LINK]["notes"] == "'@SUM(A1)"
    assert by_name[RICH_LINK]["notes"] == "'\t=1"
    assert by_name[SCRIPT]["notes"] == "'\r=1"
    assert by_name["'" + FORMULA]["notes"] == "a=b, -c"  # not at the start: no formula
    with open(tmp_path / "csv" / "doses.csv", newline="", encoding="utf-8") as handle:
        doses = {row["id"]: row for row in csv.DictReader(handle)}
    assert doses["1"]["amount"] == "-5.0"  # a number stays a number
    assert doses["1"]["note"] == DOSE_NOTE  # a newline inside a quoted cell, as CSV allows


def test_csv_cell_rule():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_cell(f"{start}1") == f"'{start}1"
    assert csv_cell("sertraline") == "sertraline"
    assert csv_cell(-5) == -5 and csv_cell(-0.5) == -0.5 and csv_cell("") == ""


# --- the helpers --------------------------------------------------------------------------


def test_visible_writes_out_every_control_but_the_kept_ones():
    assert visible("a\x1b[31mb\x07c\x9b\u202e\u2028\x00") == (
        "a\\x1b[31mb\\x07c\\x9b\\u202e\\u2028\\x00"
    )
    assert visible("line\nnext\ttab\r") == "line\\nnext\\ttab\\r"
    assert terminal_text("line\nnext\ttab\r") == "line\nnext\ttab\\r"
    text = "sertraline 50 mg, 08:00 dose — ok ü 日本"
    assert visible(text) is text


def test_completion_leaves_out_names_with_control_characters(hostile):
    from medtrack.cli.common import complete_medication

    shown = {RED, UNBALANCED, RICH_LINK, SCRIPT, FORMULA}  # all but the OSC link
    assert set(complete_medication(None, "")) == shown


def test_summary_strips_align_names_as_printed(hostile):
    out = ok("summary", "--days", "30").stdout
    strip_lines = out.split("Last 30 days")[1].split("Daily adherence:")[0].splitlines()[1:]
    assert len(strip_lines) == len(NAMES)
    assert any("\\x1b]8;;" in line for line in strip_lines)
    # Names padded to one width as printed: every 30-day strip ends in the same column.
    assert len({len(line) for line in strip_lines}) == 1, strip_lines
