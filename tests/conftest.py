"""Tests never touch real data: HOME, XDG_DATA_HOME and MEDTRACK_DB point at a tmp path."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
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
