"""Shell completion as a person meets it: the real completion scripts of bash, zsh and fish
run in a pseudo-terminal, a name with spaces completed with Tab and the command run."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medtrack.cli import app
from medtrack.cli.completion import bash_word, open_quote, zsh_value

NOW = "2026-12-05T18:00:00Z"


def medtrack_bin() -> str:
    return str(Path(sys.executable).parent)


@pytest.fixture
def names():
    runner = CliRunner()
    for name, dose in (
        ("vitamin D", "1000IU"),
        ("St John's wort", "300mg"),
        ("sertraline", "50mg"),
    ):
        result = runner.invoke(
            app,
            ["med", "add", name, "--dose", dose, "--schedule", "daily 09:00"],
            env={"MEDTRACK_NOW": "2026-12-01T07:00:00Z"},
        )
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["symptom", "mood", "6", "anxiety", "3", "restlessness", "2"])
    assert result.exit_code == 0, result.output


def complete(line: str) -> list[str]:
    """What the bash completion of `line` (the word under the cursor last) replies."""
    words = line.split(" ")
    env = dict(
        os.environ,
        _MEDTRACK_COMPLETE="complete_bash",
        COMP_WORDS=line,
        COMP_CWORD=str(len(words) - 1),
        MEDTRACK_NOW=NOW,
    )
    exe = str(Path(medtrack_bin()) / "medtrack")
    result = subprocess.run([exe], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_a_word_for_bash_escapes_what_bash_would_read():
    assert bash_word("vitamin D") == r"vitamin\ D"
    assert bash_word("St John's wort") == r"St\ John\'s\ wort"
    assert bash_word("a$b`c\\d") == r"a\$b\`c\\d"
    assert bash_word("sertraline") == "sertraline"


def test_a_value_for_zsh_keeps_its_quotes_through_the_spec_zsh_evaluates():
    assert zsh_value("St John's wort") == "St John'\\''s wort"
    assert zsh_value('say "hi" $x') == 'say \\"hi\\" \\$x'
    assert zsh_value("a:b") == "a\\\\:b"


def test_the_quote_a_word_was_opened_with():
    assert open_quote('medtrack take "vit') == '"'
    assert open_quote("medtrack take 'vit") == "'"
    assert open_quote('medtrack take "a b" vit') is None
    assert open_quote(r"medtrack take vitamin\ D") is None
    assert open_quote(r"medtrack take \"vit") is None


@pytest.mark.parametrize(
    "line, expected",
    [
        ("medtrack take vit", [r"vitamin\ D"]),
        ('medtrack take "vit', ["vitamin D"]),
        ("medtrack skip St", [r"St\ John\'s\ wort"]),
        ("medtrack skip vit --reason si", ["side-effects"]),
        ("medtrack report --format ", ["terminal", "md", "html", "pdf"]),
        ("medtrack export --format ", ["ics", "json", "fhir", "csv"]),
        ("medtrack med add x --kind ", ["rx", "otc", "supplement"]),
        ("medtrack side-effect nausea --severity m", ["mild", "moderate"]),
        ("medtrack visit add x --kind t", ["therapist"]),
        ("medtrack undo --kind s", ["symptom", "side-effect"]),
        ("medtrack checkin ", ["take", "list", "phq9", "gad7"]),
        ("medtrack config set on", ["on_time_window"]),
        ("medtrack config get w", ["weight_unit"]),
        ("medtrack report --for t", ["therapist"]),
        ("medtrack checkin list -q g", ["gad7"]),
        ("medtrack import x.csv --format ", ["json", "csv"]),
        ("medtrack measure list --kind w", ["weight"]),
        ("medtrack symptom re", ["record", "restlessness"]),
        ("medtrack symptom mood 6 an", ["anxiety"]),
        ("medtrack symptom list --name s", ["sleep"]),
    ],
)
def test_completion_offers_the_words_the_command_accepts(names, line, expected):
    assert complete(line) == expected


# --- the shells themselves ------------------------------------------------------------------

SHELLS = {
    "bash": (
        ["bash", "--norc", "--noprofile", "-i"],
        'eval "$(_MEDTRACK_COMPLETE=source_bash medtrack)"',
    ),
    "zsh": (
        ["zsh", "-f", "-i"],
        'autoload -Uz compinit; compinit -u -D; eval "$(_MEDTRACK_COMPLETE=source_zsh medtrack)"',
    ),
    "fish": (["fish", "--no-config", "-i"], "_MEDTRACK_COMPLETE=source_fish medtrack | source"),
}


class Terminal:
    """A shell on a pseudo-terminal, typed into like a person would."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        import fcntl
        import pty
        import termios

        self.master, slave = pty.openpty()

        def controlling_terminal() -> None:
            # fish refuses an interactive session without one.
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.process = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            preexec_fn=controlling_terminal,
        )
        os.close(slave)
        self.seen = b""

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def wait_for(self, marker: str, limit: float = 30.0) -> str:
        """Everything the shell printed until `marker` appeared (or the limit passed)."""
        end = time.monotonic() + limit
        while marker.encode() not in self.seen and time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    break
        return self.seen.decode(errors="replace")

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        os.close(self.master)


@pytest.mark.slow
@pytest.mark.parametrize("shell", list(SHELLS))
@pytest.mark.parametrize(
    "typed, shown",
    [("medtrack med show vit", "vitamin D (rx)"), ("medtrack med show St", "St John's wort (rx)")],
)
def test_tab_completes_a_name_with_spaces_that_then_runs(names, shell, typed, shown):
    argv, setup = SHELLS[shell]
    if shutil.which(argv[0]) is None:
        # bash is on every machine this runs on; zsh and fish are checked where installed.
        assert shell != "bash", "bash is needed to test completion"
        pytest.skip(f"{shell} is not installed")
    env = dict(
        os.environ,
        TERM="dumb",
        PATH=medtrack_bin() + os.pathsep + os.environ.get("PATH", ""),
        MEDTRACK_NOW=NOW,
        PS1="$ ",
    )
    terminal = Terminal(argv, env)
    try:
        ready = "(math 6 \\* 7)" if shell == "fish" else "$((6*7))"
        terminal.type(f"{setup}; echo READY-{ready}\n")
        terminal.wait_for("READY-42")
        terminal.type(typed + "\t")
        terminal.wait_for("wort " if "St" in typed else "D ")
        if shell == "fish":
            terminal.type("; echo EXIT-$status DONE-(math 1 + 1)\n")
        else:
            terminal.type("; echo EXIT-$? DONE-$((1+1))\n")
        seen = terminal.wait_for("DONE-2")
    finally:
        terminal.close()
    after_tab = seen.split("READY-42")[-1]
    assert shown in after_tab, after_tab
    assert "no medication called" not in after_tab
    assert "unexpected extra argument" not in after_tab
    assert "EXIT-0" in after_tab
