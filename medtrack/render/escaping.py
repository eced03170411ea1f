"""Stored text is shown, never obeyed: one escaping function per output format.

Names, notes and reasons are typed by a person, imported from a file or restored from a
backup; any of them may hold rich markup (`[red]`, `[link=...]`), terminal escapes
(`ESC ]8;;http://...`), HTML (`<script>`), Markdown table syntax, spreadsheet formulas or
desktop-notification markup. Each renderer passes stored text through the function for its
format where the text meets the format (a table cell, a line, a header value), so the text
reads as the person wrote it and nothing in it acts.

Kept free of heavy imports: the error line of every command goes through `error_text`.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls, DEL and C1 controls (CSI is U+009B in 8-bit terminals), Unicode line and
# paragraph separators, and the bidirectional controls that reorder what follows them
# (the "Trojan Source" characters): none of them is ever meant to act from stored text.
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]"  # lone surrogates: bytes that were not UTF-8
)
_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\x1b": "\\x1b"}


def _shown(char: str) -> str:
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, keep: str = "") -> str:
    """`text` with every control character written out as an escape (`ESC` -> `\\x1b`,
    a newline -> `\\n`), except the characters in `keep` (newline and tab, say)."""
    if _CONTROL.search(text) is None:  # the common case: nothing to replace
        return text
    return _CONTROL.sub(lambda m: m[0] if m[0] in keep else _shown(m[0]), text)


# --- terminal ----------------------------------------------------------------------------


def terminal_text(text: str) -> str:
    """Lines for the terminal (rich never parses them): controls visible, newline and
    tab kept as they are."""
    return visible(text, keep="\n\t")


def terminal_cell(text: str) -> str:
    """One cell of an aligned plain-text table: one line, every control visible."""
    return visible(text)


def error_text(text: str) -> str:
    """An error message: one line whatever input it quotes (newlines shown as `\\n`)."""
    return visible(text)


def rich_text(text: str) -> Any:
    """A rich `Text` for stored text: never parsed for markup (`[red]`, `[/]`,
    `[link=...]` stay literal), controls visible, newlines kept (rich wraps inside cells)."""
    from rich.text import Text

    return Text(visible(text, keep="\n"))


# JSON text printed by medtrack escapes C0 controls itself; these are the others a
# terminal may act on. Escaped as \\uXXXX, the JSON still decodes to the same value.
_JSON_EXTRA = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_text(text: str) -> str:
    """JSON text (as json.dumps wrote it) safe to print: the controls json leaves raw are
    written as `\\uXXXX` escapes, which decode to the same value."""
    if _JSON_EXTRA.search(text) is None:
        return text
    return _JSON_EXTRA.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


# --- Markdown ----------------------------------------------------------------------------

# Characters with a meaning inline in CommonMark / GitHub Markdown: emphasis, code, links
# and images, tables, strikethrough, and the backslash that escapes them all.
_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")
# What makes a block when it opens a line (a heading, a list, a rule, a quote is `>`,
# which becomes &gt; below).
_MD_LINE_START = re.compile(r"^(\d{1,9})?([#+\-=]|(?<=\d)[.)](?=\s|$))")


def markdown_text(text: str, *, line_start: bool = False) -> str:
    """Stored text inside a Markdown line or table cell: HTML becomes text (`<script>`
    shows as written), emphasis, links, code and `|` are escaped, and a newline becomes
    `<br>` so a note stays in its cell (or list item) instead of opening new rows or
    headings. `line_start`: the text opens a line (a list item), where `#`, `-`, `+` or
    `1.` would start a block."""
    shown = visible(text, keep="\n")
    shown = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    shown = _MD_INLINE.sub(r"\\\1", shown)
    if line_start:
        # Leading spaces would make an indented code block inside a list item.
        shown = _MD_LINE_START.sub(r"\1\\\2", shown.lstrip(" "))
    return shown.replace("\n", "<br>")


# --- HTML --------------------------------------------------------------------------------


def html_text(text: str) -> str:
    """Stored text as HTML element content: escaped, controls visible, newlines as <br>."""
    from html import escape as _html_escape

    return _html_escape(visible(text, keep="\n")).replace("\n", "<br>")


def html_attribute(text: str) -> str:
    """Stored text inside a quoted HTML attribute value: one line, quotes escaped."""
    from html import escape as _html_escape

    return _html_escape(visible(text), quote=True)


# --- CSV ---------------------------------------------------------------------------------

# OWASP, "CSV Injection": a cell starting with one of these is read as a formula by
# Excel, LibreOffice and Google Sheets; a leading apostrophe makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell value: text a spreadsheet would run as a formula gets a leading `'`
    (numbers stay numbers: -5 written as a number is not a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# --- desktop notifications ---------------------------------------------------------------


def notification_body(text: str) -> str:
    """The body of a desktop notification: notification servers render a subset of HTML
    (<b>, <a href>, <img>), so it is escaped; controls are shown."""
    from html import escape as _html_escape

    return _html_escape(visible(text, keep="\n"), quote=False)
