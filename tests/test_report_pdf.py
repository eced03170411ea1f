"""The PDF renderer's own line breaking and font choice (issue 9): the lines and widths it
computes are fpdf's to the last bit, the cells it draws are what multi_cell draws, and the
font embedded is the smallest shipped cut of DejaVu Sans that holds the report's text."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_report import at, make_report, pdf_text_of

import medtrack.render.report_pdf as report_pdf
from medtrack.core.health import SideEffect
from medtrack.render.report_pdf import _Writer, break_lines

# Narrow and wide letters, digits, the punctuation the report uses, breaking spaces (a tab
# is one for fpdf), newlines, Latin beyond ASCII: words of every length, some too long for
# a line, so every way fpdf ends a line is met.
WORD = st.text(alphabet="aiWmlM0 19.,:-()/%→–•…’éßÆŁș≤°", min_size=1, max_size=30)
TEXT = st.lists(st.one_of(WORD, st.sampled_from([" ", "  ", "\n", "\t"])), max_size=14).map("".join)
SIZE = st.sampled_from([6.5, 7, 7.5, 8, 9.5, 14])
WIDTH = st.floats(min_value=4, max_value=190)


# The shipped Latin cut, and Helvetica for a machine without the fonts (a core font, whose
# widths fpdf keys by character).
FONTS = ("latin cut", "helvetica")


def new_writer(font: str = "latin cut") -> _Writer:
    from fpdf import FPDF

    pdf = FPDF(unit="mm", format="A4")
    if font == "latin cut":
        pdf.add_font(report_pdf.FAMILY, "", str(report_pdf.LATIN_FONT[0]))
        pdf.add_font(report_pdf.FAMILY, "B", str(report_pdf.LATIN_FONT[1]))
    pdf.add_page()
    pdf.c_margin = 0.6
    return _Writer(pdf, unicode=font != "helvetica")


@pytest.fixture(scope="module", params=FONTS)
def writer(request):
    return new_writer(request.param)


@given(text=TEXT, bold=st.booleans(), size=SIZE, width=WIDTH)
def test_lines_are_the_lines_multi_cell_breaks_the_text_into(writer, text, bold, size, width):
    writer.font(size, bold)
    shown = writer.text(text)
    try:
        expected = writer.pdf.multi_cell(width, 3, shown, dry_run=True, output="LINES")
    except Exception:  # fpdf refuses a cell too narrow for one character
        expected = None
    found = writer.lines(shown, width)
    if shown.endswith("\n") or expected is None:
        assert found is None
    else:
        # (For no text at all multi_cell draws one empty line, as `block` does.)
        assert found == (expected if shown else [])


@given(text=TEXT, bold=st.booleans(), size=SIZE)
def test_string_width_is_fpdfs_to_the_last_bit(writer, text, bold, size):
    writer.font(size, bold)
    shown = writer.text(text)
    assert writer.string_width(shown) == writer.pdf.get_string_width(shown)


@pytest.mark.parametrize(
    "text", ["soft\u00adhyphen", "no\u00a0break", "a\rb", "a\x0cb", "a\n", "page {nb}"]
)
def test_a_text_fpdf_treats_specially_is_left_to_multi_cell(writer, text):
    writer.font(7.5)
    assert writer.lines(text, 100) is None
    assert writer.lines("a b", 100) == ["a b"]
    assert break_lines("a b", writer.advances(), 7.5, writer.pdf.k, 100) == ["a b"]


# A text object as fpdf's cell writes it (the colour inside BT) or as its text() does (the
# colour before BT): position, colour and the encoded string. A position may be negative:
# with page breaks off, a long text runs on below the page.
TEXT_OBJECT = re.compile(
    rb"(?:q )?(?:([0-9. ]+) rg )?BT (-?[0-9.]+) (-?[0-9.]+) Td (?:([0-9. ]+) rg )?"
    rb"\(((?:\\.|[^\\)])*)\) Tj ET(?: Q)?",
    re.S,
)


def text_drawn(content: bytes) -> list[tuple[float, float, bytes, bytes]]:
    """Every non-empty text object of a page: x, y, colour and string (an empty one shows
    nothing: multi_cell writes one for a line it empties of its only space, text() never)."""
    objects = TEXT_OBJECT.findall(content)
    assert len(objects) == content.count(b" Tj ET")
    return [(float(x), float(y), a or b, string) for a, x, y, b, string in objects if string]


@pytest.mark.parametrize("font", FONTS)
@given(texts=st.lists(st.tuples(TEXT, WIDTH, st.sampled_from(["L", "R"])), min_size=1, max_size=5))
def test_lines_are_drawn_where_multi_cell_draws_them(font, texts):
    """`block` on page 1, multi_cell on page 2: the same strings at the same places, in the
    same colour, and the pen left where multi_cell leaves it."""
    from pypdf import PdfReader

    writer = new_writer(font)
    pdf = writer.pdf
    writer.font(7.5)
    writer.color((85, 85, 85))
    texts = [(writer.text(text), width, align) for text, width, align in texts]
    # A cell too narrow for one of the characters is refused by fpdf.
    texts = [t for t in texts if max(map(pdf.get_string_width, t[0]), default=0) < t[1] - 1.3]
    # One text below the other, on one page however long.
    pdf.set_auto_page_break(False)
    ends = [], []
    for page in (0, 1):
        if page:
            pdf.add_page()
        pdf.set_y(20)
        for text, width, align in texts:
            pdf.set_x(20)
            if page == 0:
                writer.block(text, width, 3.3, align, new_x="LMARGIN")
            else:
                pdf.multi_cell(width, 3.3, text, align=align, new_x="LMARGIN", new_y="NEXT")
            ends[page].extend((pdf.x, pdf.y))
    pages = PdfReader(BytesIO(bytes(pdf.output()))).pages
    drawn = [text_drawn(page.get_contents().get_data()) for page in pages]
    assert len(drawn[0]) == len(drawn[1])
    for (x, y, color, string), (x2, y2, color2, string2) in zip(*drawn, strict=True):
        # (The baseline is summed in another order than the cell's: a last digit may differ.)
        assert abs(x - x2) < 0.011 and abs(y - y2) < 0.011
        assert (color, string) == (color2, string2)
    assert ends[0] == pytest.approx(ends[1])
    assert pages[0].extract_text() == pages[1].extract_text()


# --- which font -------------------------------------------------------------------------


@pytest.fixture
def fonts_used(monkeypatch):
    used: list[str] = []
    draw = report_pdf._render

    def spy(report, font, tables, *warn):
        used.append(font[0].name)
        return draw(report, font, tables, *warn)

    monkeypatch.setattr(report_pdf, "_render", spy)
    return used


def side_effect(name: str) -> list[SideEffect]:
    return [SideEffect(name, "sertraline", "severe", at(4, 10))]


@pytest.mark.parametrize(
    ("name", "font"),
    [
        ("nausea", "DejaVuSans-Latin.ttf"),
        ("Übelkeit, Şişkinlik, mdłości ≤ 2×", "DejaVuSans-Latin.ttf"),
        ("ναυτία", "DejaVuSans-Common.ttf"),
        ("тошнота", "DejaVuSans-Common.ttf"),
        ("בחילה", "DejaVuSans.ttf"),  # U+05D1: in no cut
    ],
)
def test_the_smallest_cut_holding_the_text_is_chosen_and_drawn_once(fonts_used, name, font):
    data = report_pdf.render_pdf(make_report(side_effects=side_effect(name)))
    assert fonts_used == [font]
    assert b"/FontFile2" in data


def test_a_character_the_look_ahead_missed_is_drawn_with_the_whole_font(monkeypatch, fonts_used):
    monkeypatch.setattr(report_pdf, "drawn_characters", lambda report, tables: set("abc"))
    report_pdf.render_pdf(make_report(side_effects=side_effect("ναυτία")))
    assert fonts_used == ["DejaVuSans-Latin.ttf", "DejaVuSans.ttf"]


@pytest.mark.parametrize("name", ["nausea", "ναυτία", "בחילה"])
def test_the_look_ahead_holds_every_character_drawn(monkeypatch, name):
    seen: list[set[str]] = []
    draw = report_pdf._render

    def spy(report, font, tables, *warn):
        content, drawn = draw(report, font, tables, *warn)
        seen.append(drawn)
        return content, drawn

    monkeypatch.setattr(report_pdf, "_render", spy)
    report = make_report(side_effects=side_effect(name))
    report_pdf.render_pdf(report)
    tables = {key: report_pdf.section_table(report, key) for key in report.sections}
    assert seen[0] <= report_pdf.drawn_characters(report, tables)


def test_each_cut_holds_every_glyph_of_the_whole_font_in_its_ranges():
    from fontTools.ttLib import TTFont

    whole = report_pdf.FONT_CANDIDATES[0]
    for cut, ranges in report_pdf.font_cuts():
        for whole_file, cut_file in zip(whole, cut, strict=True):
            full_map = TTFont(whole_file, lazy=True).getBestCmap()
            cut_map = TTFont(cut_file, lazy=True).getBestCmap()
            inside = {c for c in full_map if report_pdf.covered(chr(c), ranges)}
            assert inside and inside <= set(cut_map)
    assert [files[0].name for files, _ in report_pdf.font_cuts()] == [
        "DejaVuSans-Latin.ttf",
        "DejaVuSans-Common.ttf",
    ]


@pytest.mark.parametrize("name", ["nausea", "ναυτία"])
def test_a_cut_reads_and_looks_as_the_whole_font(monkeypatch, name):
    from pypdf import PdfReader

    report = make_report(side_effects=side_effect(name))
    cut = report_pdf.render_pdf(report)
    monkeypatch.setattr(report_pdf, "font_cuts", list)
    whole = report_pdf.render_pdf(report)
    assert pdf_text_of(cut) == pdf_text_of(whole)
    assert name in pdf_text_of(cut) and "25 mg → 50 mg" in pdf_text_of(cut)
    pages = [PdfReader(BytesIO(data)).pages[0].get_contents().get_data() for data in (cut, whole)]
    assert pages[0] == pages[1]
