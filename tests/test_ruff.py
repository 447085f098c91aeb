"""The linter's configuration (pyproject.toml, [tool.ruff]) holds for the engine and the tests."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def ruff():
    beside = Path(sys.executable).with_name("ruff")
    return str(beside) if beside.exists() else shutil.which("ruff")


def test_ruff_finds_nothing_in_the_engine_and_the_tests():
    if not ruff():
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    run = subprocess.run([ruff(), "check", "--output-format", "concise", "autograder", "tests"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-1000:]


def test_ruff_reports_an_unused_import(tmp_path):
    if not ruff():
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    (tmp_path / "probe.py").write_text("import os\n")
    run = subprocess.run([ruff(), "check", "--config", str(ROOT / "pyproject.toml"), str(tmp_path / "probe.py")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "F401" in run.stdout
