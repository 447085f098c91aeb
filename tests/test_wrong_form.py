"""A right value in the wrong form is not a wrong value: values right in a form the contract
does not allow (an integer dtype where float64 is asked, a list where an ndarray is) cost
Settings.form_share of the function's points, once; wrong values or a wrong shape still fail."""
import json

import pytest

from autograder import batch
from autograder.config import DEFAULTS

RELU_GRAD = "    return np.where(np.asarray(z, dtype=float) > 0, 1.0, 0.0)"
EDITS = {
    # numpy-ml's ReLU gradient: every value right, dtype int64
    "int_dtype": ("activations", RELU_GRAD, "    x = np.asarray(z)\n    return (x > 0).astype(int)"),
    # the same values as a nested list
    "as_list": ("activations", RELU_GRAD, "    return np.where(np.asarray(z, dtype=float) > 0, 1.0, 0.0).tolist()"),
    # an integer dtype whose values are wrong at z = 0: fails as before
    "int_and_wrong": ("activations", RELU_GRAD, "    return (np.asarray(z) >= 0).astype(int)"),
    # the right numbers flattened: a wrong shape fails as before
    "int_wrong_shape": ("activations", RELU_GRAD, "    return (np.asarray(z) > 0).astype(int).ravel()"),
}


@pytest.fixture(scope="module")
def graded(lab, tmp_path_factory):
    root = tmp_path_factory.mktemp("form")
    sources = []
    for name, (module, old, new) in EDITS.items():
        folder = root / "in" / name
        folder.mkdir(parents=True)
        for m, text in lab.reference_sources().items():
            if m == module:
                assert old in text, name
                text = text.replace(old, new)
            (folder / f"{m}.py").write_text(text)
        sources.append(folder)
    batch.grade_batch(lab, sources, root / "out", DEFAULTS.with_overrides(isolation="auto"), jobs=2,
                      log=lambda *a: None, progress=False, report_png=False)
    out = {}
    for name in EDITS:
        folder = root / "out" / "submissions" / name
        out[name] = (json.loads((folder / "results.json").read_text())["extra_data"]["functions"]["activations.relu_grad"],
                     (folder / "feedback.txt").read_text())
    return out


def test_an_integer_dtype_with_right_values_costs_the_stated_share_once(graded):
    grad, feedback = graded["int_dtype"]
    share = DEFAULTS.form_share
    assert 0 < share < 1
    assert grad["earned"] == pytest.approx(grad["points"] * (1 - share), abs=0.01)
    assert f"{share:.0%} of relu_grad's points are deducted, once" in feedback


def test_a_list_with_right_values_costs_the_same_share(graded):
    grad, _ = graded["as_list"]
    assert grad["earned"] == pytest.approx(grad["points"] * (1 - DEFAULTS.form_share), abs=0.01)


def test_wrong_values_or_a_wrong_shape_in_the_wrong_form_still_fail(graded):
    wrong, _ = graded["int_and_wrong"]
    shape, _ = graded["int_wrong_shape"]
    assert wrong["earned"] < graded["int_dtype"][0]["earned"]
    assert shape["earned"] < graded["int_dtype"][0]["earned"]   # its cases of 2-D z fail: wrong shape
    assert "wrong shape" in graded["int_wrong_shape"][1] or "shape" in graded["int_wrong_shape"][1]
