"""Points in proportion to the mistake: a right value that changed its input costs a fixed
half of the function's points (not every case), and a tuple result earns its right items."""
import pytest

from autograder import batch, bank
from autograder.config import DEFAULTS


@pytest.fixture(scope="module")
def graded(lab, tmp_path_factory):
    root = tmp_path_factory.mktemp("scoring")
    mistakes = {m.name: m for m in lab.private_module("mistakes", "the bank").MISTAKES}
    sources = []
    for name in ("gradient_descent_step_in_place", "dense_backward_dw_transposed"):
        folder = root / name
        folder.mkdir()
        for module, text in bank.apply(mistakes[name].edits, lab.reference_sources()).items():
            (folder / f"{module}.py").write_text(text)
        sources.append(folder)
    out = root / "out"
    rows = batch.grade_batch(lab, sources, out, DEFAULTS, jobs=2, log=lambda *a: None, progress=False, report_png=False)
    return {r["file"]: r for r in rows}, out


def test_an_input_changed_in_place_costs_half_of_the_function_once(graded):
    rows, out = graded
    row = rows["gradient_descent_step_in_place"]
    assert row["training"] == 10 - 4 / 2, row   # gradient_descent_step is worth 4; every other case is right
    feedback = (out / "submissions" / "gradient_descent_step_in_place" / "feedback.txt").read_text()
    assert "half of gradient_descent_step's points are deducted, once" in feedback
    assert "lost 2 of 4 points" in feedback


def test_a_tuple_result_earns_its_right_items(graded):
    rows, _ = graded
    assert rows["dense_backward_dw_transposed"]["backprop"] == 30 - 6 / 3   # dW wrong, dA_prev and db right
