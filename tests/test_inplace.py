"""The inputs are what the parent placed, whatever their container: a list of params changed in
place is seen as an array changed in place is, and a partly right value that changed its input
pays the in-place deduction too (autograder.grading, the runner's container check)."""
import json

import pytest

from autograder import batch
from autograder.config import DEFAULTS

EDITS = {
    # right values, but the caller's list is rewritten: params[:] = ...
    "list_changed": ("backprop", "    return [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]",
                     "    params[:] = [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]\n"
                     "    return list(params)"),
    # dA_prev and dW right, db averaged (wrong), and the caller's dZ zeroed after use
    "partial_and_changed": ("backprop", "    dZ = np.asarray(dZ, dtype=float)\n    dA_prev = dZ @ np.asarray(W, dtype=float)\n"
                            "    dW = dZ.T @ np.asarray(A_prev, dtype=float)\n    db = dZ.sum(axis=0)\n",
                            "    dZ_caller = dZ\n    dZ = np.array(dZ, dtype=float)\n    dA_prev = dZ @ np.asarray(W, dtype=float)\n"
                            "    dW = dZ.T @ np.asarray(A_prev, dtype=float)\n    db = dZ.mean(axis=0)\n    dZ_caller[...] = 0.0\n"),
    "partial_only": ("backprop", "    db = dZ.sum(axis=0)\n    return dA_prev, dW, db",
                     "    db = dZ.mean(axis=0)\n    return dA_prev, dW, db"),
}


def write(lab, folder, name):
    module, old, new = EDITS[name]
    folder.mkdir(parents=True)
    for m, text in lab.reference_sources().items():
        if m == module:
            assert old in text, name
            text = text.replace(old, new)
        (folder / f"{m}.py").write_text(text)
    return folder


@pytest.fixture(scope="module")
def graded(lab, tmp_path_factory):
    root = tmp_path_factory.mktemp("inplace")
    sources = [write(lab, root / "in" / name, name) for name in EDITS]
    rows = batch.grade_batch(lab, sources, root / "out", DEFAULTS.with_overrides(isolation="auto"), jobs=1,
                             log=lambda *a: None, progress=False, report_png=False)
    functions = {name: json.loads((root / "out" / "submissions" / name / "results.json").read_text())["extra_data"]["functions"]
                 for name in EDITS}
    feedback = {name: (root / "out" / "submissions" / name / "feedback.txt").read_text() for name in EDITS}
    return {r["file"]: r for r in rows}, functions, feedback


def test_a_list_changed_in_place_is_seen(graded):
    rows, functions, feedback = graded
    step = functions["list_changed"]["backprop.gradient_descent_step"]
    assert step["earned"] == pytest.approx(step["points"] / 2)       # the deduction, once
    assert "modified its input params in place" in feedback["list_changed"]


def test_a_partly_right_value_that_changed_its_input_pays_the_deduction(graded):
    rows, functions, feedback = graded
    partial = functions["partial_only"]["backprop.dense_backward"]
    changed = functions["partial_and_changed"]["backprop.dense_backward"]
    assert 0 < partial["earned"] < partial["points"]
    assert changed["earned"] == pytest.approx(max(0.0, partial["earned"] - partial["points"] / 2), abs=0.011)
    assert "it changed an input in place" in feedback["partial_and_changed"]
    assert "it changed an input in place" not in feedback["partial_only"]
