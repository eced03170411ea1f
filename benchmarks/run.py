"""Time medtrack's commands as whole processes against the baseline `python -c "import typer"`.

    python benchmarks/run.py --db /tmp/decade.db [--runs 7] [--now 2026-11-23T14:00:00Z]
    python benchmarks/run.py --db /tmp/decade.db --compare /tmp/year.db   # window vs history

Each command runs once to warm the file cache, then --runs times, each run paired with a
run of the baseline (so a busy moment of a shared machine weighs on both); the table
shows the median wall time, its ratio to the median of its own paired baseline runs, and
the command's peak memory (ru_maxrss of a child, measured in a separate wrapper so every
command gets its own figure). The database is copied first: `take` writes to the copy,
never to the file given. This reports; it never fails on a slow figure (a noisy machine
is not a bug).

With --compare, the commands whose cost must follow the window asked for, not the whole
history (`summary --days 30`, `today`, `summary --days 365`), run on both databases and
are shown side by side with each one's dose-record count.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PEAK = (
    "import resource, subprocess, sys; "
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def medtrack_exe() -> str:
    exe = Path(sys.executable).parent / "medtrack"
    return str(exe) if exe.exists() else (shutil.which("medtrack") or "medtrack")


def commands(exe: str, take_med: str) -> list[tuple[str, list[str], dict[str, str], float | None]]:
    """(label, argv, extra env, target ratio)."""
    complete = {
        "_MEDTRACK_COMPLETE": "complete_bash",
        "COMP_WORDS": f"medtrack take {take_med[:3]}",
        "COMP_CWORD": "2",
    }
    return [
        ("medtrack --version", [exe, "--version"], {}, None),
        (f"take {take_med}", [exe, "take", take_med, "--yes"], {}, 1.3),
        ("today", [exe, "today"], {}, 1.3),
        ("remind", [exe, "remind"], {}, 1.3),
        ("status", [exe, "status"], {}, 1.3),
        ("completion of a name", [exe], complete, 1.3),
        ("summary --days 30", [exe, "summary", "--days", "30"], {}, 1.5),
        ("summary --days 365", [exe, "summary", "--days", "365"], {}, 3.0),
        ("summary --days 3650", [exe, "summary", "--days", "3650"], {}, 10.0),
        (
            "report html 90 days",
            [exe, "report", "--format", "html", "--since", "90 days ago", "-o", "{tmp}/r.html"],
            {},
            2.5,
        ),
        (
            "report html 10 years",
            [exe, "report", "--format", "html", "--since", "3650 days ago", "-o", "{tmp}/r10.html"],
            {},
            12.0,
        ),
        (
            "report pdf 90 days",
            [exe, "report", "--format", "pdf", "--since", "90 days ago", "-o", "{tmp}/r.pdf"],
            {},
            7.0,
        ),
        (
            "export json (all)",
            [exe, "export", "--format", "json", "-o", "{tmp}/all.json"],
            {},
            None,
        ),
    ]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    began = time.perf_counter()
    result = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - began, result.returncode


def peak_kib(argv: list[str], env: dict[str, str]) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PEAK, *argv], env=env, capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip())


def measure(
    argv: list[str], env: dict[str, str], runs: int, baseline: list[str]
) -> tuple[float, float, int, int]:
    """(median of `argv`, median of the baseline runs paired with it, exit code, peak KiB)."""
    timed(argv, env)  # warm-up
    samples, paired, code = [], [], 0
    for _ in range(runs):
        paired.append(timed(baseline, env)[0])
        elapsed, code = timed(argv, env)
        samples.append(elapsed)
    return statistics.median(samples), statistics.median(paired), code, peak_kib(argv, env)


def dose_count(db: Path) -> int:
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*) FROM doses").fetchone()[0]


def compare(args: argparse.Namespace, env: dict[str, str], tmp: str) -> int:
    exe = medtrack_exe()
    commands = [
        ("summary --days 30", [exe, "summary", "--days", "30"]),
        ("today", [exe, "today"]),
        ("summary --days 365", [exe, "summary", "--days", "365"]),
    ]
    baseline = [sys.executable, "-c", "import typer"]
    columns = []
    for index, source in enumerate((args.compare, args.db)):
        db = Path(tmp) / f"compare{index}.db"
        shutil.copyfile(source, db)
        here = dict(env, MEDTRACK_DB=str(db))
        medians = [measure(argv, here, args.runs, baseline)[0] for _label, argv in commands]
        columns.append((source, dose_count(db), db.stat().st_size / 1e6, medians))
    print(f"median of {args.runs} runs, ms; cost should follow the window, not the history")
    header = f"{'database':40} {'doses':>9} {'MB':>6}"
    print(header + "".join(f" {label:>20}" for label, _argv in commands))
    for source, doses, size, medians in columns:
        row = f"{source!s:40} {doses:9,d} {size:6.1f}"
        print(row + "".join(f" {m * 1000:20.1f}" for m in medians))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--now", default=None, help="pin MEDTRACK_NOW (the generator's end)")
    parser.add_argument("--take", default="sertraline", help="medication for `take`")
    parser.add_argument(
        "--compare", type=Path, help="a second database (e.g. one year): window-bound commands"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NO_COLOR="1")
        # Measure as an installed program runs: with its bytecode cached (some sandboxes
        # set PYTHONDONTWRITEBYTECODE, which would recompile medtrack on every run).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        if args.now:
            env["MEDTRACK_NOW"] = args.now
        if args.compare:
            return compare(args, env, tmp)
        db = Path(tmp) / "bench.db"
        shutil.copyfile(args.db, db)
        env["MEDTRACK_DB"] = str(db)
        baseline = [sys.executable, "-c", "import typer"]
        base, _, _, base_peak = measure(baseline, env, args.runs, baseline)
        rows = [("python -c 'import typer' (baseline)", base, base, 0, base_peak, None)]
        for label, command, extra, target in commands(medtrack_exe(), args.take):
            command = [part.replace("{tmp}", tmp) for part in command]
            median, paired, code, peak = measure(command, dict(env, **extra), args.runs, baseline)
            rows.append((label, median, paired, code, peak, target))
        size = db.stat().st_size / 1e6

    print(f"database: {args.db} ({size:.1f} MB), {args.runs} runs each, median wall time")
    print("ratio: to the median of the baseline runs paired with that command's runs")
    print(
        f"{'command':38} {'median ms':>10} {'base ms':>8} {'ratio':>7} {'target':>7} "
        f"{'peak MiB':>9}  exit"
    )
    for label, median, paired, code, peak, target in rows:
        ratio = median / paired
        mark = "" if target is None else ("ok" if ratio <= target else "OVER")
        target_text = "" if target is None else f"<={target:g}x"
        print(
            f"{label:38} {median * 1000:10.1f} {paired * 1000:8.1f} {ratio:6.2f}x "
            f"{target_text:>7} {peak / 1024:9.1f}  {code} {mark}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
