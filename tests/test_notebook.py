"""The Lab 17 student notebook runs top to bottom against the reference modules.

The notebook (assignments/lab17_backprop/lab17_backprop.ipynb) is executed in a copy of the
assignment folder whose four modules are replaced by the reference solutions. Cells tagged
"export" (grader.export) are removed first: they would write a submission zip.
"""
import json
import re
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


HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_every_heading_has_korean_lines_first():
    for cell in _read_notebook().cells:
        if cell.cell_type != "markdown":
            continue
        lines = [line for line in cell.source.splitlines() if line.strip()]
        for k, line in enumerate(lines):
            if line.lstrip("> ").startswith("#") and k + 1 < len(lines):
                assert HANGUL.search(lines[k + 1]), f"no Korean line under {line!r}"


def test_part_d_derives_delta_L_for_both_losses():
    markdown = [c.source for c in _read_notebook().cells if c.cell_type == "markdown"]
    (derivation,) = [m for m in markdown if m.startswith("### Where $\\delta^L$ comes from")]
    for needed in ("Softmax with cross-entropy", "-\\log s_y", "s_y(\\delta_{yk} - s_k)", "= s_k - \\delta_{yk}",
                   "MSE", "\\frac{1}{2N}", "\\odot\\varphi^{L\\,\\prime}(Z^L)", "exactly once"):
        assert needed in derivation, needed
    part_d = markdown.index(next(m for m in markdown if m.startswith("## Part D")))
    assert markdown[part_d + 1] is derivation


def test_part_c_relates_the_slides_columns_to_the_kits_rows():
    cells = _read_notebook().cells
    (k,) = [i for i, c in enumerate(cells) if c.source.startswith("### The slide's columns, the kit's rows")]
    assert "\\mathbf W^l = [\\mathbf w^l_1" in cells[k].source and "transpose" in cells[k].source
    assert cells[k + 1].cell_type == "code" and "fig_columns" in cells[k + 1].source


# Appended to the executed notebook: what the figures show.
PROBE = """
import json as _json
def _labels(ax):
    return [a.get_label() for a in list(ax.get_lines()) + list(ax.collections) if not a.get_label().startswith("_")]
print("PROBE " + _json.dumps({
    "fig_108": [[ax.get_title(), _labels(ax)] for ax in fig_activations.axes],
    "xor": [_labels(ax) for ax in fig_xor.axes],
    "perceptron_wrong": int((pred_p != y_xor).sum()), "mlp_wrong": int((pred_m != y_xor).sum()),
    "columns": [ax.get_title() for ax in fig_columns.axes],
}))
"""


def _probe(code_cells):
    text = "\n".join(_output_text(o) for o in code_cells[-1].outputs)
    return json.loads(text.split("PROBE ", 1)[1])


def check_figures(figures):
    """Fig. 10-8: one panel per function, each with its function and derivative and nothing else;
    the XOR figure: the perceptron's line and its misclassified points."""
    panels = {title: labels for title, labels in figures["fig_108"]}
    assert set(panels) == {"step (heaviside)", "sigmoid", "tanh", "ReLU", "leaky ReLU (α = 0.1)"}, panels
    assert all(labels == ["φ(z)", "φ′(z)"] for labels in panels.values()), panels
    perceptron, network = figures["xor"]
    assert "w·x + b = 0" in perceptron, perceptron
    assert f"misclassified ({figures['perceptron_wrong']})" in perceptron and figures["perceptron_wrong"] >= 1, perceptron
    assert f"misclassified ({figures['mlp_wrong']})" in network, network
    assert len(figures["columns"]) == 2 and "column" in figures["columns"][0] and "row" in figures["columns"][1]


@pytest.mark.parametrize("figures", [
    {"fig_108": [["sigmoid", ["sigmoid", "tanh", "ReLU", "leaky ReLU"]], ["Derivatives", ["sigmoid"]]]},
    {"fig_108": [[t, ["φ(z)", "φ′(z)"]] for t in ("step (heaviside)", "sigmoid", "tanh", "ReLU", "leaky ReLU (α = 0.1)")],
     "xor": [["class 0", "class 1"], ["class 0", "class 1"]], "perceptron_wrong": 2, "mlp_wrong": 0, "columns": []},
])
def test_figure_check_refuses_the_old_figures(figures):
    """The old Fig. 10-8 (all curves on one axes) and the old XOR figure (no line, no marks) fail."""
    with pytest.raises((AssertionError, KeyError, ValueError)):
        check_figures(figures)


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
    nb.cells = [c for c in nb.cells if not _is_export(c)] + [nbformat.v4.new_code_cell(PROBE)]

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
    assert images >= 4, f"expected at least 4 figures, got {images}"
    check_figures(_probe(code_cells))

    check_cells = [c for c in code_cells if "grader.check(" in c.source]
    assert len(check_cells) >= len(QUESTIONS)
    for cell in check_cells:
        text = "\n".join(_output_text(o) for o in cell.outputs)
        assert text.strip(), f"no output from {cell.source!r}"
        assert "failed" not in text.lower(), f"{cell.source!r} reported a failure:\n{text}"
        assert "passed" in text.lower(), f"{cell.source!r} did not report its checks passing:\n{text}"
