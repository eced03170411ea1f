"""Shell completion that survives names with spaces.

Typer's bash script puts each value in COMPREPLY as it is, and bash inserts it unquoted:
`vitamin D` became two words. Here bash gets each value escaped for its own parser
(`vitamin\\ D`). zsh (through `_arguments`, which quotes what it inserts) and fish (which
escapes a completion itself) take the plain value. Imported only when a shell asks for
completions, so nothing else pays for it.
"""

from __future__ import annotations

import os
import re

from typer._click.shell_completion import CompletionItem, add_completion_class
from typer._completion_classes import BashComplete, ZshComplete

# What bash would read as something other than a literal character of a word.
_BASH_SPECIAL = re.compile(r"""([\s'"\\$`!&;|<>()*?\[\]{}#~=,^])""")


def bash_word(value: str) -> str:
    """`value` as one literal word of bash's command line: specials escaped by a backslash."""
    return _BASH_SPECIAL.sub(r"\\\1", value)


def open_quote(line: str) -> str | None:
    """The quote the last word of a bash command line was opened with and not closed
    (`take "vit` -> '"'), or None."""
    quote: str | None = None
    escaped = False
    for char in line:
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
    return quote


class QuotingBashComplete(BashComplete):
    """Typer's bash completion, with each value escaped as one bash word: inside a quote
    the person opened, bash keeps the quote and the value goes in as it is (a double
    quote still escapes its own specials)."""

    def format_completion(self, item: CompletionItem) -> str:
        quote = open_quote(os.environ.get("COMP_WORDS", ""))
        if quote == "'":
            return item.value
        if quote == '"':
            return re.sub(r'(["\\$`])', r"\\\1", item.value)
        return bash_word(item.value)


def zsh_value(value: str) -> str:
    """`value` inside the double quotes of an `_arguments '*: :(("value"))'` spec that the
    zsh script evaluates: a single quote closes and reopens the outer quoting (Typer's
    doubling dropped it: "St John's wort" became "St Johns wort"), a double quote, `$`
    and a backquote are escaped for the inner double quotes, a colon for _arguments."""
    inner = re.sub(r'(["\\$`])', r"\\\1", value).replace(":", r"\\:")
    return inner.replace("'", "'\\''")


class QuotingZshComplete(ZshComplete):
    """Typer's zsh completion, with values that keep every character (medtrack gives no
    help texts with its values)."""

    def format_completion(self, item: CompletionItem) -> str:
        return f'"{zsh_value(item.value)}"'


def register() -> None:
    """Make bash and zsh completion quote their values (called right before a completion
    is served); fish escapes what it inserts and takes Typer's class as it is."""
    add_completion_class(QuotingBashComplete, QuotingBashComplete.name)
    add_completion_class(QuotingZshComplete, QuotingZshComplete.name)
