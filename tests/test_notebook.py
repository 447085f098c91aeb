"""The Lab 17 student notebook runs top to bottom against the reference modules.

The notebook (assignments/lab17_backprop/lab17_backprop.ipynb) is executed in a copy of the
assignment folder whose four modules are replaced by the reference solutions. Cells tagged
"export" (grader.export) are removed first: they would write a submission zip.
"""
import shutil
import time
from pathlib import Path

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = ROOT / "assignments" / "lab17_backprop"
SOLUTIONS = ROOT / "solutions" / "lab17_backprop"
NOTEBOOK = "lab17_backprop.ipynb"
MODULES = ["tlu.py", "activations.py", "mlp.py", "backprop.py"]
QUESTIONS = ["tlu", "activations", "forward", "backprop", "training"]

def _read_notebook():
    return nbformat.read(ASSIGNMENT / NOTEBOOK, as_version=4)


def _is_export(cell):
    return "export" in cell.get("metadata", {}).get("tags", [])


def _output_text(output):
    """All text an output shows: stream text, text/plain, text/html, or an error."""
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return "\n".join([output.get("ename", ""), output.get("evalue", "")] + output.get("traceback", []))
    data = output.get("data", {})
    return "\n".join(str(data.get(key, "")) for key in ("text/plain", "text/html"))


def test_notebook_source_is_clean():
    nb = _read_notebook()
    nbformat.validate(nb)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert code_cells, "the notebook has no code cells"
    assert 'otter.Notebook("lab17_backprop.ipynb", tests_dir="tests")' in code_cells[0].source
    for cell in code_cells:
        assert cell.get("outputs", []) == [], f"stored outputs in cell:\n{cell.source}"
        assert cell.get("execution_count") is None, f"stored execution count in cell:\n{cell.source}"
    checks = [c.source for c in code_cells if "grader.check(" in c.source]
    for q in QUESTIONS:
        assert any(f'grader.check("{q}")' in src for src in checks), f'no grader.check("{q}") cell'
    exports = [c for c in code_cells if _is_export(c)]
    assert len(exports) == 1 and "grader.export(" in exports[0].source
    assert code_cells[-1] is exports[0], "the export cell must be the last code cell"


@pytest.mark.parametrize("otter", ["with otter", "without otter"])
def test_notebook_runs_with_reference_modules(tmp_path, monkeypatch, otter):
    """With Otter, and without it (an `otter` on the kernel's PYTHONPATH that fails to import,
    as a missing package does): the first cell then falls back to checks.py."""
    if otter == "without otter":
        blocker = tmp_path / "no_otter"
        blocker.mkdir()
        (blocker / "otter.py").write_text('raise ModuleNotFoundError("No module named \'otter\'", name="otter")\n')
        monkeypatch.setenv("PYTHONPATH", str(blocker))
    work = tmp_path / "lab17_backprop"
    shutil.copytree(ASSIGNMENT, work, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    for name in MODULES:
        shutil.copy(SOLUTIONS / name, work / name)
    assert (work / "tests").is_dir(), "the public self-checks tests/<question>.py are missing"

    nb = _read_notebook()
    nb.cells = [c for c in nb.cells if not _is_export(c)]

    monkeypatch.setenv("MPLBACKEND", "Agg")  # the kernel inherits this environment
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(work)}}
    )
    start = time.perf_counter()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"a notebook cell raised an error:\n{exc}")
    elapsed = time.perf_counter() - start
    print(f"notebook executed in {elapsed:.1f} s")

    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    errors = [c.source for c in code_cells for o in c.outputs if o.output_type == "error"]
    assert not errors, f"cells with errors: {errors}"

    first = "\n".join(_output_text(o) for o in code_cells[0].outputs)
    if otter == "without otter":
        assert first.count("pip install otter-grader") == 1 and len(first.strip().splitlines()) == 1, first
    else:
        assert not first.strip(), first

    images = sum(1 for c in code_cells for o in c.outputs if "image/png" in o.get("data", {}))
    assert images >= 3, f"expected at least 3 figures, got {images}"

    check_cells = [c for c in code_cells if "grader.check(" in c.source]
    assert len(check_cells) >= len(QUESTIONS)
    for cell in check_cells:
        text = "\n".join(_output_text(o) for o in cell.outputs)
        assert text.strip(), f"no output from {cell.source!r}"
        assert "failed" not in text.lower(), f"{cell.source!r} reported a failure:\n{text}"
        assert "passed" in text.lower(), f"{cell.source!r} did not report its checks passing:\n{text}"
