"""Tests never touch real data: HOME, XDG_DATA_HOME and MEDTRACK_DB point at a tmp path,
and each test runs in its own temporary folder. Tests write only inside their temporary
folders: the session fails if the checkout gained a file (issue 17)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


CHECKOUT = Path(__file__).resolve().parents[1]
# Made by the tools that run the tests, not by the tests.
TOOL_CACHES = {".git", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", ".mypy_cache"}


def checkout_files(root: Path = CHECKOUT) -> set[str]:
    """Every file and folder under `root`, except the tools' caches, build metadata and
    virtual environments (which pytest's imports may add to)."""
    found: set[str] = set()
    for folder, subfolders, files in os.walk(root):
        here = Path(folder)
        subfolders[:] = [
            name
            for name in subfolders
            if name not in TOOL_CACHES
            and not name.endswith(".egg-info")
            and not (here / name / "pyvenv.cfg").exists()
        ]
        relative = here.relative_to(root)
        found.update(str(relative / name) for name in (*subfolders, *files))
    return found


@pytest.fixture(scope="session", autouse=True)
def checkout_stays_clean():
    """Fails the session when running the tests left a new file in the checkout (the
    demo once wrote medtrack-demo/ into the folder pytest ran from)."""
    before = checkout_files()
    yield
    added = sorted(checkout_files() - before)
    assert not added, f"the tests wrote into the checkout: {added[:10]}"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    # Commands that write into the current folder (demo, report's default PDF name)
    # write into the test's own folder.
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("MEDTRACK_DB", str(tmp_path / "medtrack.db"))
    monkeypatch.setenv("TZ", "Europe/Berlin")
    monkeypatch.delenv("MEDTRACK_PROFILE", raising=False)
    monkeypatch.delenv("MEDTRACK_NOW", raising=False)
    monkeypatch.delenv("MEDTRACK_DEBUG", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return home
