"""`python -m autograder mutants` prints every bank mistake with its function's points and
the points it costs."""
import json
from types import SimpleNamespace

import pytest

from autograder import mutants


def verdict(name, part, function, points, lost, elsewhere=None):
    return mutants.Verdict(name, part, lost, elsewhere or {}, 100 - lost, function, points, lost)


def test_the_table_has_a_row_per_mistake_with_points_and_cost():
    found = [verdict("sigmoid_grad_on_output", "activations", "activations.sigmoid_grad", 3, 3),
             verdict("mlp_backward_missing_1_over_n", "backprop", "backprop.mlp_backward", 10, 4.44),
             verdict("escapes", "tlu", "tlu.sign", 3, 0, {"forward": 1.5})]
    lines = mutants.table(found)
    assert lines[0].split() == ["mistake", "part", "function", "points", "lost", "share", "elsewhere"]
    assert len(lines) == 1 + len(found)
    assert lines[1].split() == ["sigmoid_grad_on_output", "activations", "sigmoid_grad", "3", "3", "100%"]
    assert lines[2].split() == ["<", "half", "mlp_backward_missing_1_over_n", "backprop", "mlp_backward", "10", "4.44", "44%"]
    assert lines[3].split() == ["ESCAPED", "escapes", "tlu", "sign", "3", "0", "0%", "forward", "-1.5"]
    summary = mutants.summary(found, [])
    assert summary[0].startswith("mutation score: 2/3") and summary[1:1 + len(lines)] == lines
    assert "mistakes that cost less than half of their function's points: 1/3" in summary
    assert summary[-1] == "escaped: escapes"


def test_function_points_come_from_results_json(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"extra_data": {"functions": {"tlu.sign": {"earned": 0.5, "points": 3}}}}))
    assert mutants.function_scores(path) == {"tlu.sign": (0.5, 3.0)}
    path.write_text("{}")
    assert mutants.function_scores(path) == {}
    assert mutants.function_scores(tmp_path / "none.json") == {}


def test_full_names_are_looked_up_in_the_part_first(lab):
    assert mutants.full_name(lab, "tlu", "sign") == "tlu.sign"
    assert mutants.full_name(lab, "training", "train") == "backprop.train"
    fake = SimpleNamespace(questions=[SimpleNamespace(name="a", functions={"m.f": 1}),
                                      SimpleNamespace(name="b", functions={"n.f": 1})])
    assert mutants.full_name(fake, "b", "f") == "n.f" and mutants.full_name(fake, "a", "f") == "m.f"


def test_run_fills_in_the_function_and_its_points(lab, settings, monkeypatch):
    bank = mutants.load_bank(lab)
    chosen = [m for m in bank.MISTAKES if m.name in ("sigmoid_grad_on_output", "mlp_backward_missing_1_over_n")]
    small = SimpleNamespace(MISTAKES=chosen, VARIANTS=bank.VARIANTS[:1], apply=bank.apply)
    monkeypatch.setattr(mutants, "load_bank", lambda lab: small)
    found, variants = mutants.run(lab, settings, jobs=2)
    by_name = {m.name: m for m in found}
    sig = by_name["sigmoid_grad_on_output"]
    assert (sig.function, sig.function_points, sig.lost_function, sig.lost_own) == ("activations.sigmoid_grad", 3.0, 3.0, 3.0)
    mlp = by_name["mlp_backward_missing_1_over_n"]
    assert mlp.function == "backprop.mlp_backward" and mlp.function_points == 10.0
    assert 0 < mlp.lost_function == pytest.approx(mlp.lost_own, abs=0.02)
    assert variants[0].total == 100
