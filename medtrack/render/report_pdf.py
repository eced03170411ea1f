"""The visit report as a PDF drawn with fpdf2: real (searchable) text, vector charts, an
embedded TrueType font where one can be found, one A4 page for a typical month.

fpdf is imported only inside `render_pdf`, so no other command pays for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from medtrack.core.report import VisitReport
from medtrack.render.charts import (
    CHANGE_MARKS_LISTED,
    LINE_COLOR,
    STRIP_COLORS,
    TEXT_GREY,
    TIMELINE_LINES,
    change_labels,
    day_x,
    line_points,
    strip_marks,
    too_close,
    value_range,
)
from medtrack.render.escaping import visible
from medtrack.render.report_md import (
    SectionTable,
    adherence_note,
    as_needed_table,
    header_lines,
    report_title,
    section_table,
    sub_tables,
)
from medtrack.render.symbols import DAY_LEGEND as STRIP_LEGEND

FAMILY = "medtrack-sans"
FONT_DIR = Path(__file__).parent / "fonts"
# Where to look for a Unicode TrueType font to embed, first found wins: a copy shipped
# inside the package, then Debian's DejaVu. Without one the PDF falls back to the
# standard Helvetica, which viewers supply themselves (not embedded, Latin-1 only).
FONT_CANDIDATES = (
    (FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"),
    (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ),
)
# Cuts of the shipped DejaVu Sans, made with fontTools' pyftsubset: hinting kept, glyph names
# kept (fpdf would otherwise derive them from the Adobe Glyph List), GDEF, GPOS, GSUB and MATH
# left out (fpdf drops them from what it embeds anyway). fpdf's add_font reads every glyph of
# the file it is given, so a report is drawn with the smallest cut that holds every character
# it shows (issue 9): the widths are those of the whole font, so is the page.
# The Latin cut: Latin with Extended-A and -B, punctuation, currency, letterlike symbols,
# arrows, maths, block elements and geometric shapes:
#   pyftsubset DejaVuSans.ttf --unicodes=U+0020-007E,U+00A0-024F,U+2000-206F,U+20A0-20CF,\
#     U+2100-214F,U+2190-22FF,U+2580-25FF,U+FFFD --notdef-outline --glyph-names \
#     --drop-tables+=GDEF,GPOS,GSUB,MATH --output-file=DejaVuSans-Latin.ttf
# The common cut adds IPA, combining marks, Greek, Cyrillic and the rest of the symbols:
#   pyftsubset DejaVuSans.ttf --unicodes=U+0020-007E,U+00A0-052F,U+1E00-1FFF,\
#     U+2000-23FF,U+2500-27BF,U+FFFD --notdef-outline --glyph-names \
#     --drop-tables+=GDEF,GPOS,GSUB,MATH --output-file=DejaVuSans-Common.ttf
# (and the same for DejaVuSans-Bold.ttf).
LATIN_FONT = (FONT_DIR / "DejaVuSans-Latin.ttf", FONT_DIR / "DejaVuSans-Bold-Latin.ttf")
LATIN_RANGES = (
    (0x0020, 0x007E),
    (0x00A0, 0x024F),
    (0x2000, 0x206F),
    (0x20A0, 0x20CF),
    (0x2100, 0x214F),
    (0x2190, 0x22FF),
    (0x2580, 0x25FF),
    (0xFFFD, 0xFFFD),
)
COMMON_FONT = (FONT_DIR / "DejaVuSans-Common.ttf", FONT_DIR / "DejaVuSans-Bold-Common.ttf")
COMMON_RANGES = (
    (0x0020, 0x007E),
    (0x00A0, 0x052F),
    (0x1E00, 0x1FFF),
    (0x2000, 0x23FF),
    (0x2500, 0x27BF),
    (0xFFFD, 0xFFFD),
)
_LATIN1_FALLBACKS = {"→": "->", "–": "-", "—": "-", "…": "...", "’": "'", "“": '"', "”": '"'}

MARGIN = 10.0
FONT_SIZE = 7.5
LINE_H = 3.1
HEAD_SIZE = 9.5
STRIP_W = 46.0
NUMBER_GAP = 2.0
CHART_W = 38.0
CHART_H = 5.0
# Characters multi_cell does not wrap as plain words: it breaks at a soft hyphen, prints a
# no-break space as a space, drops a carriage return and breaks at a form feed. A text holding
# one is left to multi_cell itself, and so is a text ending in a newline, after which
# multi_cell moves down one line more.
_SPECIAL_TO_FPDF = frozenset("\u00ad\u00a0\r\x0c")


def find_font() -> tuple[Path, Path] | None:
    for regular, bold in FONT_CANDIDATES:
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


class _Writer:
    """Draws the report on an fpdf document, keeping track of the font in use."""

    def __init__(self, pdf: Any, unicode: bool, missing: frozenset[str] = frozenset()) -> None:
        self.pdf = pdf
        # Characters no font at hand has: drawn as MISSING_MARK, never as blank space.
        self.missing = missing
        # Characters drawn from a fallback font (then every line is drawn as a cell).
        self.fallback: frozenset[str] = frozenset()
        self.family = FAMILY if unicode else "helvetica"
        self.unicode = unicode
        self.width = pdf.w - 2 * MARGIN
        self.seen: set[str] = set()
        self._widths: dict[tuple[str, float, str], float] = {}
        self._lines: dict[tuple[str, float, float, str], list[str] | None] = {}
        self._core_advances: dict[str, dict[int, int]] = {}

    def text(self, value: str) -> str:
        # Every text drawn passes here: stored control characters are shown, not drawn
        # as missing glyphs (fpdf would also name them raw in a warning on stderr).
        value = visible(value, keep="\n")
        if self.missing and not self.missing.isdisjoint(value):
            value = "".join(MISSING_MARK if c in self.missing else c for c in value)
        self.seen.update(value)
        if self.unicode:
            return value
        for char, plain in _LATIN1_FALLBACKS.items():
            value = value.replace(char, plain)
        return value.encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float = FONT_SIZE, bold: bool = False) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)

    def color(self, rgb: tuple[int, int, int] = (17, 17, 17)) -> None:
        self.pdf.set_text_color(*rgb)

    def heading(self, title: str) -> None:
        self.ensure(12)
        pdf = self.pdf
        pdf.ln(1.0)
        self.font(HEAD_SIZE, bold=True)
        pdf.cell(self.width, 4.2, self.text(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(150, 150, 150)
        pdf.set_line_width(0.2)
        pdf.line(MARGIN, pdf.get_y(), MARGIN + self.width, pdf.get_y())
        pdf.ln(0.6)

    def paragraph(
        self, value: str, size: float = FONT_SIZE, bold: bool = False, grey: bool = False
    ) -> None:
        self.font(size, bold)
        self.color((85, 85, 85) if grey else (17, 17, 17))
        self.block(self.text(value), self.width, size * 0.44, "L", new_x="LMARGIN")
        self.color()

    def advances(self) -> Mapping[int, int] | None:
        """The current font's advance widths by code point, the integers fpdf sums (it keys
        a core font's by character, a TrueType font's by code point)."""
        font = self.pdf.current_font
        widths = getattr(font, "cw", None)
        if widths is None or self.unicode:
            return widths
        if font.fontkey not in self._core_advances:
            self._core_advances[font.fontkey] = {ord(c): w for c, w in widths.items()}
        return self._core_advances[font.fontkey]

    def string_width(self, shown: str) -> float:
        """`pdf.get_string_width(shown)` in the current font, to the last bit: the sum of the
        font's integer advance widths scaled as fpdf scales it, without fpdf building text
        fragments for every call (issue 9)."""
        pdf = self.pdf
        key = (pdf.font_style, pdf.font_size_pt, shown)
        width = self._widths.get(key)
        if width is None:
            advance = self.advances()
            if advance is None:
                width = pdf.get_string_width(shown)
            else:
                width = sum([advance[ord(char)] for char in shown]) * pdf.font_size_pt * 0.001
                width /= pdf.k
            self._widths[key] = width
        return width

    def lines(self, shown: str, width: float) -> list[str] | None:
        """The lines multi_cell would break `shown` into in a cell `width` wide, in the
        current font; None where only multi_cell itself can tell (see `break_lines`)."""
        pdf = self.pdf
        key = (pdf.font_style, pdf.font_size_pt, width, shown)
        if key not in self._lines:
            advance = self.advances()
            found = None
            if advance is not None and pdf.str_alias_nb_pages not in shown:
                room = width - pdf.c_margin - pdf.c_margin
                found = break_lines(shown, advance, pdf.font_size_pt, pdf.k, room)
            self._lines[key] = found
        return self._lines[key]

    def line_count(self, value: str, width: float) -> int:
        shown = self.text(value)
        lines = self.lines(shown, width)
        if lines is None:
            lines = self.pdf.multi_cell(width, LINE_H, shown, dry_run=True, output="LINES")
        return max(len(lines), 1)

    def block(
        self, shown: str, width: float, height: float, align: str, new_x: str = "RIGHT"
    ) -> None:
        """`shown` wrapped in a cell `width` wide from the current position, as multi_cell
        draws it, without its character-by-character line breaking (issue 9): each line is
        written with `pdf.text` where a cell would put it, and the position moved as the cell
        would move it; a line that needs a new page is a cell, which breaks the page."""
        pdf = self.pdf
        lines = self.lines(shown, width)
        if lines is None:
            pdf.multi_cell(width, height, shown, align=align, new_x=new_x, new_y="NEXT")
            return
        lines = lines or [""]
        last = len(lines) - 1
        for index, line in enumerate(lines):
            after = new_x if index == last else "LEFT"
            uses_fallback = bool(self.fallback) and not self.fallback.isdisjoint(line)
            if not line or pdf.will_page_break(height) or uses_fallback:
                # fpdf applies fallback fonts in cells only.
                pdf.cell(width, height, line, align=align, new_x=after, new_y="NEXT")
                if uses_fallback:
                    # After a fallback run fpdf 2.8 leaves the page on the fallback's font
                    # selection while believing its own is set: select it again.
                    pdf.current_font_is_set_on_page = False
                continue
            # Where fpdf's cell writes a line: after the padding (or right-aligned before it),
            # on the baseline 0.3 of the font size below the middle of the cell.
            x, y = pdf.x, pdf.y
            dx = width - pdf.c_margin - self.string_width(line) if align == "R" else pdf.c_margin
            pdf.text(x + dx, y + 0.5 * height + 0.3 * pdf.font_size, line)
            x = pdf.l_margin if after == "LMARGIN" else x + width if after == "RIGHT" else x
            pdf.set_xy(x, y + height)

    def ensure(self, height: float) -> None:
        if self.pdf.will_page_break(height):
            self.pdf.add_page()

    def table(
        self,
        table: SectionTable,
        widths: Sequence[float],
        numeric: Sequence[int] = (),
        chart: tuple[str, float, Callable[[int, float, float], None]] | None = None,
        chart_h: float = CHART_H + 1,
        title: str | None = None,
    ) -> None:
        """Rows of wrapped text cells; `chart` adds a last column drawn by a callback
        given the row index and the cell's top-left corner; `title`, a bold line kept
        with the table."""
        pdf = self.pdf
        columns = list(table.columns) + ([chart[0]] if chart else [])
        all_widths = list(widths) + ([chart[1]] if chart else [])
        scale = self.width / sum(all_widths)
        all_widths = [w * scale for w in all_widths]
        rows = [list(r) + ([""] if chart else []) for r in table.rows]

        def draw(cells: Sequence[str], bold: bool, index: int | None) -> None:
            self.font(FONT_SIZE - (0.5 if bold else 0), bold)
            self.color((68, 68, 68) if bold else (17, 17, 17))
            room = [w - (NUMBER_GAP if i in numeric else 0) for i, w in enumerate(all_widths)]
            height = max(self.line_count(c, w) for c, w in zip(cells, room, strict=True))
            row_h = max(height * LINE_H, chart_h if chart and index is not None else 0)
            self.ensure(row_h + 0.5)
            top = pdf.get_y()
            x = MARGIN
            for col, (cell, width) in enumerate(zip(cells, all_widths, strict=True)):
                pdf.set_xy(x, top)
                # Right-aligned figures keep a gap before the next, left-aligned column.
                self.block(self.text(cell), room[col], LINE_H, "R" if col in numeric else "L")
                if chart and index is not None and col == len(cells) - 1:
                    chart[2](index, x + 0.5, top + 0.4)
                x += width
            pdf.set_draw_color(220, 220, 220)
            pdf.set_line_width(0.15)
            pdf.line(MARGIN, top + row_h + 0.2, MARGIN + self.width, top + row_h + 0.2)
            pdf.set_xy(MARGIN, top + row_h + 0.4)

        # Keep the column names with the first row: never a header alone at a page's foot.
        self.font(FONT_SIZE)
        first = rows[0] if rows else columns
        first_h = max(self.line_count(c, w) for c, w in zip(first, all_widths, strict=True))
        title_h = LINE_H + 0.4 if title else 0.0
        self.ensure(title_h + 2 * LINE_H + max(first_h * LINE_H, chart_h if chart else 0) + 1)
        # And a table that fits on a page is never split: it starts on the next page
        # whole. (Past a page's worth of rows it cannot be kept together anyway.)
        page = pdf.h - 2 * MARGIN
        if len(rows) * LINE_H < page:
            total = title_h + 2 * LINE_H + 1
            for row in rows:
                lines = max(self.line_count(c, w) for c, w in zip(row, all_widths, strict=True))
                total += max(lines * LINE_H, chart_h if chart else 0) + 0.4
            if total < page - 12:
                self.ensure(total)
        if title:
            self.paragraph(title, size=FONT_SIZE, bold=True)
        draw(columns, True, None)
        for index, row in enumerate(rows):
            draw(row, False, index)
        self.color()


def break_lines(
    shown: str, advance: Mapping[int, int], size_pt: float, k: float, room: float
) -> list[str] | None:
    """The lines fpdf's multi_cell (word wrapping, fpdf2 2.8) breaks `shown` into, given the
    font's advance widths, the size in points, the points per unit and the width inside the
    cell's padding; None for a text multi_cell treats specially (_SPECIAL_TO_FPDF) or a cell
    too narrow for one character, where multi_cell itself decides.

    Its rule, with its arithmetic so the same lines come out: characters are added while the
    line's width stays within the room (1e-9 tolerance); the character that would overflow
    ends the line: a space is dropped there, else the line ends at its last space (dropped),
    else before that character. A newline ends a line. The line's width is the sum of its
    advance widths scaled once, as fpdf scales it, not a running sum of scaled widths.
    """
    if _SPECIAL_TO_FPDF.intersection(shown) or shown.endswith("\n"):
        return None
    if "\n" not in shown:
        # Most texts fit well within their cell: then no character overflows the line.
        total = sum(map(advance.__getitem__, map(ord, shown)))
        if total * size_pt * 0.001 / k < room - 1e-6:
            return [shown] if total else []
    from fpdf.line_break import BREAKING_SPACE_SYMBOLS_STR as spaces

    lines: list[str] = []
    start, end = 0, len(shown)
    while start < end:
        total, space, i = 0, -1, start
        while True:
            if i == end:
                if total * size_pt * 0.001 / k:
                    lines.append(shown[start:])
                start = end
                break
            char = shown[i]
            if char == "\n":
                lines.append(shown[start:i])
                start = i + 1
                break
            width = advance[ord(char)]
            if total * size_pt * 0.001 / k + width * size_pt * 0.001 / k - room > 1e-9:
                if char in spaces:
                    lines.append(shown[start:i])
                    start = i + 1
                elif space >= 0:
                    lines.append(shown[start:space])
                    start = space + 1
                elif i == start:
                    return None
                else:
                    lines.append(shown[start:i])
                    start = i
                break
            if char in spaces:
                space = i
            total += width
            i += 1
    return lines


STRIP_H = 2.6
STRIP_STROKE = 0.25


def _strip(pdf: Any, states: Sequence[str], x: float, y: float, width: float) -> None:
    if not states:
        return
    cell = width / len(states)
    gap = min(0.3, cell * 0.2)
    pdf.set_line_width(STRIP_STROKE)
    for i, state in enumerate(states):
        _cell_marks(pdf, state, x + i * cell, y, max(cell - gap, 0.15), STRIP_H)


def _cell_marks(pdf: Any, state: str, x: float, y: float, w: float, h: float) -> None:
    """One strip cell: its shape (strip_marks) in its colour, so print and colour-blind
    readers tell the states apart by shape too."""
    pdf.set_fill_color(*STRIP_COLORS[state])
    pdf.set_draw_color(*STRIP_COLORS[state])
    for kind, mx, my, mw, mh in strip_marks(state, x, y, w, h, STRIP_STROKE):
        pdf.rect(mx, my, mw, mh, style="F" if kind == "fill" else "D")


def _line_chart(
    pdf: Any,
    points: Sequence[tuple[date, float]],
    first: date,
    last: date,
    box: tuple[float, float, float, float],
    low: float,
    high: float,
) -> None:
    pdf.set_fill_color(244, 244, 244)
    pdf.rect(*box, style="F")
    inner = (box[0] + 0.8, box[1] + 0.8, box[2] - 1.6, box[3] - 1.6)
    placed = line_points(points, first, last, inner, low, high)
    _draw_line(pdf, placed)


def _draw_line(pdf: Any, placed: Sequence[tuple[float, float]]) -> None:
    pdf.set_draw_color(*LINE_COLOR)
    pdf.set_fill_color(*LINE_COLOR)
    pdf.set_line_width(0.25)
    if len(placed) > 1:
        pdf.polyline(list(placed))
    for x, y in placed:
        pdf.circle(x, y, 0.35, style="F")


# Shown for a character that neither the embedded font nor any font fontconfig finds has.
MISSING_MARK = "\ufffd"


def fallback_font(chars: set[str]) -> Path | None:
    """A TrueType font on this system with every one of `chars`, as fontconfig matches
    one (absent fontconfig, or with no such font: None)."""
    import shutil
    import subprocess

    fc_match = shutil.which("fc-match")
    if fc_match is None or not chars:
        return None
    charset = " ".join(f"{ord(c):x}" for c in sorted(chars))
    try:
        found = subprocess.run(
            [fc_match, "--format=%{file}", f":charset={charset}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    path = Path(found) if found else None
    if path is None or path.suffix.lower() not in (".ttf", ".otf") or not path.is_file():
        return None
    from fontTools.ttLib import TTFont

    try:
        cmap = TTFont(str(path), lazy=True).getBestCmap() or {}
    except Exception:
        return None
    return path if all(ord(c) in cmap for c in chars) else None


def render_pdf(report: VisitReport, warn: Callable[[str], None] | None = None) -> bytes:
    """The report as PDF bytes.

    Drawn with the smallest shipped cut of DejaVu Sans that holds every character the report
    shows, chosen before drawing (issue 9). Were a character drawn that the look-ahead missed,
    the page is drawn again with the whole font, so no text loses a glyph it would have had.
    """
    tables = {key: section_table(report, key) for key in report.sections}
    font = find_font()
    cut = None
    if font is not None and font[0] == FONT_CANDIDATES[0][0]:
        cut = smallest_cut(drawn_characters(report, tables))
    if cut is not None:
        files, ranges = cut
        content, seen = _render(report, files, tables)
        if all(covered(char, ranges) for char in seen):
            return content
    return _render(report, font, tables, warn)[0]


Ranges = Sequence[tuple[int, int]]


def font_cuts() -> list[tuple[tuple[Path, Path], Ranges]]:
    """The shipped cuts of DejaVu Sans that are present, smallest first, with their ranges."""
    cuts = ((LATIN_FONT, LATIN_RANGES), (COMMON_FONT, COMMON_RANGES))
    return [(files, ranges) for files, ranges in cuts if all(f.is_file() for f in files)]


def smallest_cut(chars: set[str]) -> tuple[tuple[Path, Path], Ranges] | None:
    """The smallest shipped cut holding every one of `chars`, None when none does."""
    for files, ranges in font_cuts():
        if all(covered(char, ranges) for char in chars):
            return files, ranges
    return None


def covered(char: str, ranges: Ranges) -> bool:
    """True when a cut limited to `ranges` holds everything the whole font has for `char`
    (control characters are never drawn)."""
    code = ord(char)
    return code < 0x20 or any(low <= code <= high for low, high in ranges)


# The one character of _render's own words outside ASCII (which every cut holds): the
# bullet before a question.
_OWN_CHARACTERS = "•"


def drawn_characters(report: VisitReport, tables: dict[str, SectionTable]) -> set[str]:
    """Every character `_render` draws for `report`: the texts it takes from the report's
    tables, header, notes and legend, and its own words."""
    texts = [report_title(report), report.footer, adherence_note(report), _OWN_CHARACTERS]
    texts += [part for line in header_lines(report) for part in line]
    texts += [label for _, label in STRIP_LEGEND]
    texts += _timeline_texts(report)
    subs = [sub for key in report.sections for sub in sub_tables(report, key)]
    texts += [_one_line(sub) for sub in subs if sub.key == "controlled"]
    for table in (*tables.values(), *subs):
        texts += (table.title, table.empty, *table.columns)
        texts += [cell for row in table.rows for cell in row]
    return set().union(*texts)


def _render(
    report: VisitReport,
    font: tuple[Path, Path] | None,
    tables: dict[str, SectionTable],
    warn: Callable[[str], None] | None = None,
) -> tuple[bytes, set[str]]:
    """The PDF drawn with `font` (Helvetica when None) from the report's `tables`, and every
    character drawn. Characters the font lacks (a medication named in Chinese with DejaVu)
    are drawn from a system font that has them, found through fontconfig, else shown as
    MISSING_MARK with a warning."""
    from fpdf import FPDF

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN)
    pdf.set_creation_date(report.header.generated_at)
    title = report_title(report)
    pdf.set_title(f"{title}, {report.header.period_text}")
    pdf.set_creator(f"medtrack {report.header.version}")
    pdf.set_lang("en")
    missing: frozenset[str] = frozenset()
    fallback: frozenset[str] = frozenset()
    if font is not None:
        pdf.add_font(FAMILY, "", str(font[0]))
        pdf.add_font(FAMILY, "B", str(font[1]))
        cmap = pdf.fonts[FAMILY.lower()].cmap
        lacking = {
            c for c in drawn_characters(report, tables) if ord(c) >= 0x20 and ord(c) not in cmap
        }
        other = fallback_font(lacking) if lacking else None
        if other is not None:
            pdf.add_font("fallback", "", str(other))
            pdf.set_fallback_fonts(["fallback"])
            fallback = frozenset(lacking)
        elif lacking:
            missing = frozenset(lacking)
            if warn is not None:
                shown = "".join(sorted(lacking))[:20]
                warn(
                    f"warning: no font found for {shown}: the PDF shows {MISSING_MARK} in "
                    "their place (install a font with them, e.g. fonts-noto-cjk)"
                )
    pdf.add_page()
    # Narrow cell padding: the tables are dense and every millimetre counts on one page.
    pdf.c_margin = 0.6
    w = _Writer(pdf, unicode=font is not None, missing=missing)
    w.fallback = fallback

    w.font(14, bold=True)
    pdf.cell(w.width, 6.5, w.text(title), new_x="LMARGIN", new_y="NEXT")
    _meta(w, header_lines(report))

    first, last = report.header.period_start, report.header.period_end
    for key in report.sections:
        table = tables[key]
        if key == "timeline" and report.timeline is not None:
            # Never the heading alone at a page's foot, the chart on the next page.
            w.ensure(_timeline_height(report) + 8)
        if _empty(report, key, table):
            # "Measurements: none in this period." on one line, not a heading and a line.
            w.ensure(8)
            pdf.ln(1.0)
            w.font(HEAD_SIZE - 1.5, bold=True)
            title = w.text(f"{table.title}: ")
            pdf.cell(w.string_width(title) + 0.5, 4.2, title)
            w.font(FONT_SIZE)
            w.color((85, 85, 85))
            pdf.cell(0, 4.2, w.text(table.empty), new_x="LMARGIN", new_y="NEXT")
            w.color()
            continue
        w.heading(table.title)
        if key == "safety":
            if table.rows:
                _safety_box(w, [row[0] for row in table.rows])
            else:
                w.paragraph(table.empty, grey=True)
            continue
        subs = sub_tables(report, key)
        if not table.rows and key != "adherence":
            w.paragraph(table.empty, grey=True)
            if not subs:
                continue
        if key == "timeline":
            if report.timeline is not None:
                _timeline(w, report)
            continue
        if key == "questions":
            for text, asked in table.rows:
                w.paragraph(f"•  {text}  (asked {asked})")
        elif key == "medications":
            if table.rows:
                w.table(table, (32, 13, 24, 46, 18, 20, 50))
        elif key == "changes":
            w.table(table, (17, 25, 80, 55))
        elif key == "adherence":
            _adherence(w, report, table)
        elif key == "side_effects":
            w.table(table, (25, 15, 24, 17, 28, 60))
        elif key == "symptoms":
            # Their lines are on the timeline, on the same axis as everything else.
            w.table(table, (40, 16, 14, 14, 30, 14, 12), (1, 2, 3))
        elif key == "scores":
            w.table(table, (30, 16, 50, 80), (1,))
        elif key == "measurements":

            def measure_chart(index: int, x: float, y: float) -> None:
                series = report.measurements[index]
                low, high = value_range([v for _, v in series.points], None)
                _line_chart(pdf, series.points, first, last, (x, y, CHART_W, CHART_H), low, high)

            chart = ("Trend", CHART_W + 2, measure_chart)
            w.table(table, (24, 15, 40, 36, 24, 24), (1,), chart)
        for sub in subs:
            if sub.key == "as_needed":
                continue  # drawn by _adherence, under the calendar
            _sub_table(w, sub)

    pdf.ln(2)
    pdf.set_draw_color(150, 150, 150)
    pdf.line(MARGIN, pdf.get_y(), MARGIN + w.width, pdf.get_y())
    pdf.ln(0.8)
    w.paragraph(report.footer, size=7, grey=True)
    return bytes(pdf.output()), w.seen


def _meta(w: _Writer, lines: Sequence[tuple[str, str]]) -> None:
    """The header's label: value pairs, two to a line, labels in bold."""
    pdf = w.pdf
    for start in range(0, len(lines), 2):
        for label, value in lines[start : start + 2]:
            w.font(8, bold=True)
            label_text = w.text(f"{label}: ")
            pdf.cell(w.string_width(label_text) + 0.5, 3.8, label_text)
            w.font(8)
            value_text = w.text(value)
            pdf.cell(w.string_width(value_text) + 8, 3.8, value_text)
        pdf.ln(3.8)


def _safety_box(w: _Writer, flags: Sequence[str]) -> None:
    pdf = w.pdf
    w.font(8, bold=True)
    # A bullet before each flag: several flags must not read as one paragraph.
    text = "\n".join(w.text(f"•  {f}") for f in flags)
    lines = w.lines(text, w.width - 4)
    if lines is None:
        lines = pdf.multi_cell(w.width - 4, 3.6, text, dry_run=True, output="LINES")
    height = len(lines) * 3.6 + 2.4
    w.ensure(height)
    top = pdf.get_y()
    pdf.set_fill_color(255, 244, 244)
    pdf.set_draw_color(183, 28, 28)
    pdf.set_line_width(0.5)
    pdf.rect(MARGIN, top, w.width, height, style="DF")
    pdf.set_xy(MARGIN + 2, top + 1.2)
    w.block(text, w.width - 4, 3.6, "L", new_x="LMARGIN")
    pdf.set_y(top + height + 0.6)


def _adherence(w: _Writer, report: VisitReport, table: SectionTable) -> None:
    pdf = w.pdf
    adherence = report.adherence
    if table.rows:
        rows = list(adherence.rows) + ([adherence.overall] if adherence.overall else [])

        def strip(index: int, x: float, y: float) -> None:
            _strip(pdf, rows[index].strip, x, y + 0.1, STRIP_W)

        label = f"Calendar from {report.header.period_start.isoformat()}"
        chart = (label, STRIP_W + 2, strip)
        w.table(table, (22, 27, 13, 13, 15, 48), (1, 2, 3, 4), chart, chart_h=STRIP_H + 0.9)
        _legend(w)
        w.paragraph(adherence_note(report), size=6.5, grey=True)
    else:
        w.paragraph(table.empty, grey=True)
    prn = as_needed_table(report)
    if prn.rows:
        pdf.ln(0.8)
        saved = w.width
        w.width = 110.0
        w.table(prn, (30, 15, 20, 20, 25), (1, 2, 3, 4), title=prn.title)
        w.width = saved


TL_SYMPTOM_H = 10.0
TL_LANE_H = 3.4
TL_LABEL_W = 20.0


def _marker(pdf: Any, shape: str, x: float, y: float, r: float) -> None:
    if shape == "square":
        pdf.rect(x - r, y - r, 2 * r, 2 * r, style="F")
    elif shape == "triangle":
        pdf.polygon([(x - r, y + r), (x + r, y + r), (x, y - r)], style="F")
    else:
        pdf.circle(x, y, r, style="F")


def _change_key(labels: Sequence[Any]) -> str:
    """The key under the timeline: each numbered day of changes, or past
    CHANGE_MARKS_LISTED of them, a count and a pointer to the changes table."""
    if len(labels) > CHANGE_MARKS_LISTED:
        return (
            f"Ticks on the top edge: {len(labels)} days with plan or zone changes, listed "
            "under Changes in this period."
        )
    return "     ".join(f"{m.number}: {m.on.isoformat()} {m.text}" for m in labels)


TL_WORDS = ("symptoms", "0-10 (10 top)", "missed/skipped", "  totals: ! = item 9 above 0")


def _timeline_texts(report: VisitReport) -> list[str]:
    """Every text the timeline draws (for the font look-ahead)."""
    tl = report.timeline
    if tl is None:
        return []
    texts = [*TL_WORDS, *tl.symptoms, "0123456789!-"]
    texts += [series.name for series in report.scores]
    texts.append(
        "     ".join(f"{m.number}: {m.on.isoformat()} {m.text}" for m in change_labels(tl.events))
    )
    texts += [tick.isoformat() for tick in tl.ticks]
    return texts


def _timeline_height(report: VisitReport) -> float:
    """Room the timeline takes: its lanes, axis, key and a few lines of numbered changes."""
    lanes = len(report.scores) + 1
    marks = len(change_labels(report.timeline.events)) if report.timeline else 0
    return TL_SYMPTOM_H + lanes * TL_LANE_H + 3.2 + 4 + 3.2 * (1 + min(marks, 4))


def _timeline(w: _Writer, report: VisitReport) -> None:
    """Symptom lines, PHQ-9/GAD-7 totals, missed and skipped days and numbered plan and
    zone changes on one date axis with ticks; a key under it names each line and change."""
    pdf = w.pdf
    tl = report.timeline
    assert tl is not None
    labels = change_labels(tl.events)
    w.ensure(_timeline_height(report))
    top = pdf.get_y() + 0.6
    x0 = MARGIN + TL_LABEL_W
    width = w.width - TL_LABEL_W

    def x_of(day: date) -> float:
        return day_x(day, tl.first, tl.last, x0, width)

    w.font(6)
    w.color(TEXT_GREY)
    # The symptom lane: 0-10 ratings, a light frame and grid at 5.
    pdf.set_fill_color(246, 246, 246)
    pdf.rect(x0, top, width, TL_SYMPTOM_H, style="F")
    pdf.set_draw_color(210, 210, 210)
    pdf.set_line_width(0.15)
    pdf.line(x0, top + TL_SYMPTOM_H / 2, x0 + width, top + TL_SYMPTOM_H / 2)
    pdf.text(MARGIN, top + 2.2, w.text(TL_WORDS[0]))
    pdf.text(MARGIN, top + 4.6, w.text(TL_WORDS[1]))
    by_name = {t.name: t for t in report.symptoms}
    for index, name in enumerate(tl.symptoms):
        trend = by_name[name]
        color, dash, shape = TIMELINE_LINES[index]
        low, high = value_range([v for _, v in trend.points], trend.scale_max)
        span = (high - low) or 1
        placed = [
            (x_of(day), top + TL_SYMPTOM_H - 0.6 - (TL_SYMPTOM_H - 1.2) * (v - low) / span)
            for day, v in trend.points
        ]
        pdf.set_draw_color(*color)
        pdf.set_fill_color(*color)
        pdf.set_line_width(0.35)
        if dash:
            pdf.set_dash_pattern(dash=dash[0], gap=dash[1])
        if len(placed) > 1:
            pdf.polyline(placed)
        pdf.set_dash_pattern()
        for x, y in placed:
            _marker(pdf, shape, x, y, 0.45)
    y = top + TL_SYMPTOM_H
    # One lane per questionnaire: its totals printed at their dates.
    for series in report.scores:
        pdf.set_draw_color(225, 225, 225)
        pdf.line(x0, y + TL_LANE_H, x0 + width, y + TL_LANE_H)
        w.font(6)
        w.color(TEXT_GREY)
        pdf.text(MARGIN, y + 2.4, w.text(series.name))
        xs = [x_of(point.on) for point in series.points]
        if too_close(xs, 5.0):
            # Too many to print each total: a line of them across the lane (0 at its
            # foot, the maximum at its top), item 9 above 0 as a filled triangle.
            placed = [
                (x, y + TL_LANE_H - 0.4 - (TL_LANE_H - 0.8) * p.total / series.max_total)
                for x, p in zip(xs, series.points, strict=True)
            ]
            pdf.set_draw_color(17, 17, 17)
            pdf.set_fill_color(17, 17, 17)
            pdf.set_line_width(0.2)
            pdf.polyline(placed)
            for (x, py), point in zip(placed, series.points, strict=True):
                if point.flagged:
                    _marker(pdf, "triangle", x, py, 0.6)
        else:
            for x, point in zip(xs, series.points, strict=True):
                w.font(6.5, bold=point.flagged)
                w.color((17, 17, 17))
                label = w.text(f"{point.total}" + ("!" if point.flagged else ""))
                pdf.text(x - w.string_width(label) / 2, y + 2.5, label)
        y += TL_LANE_H
    # The doses lane: each day with a dose missed (empty frame) or skipped (dash).
    w.font(6)
    w.color(TEXT_GREY)
    pdf.text(MARGIN, y + 2.4, w.text(TL_WORDS[2]))
    worst: dict[date, str] = {}
    for event in tl.events:
        if event.kind == "missed" or (event.kind == "skipped" and event.on not in worst):
            worst[event.on] = event.kind
    cell = width / ((tl.last - tl.first).days + 1)
    pdf.set_line_width(STRIP_STROKE)
    for day, state in worst.items():
        _cell_marks(pdf, state, x_of(day) - cell * 0.35, y + 0.5, cell * 0.7, STRIP_H)
    y += TL_LANE_H
    # Plan and zone changes: a numbered mark through every lane.
    pdf.set_draw_color(60, 60, 60)
    pdf.set_line_width(0.2)
    for number, on, _ in labels:
        x = x_of(on)
        if len(labels) > CHANGE_MARKS_LISTED:
            # Hundreds of changes: a short tick on the top edge each, not a line through
            # every lane.
            pdf.line(x, top, x, top + 1.5)
            continue
        pdf.set_dash_pattern(dash=0.6, gap=0.6)
        pdf.line(x, top, x, y)
        pdf.set_dash_pattern()
        if len(labels) <= CHANGE_MARKS_LISTED:
            w.font(6, bold=True)
            w.color((17, 17, 17))
            pdf.text(x + 0.5, top + 2.2, number)
    # The axis: a tick and the date at each tick day.
    pdf.set_draw_color(120, 120, 120)
    pdf.line(x0, y, x0 + width, y)
    w.font(6)
    w.color(TEXT_GREY)
    for tick in tl.ticks:
        x = x_of(tick)
        pdf.line(x, y, x, y + 0.8)
        label = tick.strftime("%m-%d") if tl.first.year == tl.last.year else tick.isoformat()
        pdf.text(x - w.string_width(label) / 2, y + 2.9, label)
    y += 3.4
    # The key: each symptom line as drawn, then each numbered change.
    x = MARGIN
    for index, name in enumerate(tl.symptoms):
        color, dash, shape = TIMELINE_LINES[index]
        pdf.set_draw_color(*color)
        pdf.set_fill_color(*color)
        pdf.set_line_width(0.35)
        if dash:
            pdf.set_dash_pattern(dash=dash[0], gap=dash[1])
        pdf.line(x, y + 1.2, x + 6, y + 1.2)
        pdf.set_dash_pattern()
        _marker(pdf, shape, x + 3, y + 1.2, 0.45)
        w.font(6.5)
        w.color((17, 17, 17))
        text = w.text(name)
        pdf.text(x + 7, y + 2.1, text)
        x += 9 + w.string_width(text) + 3
    text = w.text(TL_WORDS[3])
    if report.scores:
        pdf.text(x, y + 2.1, text)
    y += 3.2
    pdf.set_xy(MARGIN, y)
    w.color()
    if labels:
        w.paragraph(_change_key(labels), size=6.5)
    pdf.set_xy(MARGIN, max(pdf.get_y(), y) + 0.4)


def _empty(report: VisitReport, key: str, table: SectionTable) -> bool:
    """A section with nothing to show (no rows, no sub-tables; safety always shows)."""
    if key in ("safety", "adherence", "timeline") or table.rows:
        return False
    return not sub_tables(report, key)


def _one_line(sub: SectionTable) -> str:
    items = "; ".join(f"{name} {doses} doses, {total}" for name, doses, total in sub.rows)
    return f"{sub.title}: {items}."


def _sub_table(w: _Writer, sub: SectionTable) -> None:
    """A smaller table under its section: a bold title, then rows; narrow tables take
    only the width they need."""
    w.pdf.ln(0.4)
    if sub.key == "controlled":
        # One line: a table of two or three rows would cost a third of a section.
        w.paragraph(_one_line(sub))
        return
    widths = sub.widths or tuple(1.0 for _ in sub.columns)
    saved = w.width
    w.width = min(saved, sum(widths) * 1.1) if len(sub.columns) < 5 else saved
    w.table(sub, widths, sub.numeric, title=sub.title)
    w.width = saved


def _legend(w: _Writer) -> None:
    pdf = w.pdf
    w.font(6.5)
    w.color((85, 85, 85))
    x, y = MARGIN, pdf.get_y() + 0.6
    pdf.set_line_width(STRIP_STROKE)
    for state, label in STRIP_LEGEND:
        _cell_marks(pdf, state, x, y + 0.2, 1.6, STRIP_H)
        pdf.set_xy(x + 2.8, y)
        text = w.text(label)
        pdf.cell(w.string_width(text) + 1, 3, text)
        x += 2.8 + w.string_width(text) + 5
    pdf.set_xy(MARGIN, y + 3.2)
    w.color()
