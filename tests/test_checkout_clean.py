"""Issue 17, item 6: tests write only inside their temporary folders.

tests/conftest.py runs every test in its own temporary folder and fails the session when
the checkout gained a file; these tests check both halves of that.
"""

from __future__ import annotations

from pathlib import Path


def test_checkout_check_sees_a_new_file_but_not_caches(tmp_path):
    from conftest import checkout_files

    tree = tmp_path / "checkout"
    (tree / "tests").mkdir(parents=True)
    (tree / "tests" / "test_x.py").write_text("")
    before = checkout_files(tree)
    (tree / "tests" / "__pycache__").mkdir()
    (tree / "tests" / "__pycache__" / "test_x.pyc").write_text("")
    (tree / ".venv").mkdir()
    (tree / ".venv" / "pyvenv.cfg").write_text("")
    assert checkout_files(tree) == before
    (tree / "medtrack-demo").mkdir()
    (tree / "medtrack-demo" / "visit.md").write_text("")
    assert checkout_files(tree) - before == {"medtrack-demo", "medtrack-demo/visit.md"}


def test_checkout_is_not_the_working_folder():
    # Tests run in their own temporary folder (tests/conftest.py): a command that writes
    # into the current folder (demo, report's default PDF name) writes there.
    checkout = Path(__file__).resolve().parents[1]
    assert checkout not in Path.cwd().resolve().parents and Path.cwd().resolve() != checkout
