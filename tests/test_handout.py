"""The handout installs and opens without Otter: the notebook's first cell and its export cell.

Three setups, as students have them:
- a Python without Otter (plain local Python, Anaconda, Colab): the first cell falls back to the
  handout's checks.py, prints one line on how to install Otter, and `grader.check("tlu")` and
  `grader.export(...)` still work. Otter's absence is simulated by an `otter` module on
  PYTHONPATH that raises ModuleNotFoundError, as a missing package does; the slow test repeats
  it in a fresh venv with only numpy and matplotlib installed (skipped when pip cannot reach a
  package index);
- a Python with Otter (this kit's venv): the first cell uses otter.Notebook;
- Colab's layout: the notebook is not in the working folder, which holds student.zip or the
  unzipped lab17_backprop/ folder; the first cell unzips it and moves into the folder.

The cells run in subprocesses (python -c with the cell's source) on the unzipped student.zip.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import cli

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions" / "lab17_backprop"
MODULES = ["tlu.py", "activations.py", "mlp.py", "backprop.py"]
NOTEBOOK = "lab17_backprop.ipynb"
INSTALL_LINE = "pip install otter-grader"
NO_OTTER = 'raise ModuleNotFoundError("No module named \'otter\'", name="otter")\n'


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    assert cli.main(["build", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def no_otter(tmp_path_factory):
    """A folder for PYTHONPATH whose `otter` fails to import like a package that is not installed."""
    folder = tmp_path_factory.mktemp("no_otter")
    (folder / "otter.py").write_text(NO_OTTER)
    return folder


def code_cells(work):
    nb = json.loads((work / NOTEBOOK).read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def unzip(dist, dest, reference=False):
    with zipfile.ZipFile(dist / "student.zip") as archive:
        archive.extractall(dest)
    work = dest / "lab17_backprop"
    if reference:
        for name in MODULES:
            shutil.copy(SOLUTIONS / name, work / name)
    return work


def run_cells(cwd, *sources, python=sys.executable, pythonpath=None):
    """Run cell sources one after the other in one Python process started in cwd."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MPLBACKEND"] = "Agg"
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    program = "\n".join(f"exec(compile({s!r}, 'cell {i}', 'exec'))" for i, s in enumerate(sources))
    proc = subprocess.run([str(python), "-c", program], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


SHOW = "print('grader is', type(grader).__module__ + '.' + type(grader).__name__)"
CHECK = "print('result:', repr(grader.check('tlu')))"


def test_first_cell_without_otter_falls_back_to_checks(dist, tmp_path, no_otter):
    work = unzip(dist, tmp_path)
    first = code_cells(work)[0]
    rc, out = run_cells(work, first, SHOW, CHECK, pythonpath=no_otter)
    assert rc == 0, out
    assert "grader is checks.Notebook" in out, out
    assert [line for line in out.splitlines() if INSTALL_LINE in line] == [out.splitlines()[0]], out  # one line, first
    assert "FAIL  heaviside: not written yet (raises NotImplementedError)" in out, out
    assert re.search(r"result: tlu results: 0 of (\d+) checks passed, \1 FAILED", out), out
    assert "Traceback" not in out, out


def test_first_cell_without_otter_passes_with_the_reference_and_exports(dist, tmp_path, no_otter):
    work = unzip(dist, tmp_path, reference=True)
    cells = code_cells(work)
    rc, out = run_cells(work, cells[0], CHECK, cells[-1], pythonpath=no_otter)
    assert rc == 0, out
    assert re.search(r"result: tlu results: All test cases passed! \(\d+ checks\)", out) and "FAIL" not in out, out
    assert "Otter is not installed, so this cell wrote" in out and "Submit that zip" in out, out
    (written,) = work.glob("lab17_backprop_*.zip")
    with zipfile.ZipFile(written) as archive:
        assert sorted(archive.namelist()) == sorted([NOTEBOOK, *MODULES])
        assert archive.read("backprop.py") == (SOLUTIONS / "backprop.py").read_bytes()


def test_first_cell_with_otter_uses_otter(dist, tmp_path):
    pytest.importorskip("otter")
    work = unzip(dist, tmp_path, reference=True)
    rc, out = run_cells(work, code_cells(work)[0], SHOW, CHECK)
    assert rc == 0, out
    assert "grader is otter.check.notebook.Notebook" in out, out
    assert INSTALL_LINE not in out, out
    assert "tlu results: All test cases passed!" in out, out


def test_colab_layout_unzips_and_moves_into_the_lab_folder(dist, tmp_path, no_otter):
    """Colab: the working folder is /content; the student uploaded student.zip there, and the
    notebook itself lives elsewhere (Drive or an upload)."""
    content = tmp_path / "content"
    content.mkdir()
    shutil.copy(dist / "student.zip", content / "student.zip")
    first = code_cells(unzip(dist, tmp_path / "copy"))[0]
    rc, out = run_cells(content, first, SHOW, "import os; print('cwd', os.getcwd())", CHECK, pythonpath=no_otter)
    assert rc == 0, out
    assert f"cwd {content / 'lab17_backprop'}" in out and "grader is checks.Notebook" in out, out
    assert "FAIL  heaviside: not written yet" in out, out
    # run again (a second session): the unzipped folder is used as it is, never unzipped over
    (content / "lab17_backprop" / "tlu.py").write_text((SOLUTIONS / "tlu.py").read_text())
    rc, out = run_cells(content, first, CHECK, pythonpath=no_otter)
    assert rc == 0 and "All test cases passed" in out, out


def test_first_cell_says_where_the_files_must_be(dist, tmp_path, no_otter):
    first = code_cells(unzip(dist, tmp_path / "copy"))[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, out = run_cells(empty, first, pythonpath=no_otter)
    assert rc == 1 and "FileNotFoundError: checks.py is not in" in out and "upload student.zip" in out, out


def test_export_with_otter_writes_its_zip(dist, tmp_path):
    pytest.importorskip("otter")
    work = unzip(dist, tmp_path, reference=True)
    cells = code_cells(work)
    rc, out = run_cells(work, cells[0], cells[-1])
    assert rc == 0, out
    assert "Otter is not installed" not in out and "grader.export failed" not in out, out
    (written,) = work.glob("lab17_backprop_*.zip")
    with zipfile.ZipFile(written) as archive:
        assert set(MODULES) <= set(archive.namelist()) and NOTEBOOK in archive.namelist()


# ---------------------------------------------------------------------------- a fresh venv
@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory):
    """A new venv with numpy and matplotlib from the package index, and no Otter."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
    python = venv / "bin" / "python"
    pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "numpy", "matplotlib"],
                         capture_output=True, text=True, timeout=600)
    if pip.returncode != 0:
        pytest.skip(f"pip could not install numpy and matplotlib (no package index?): {pip.stderr[-300:]}")
    probe = subprocess.run([str(python), "-c", "import otter"], capture_output=True, text=True)
    assert probe.returncode != 0, "the fresh venv must not have Otter"
    return python


@pytest.mark.slow
def test_fresh_venv_without_otter_runs_checks_and_the_first_cell(dist, tmp_path, fresh_python):
    work = unzip(dist, tmp_path / "skeleton")
    proc = subprocess.run([str(fresh_python), "checks.py"], cwd=work, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out, out
    assert "FAIL  sigmoid: not written yet (raises NotImplementedError)" in out, out
    total = re.search(r"Summary: 1 of (\d+) checks passed, (\d+) FAILED\.", out)   # all but the given ACTIVATIONS
    assert total and int(total.group(1)) - 1 == int(total.group(2)), out

    work = unzip(dist, tmp_path / "reference", reference=True)
    proc = subprocess.run([str(fresh_python), "checks.py"], cwd=work, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "Summary: all" in proc.stdout, proc.stdout + proc.stderr

    cells = code_cells(work)
    rc, out = run_cells(work, cells[0], SHOW, CHECK, cells[-1], python=fresh_python)
    assert rc == 0, out
    assert out.splitlines()[0].count(INSTALL_LINE) == 1 and "grader is checks.Notebook" in out, out
    assert "All test cases passed" in out and "Otter is not installed, so this cell wrote" in out, out
