"""`python -m autograder mutants --auto`: single-point mutants of the reference's solution
regions, graded by the batch engine; equivalent mutants are recorded in the lab with a reason,
and a stale entry is refused (autograder.automutants)."""
import ast
import dataclasses
import re
import shutil

import pytest

from autograder import automutants, cli, labs
from autograder.labs import KIT

FIXTURE = KIT / "tests" / "fixtures" / "labs" / "lab00_neuron"

SOURCE = '''import numpy as np


def given(z):
    return z + 1


def f(x, y):
    """Doc."""
    # BEGIN SOLUTION hint: h
    s = np.sum(x * y, axis=0, keepdims=True)
    if s > 0:
        return s.T @ y[:2]
    return np.maximum(x - 1.5, y)
    # END SOLUTION
'''


def test_operators_rewrite_only_the_solution_region():
    found = automutants.mutate_module("m", SOURCE)
    by_operator = {}
    for m in found:
        by_operator.setdefault(m.operator, []).append((m.before, m.after))
    assert set(by_operator) == set(automutants.OPERATORS)
    assert ("x * y", "x / y") in by_operator["binary"] and ("x - 1.5", "x + 1.5") in by_operator["binary"]
    assert ("s > 0", "s >= 0") in by_operator["comparison"] and ("s > 0", "s < 0") in by_operator["comparison"]
    assert {("1.5", "-1.5"), ("1.5", "3.0"), ("1.5", "0.75"), ("0", "1")} <= set(by_operator["constant"])
    assert ("s.T", "s") in by_operator["transpose"]
    assert any(after == "np.mean(x * y, axis=0, keepdims=True)" for _, after in by_operator["reduction"])
    assert any(after == "np.sum(x * y, keepdims=True)" for _, after in by_operator["keyword"])
    assert any(after == "np.sum(x * y, axis=0, keepdims=False)" for _, after in by_operator["keyword"])
    assert ("return np.maximum(x - 1.5, y)", "return s") in by_operator["return_earlier"]
    assert ("np.maximum(x - 1.5, y)", "np.maximum(y, x - 1.5)") in by_operator["arguments"]
    assert (":2", ":2 + 1") in by_operator["slice_end"] and (":2", ":2 - 1") in by_operator["slice_end"]
    assert any(after == "" for _, after in by_operator["statement"])
    assert all(m.function == "m.f" for m in found)             # `given` lies outside the markers
    for m in found:
        ast.parse(m.source)                                     # every mutant is a whole module
        assert "def given(z):\n    return z + 1" in m.source


def test_signatures_are_unique_and_stale_entries_are_refused(tmp_path):
    lab = labs.load_lab(root=FIXTURE)
    mutants, dropped = automutants.generate(lab)
    signatures = [m.signature for m in mutants]
    assert len(set(signatures)) == len(signatures) and dropped["identical after unparse"] >= 1
    assert signatures == [m.signature for m in automutants.generate(lab)[0]]   # stable from one run to the next
    copy = tmp_path / "lab"
    shutil.copytree(FIXTURE, copy)
    toml = copy / "solutions" / "lab00_neuron" / automutants.EQUIVALENTS
    toml.write_text(toml.read_text() + '"act.leaky | binary | z + 1 -> z - 1" = "no such mutant"\n')
    with pytest.raises(ValueError, match=r"stale entry 'act.leaky \| binary \| z \+ 1 -> z - 1'") as exc:
        automutants.load_equivalents(labs.load_lab(root=copy), set(signatures))
    assert "\n" not in str(exc.value)
    assert cli.main(["--labs-dir", str(copy), "mutants", "--auto"]) == 2


def test_the_fixture_lab_kills_every_mutant_but_its_recorded_equivalents(capsys):
    assert cli.main(["--labs-dir", str(FIXTURE), "mutants", "--auto", "-j", "2", "--table"]) == 0
    out = capsys.readouterr().out
    table = [line.split() for line in out.splitlines()]
    assert ["act.py:17", "return", "alpha", "return_earlier", "leaky", "2", "2", "100%"] in table   # the mutants table
    assert "kill rate: 97/101" in out and "unexplained survivors: 0; unexplained cheap mutants: 0" in out
    assert "equivalent act.leaky (kept 2/2)" in out and "[mse is symmetric in its two arguments]" in out


def test_removing_a_hidden_case_fails_the_command_and_lists_the_survivor(monkeypatch, capsys):
    """mlp.predict's hidden case "an output of exactly 0.5" is the only one that tells >= 0.5 from
    > 0.5. To stay quick, every other function keeps one case (predict's mutants cost nothing else)."""
    lab = labs.load_lab("lab17_backprop")

    def fewer(settings, reference):
        kept, seen = [], set()
        for c in lab.make_cases(settings, reference):
            if c.function == "mlp.predict" or c.function not in seen:
                kept.append(c)
                seen.add(c.function)
        return kept

    without = dataclasses.replace(lab, make_cases=lambda s, r: [c for c in fewer(s, r) if c.label != "an output of exactly 0.5"])
    monkeypatch.setattr(cli, "load_lab", lambda args: without)
    assert cli.main(["mutants", "--auto", "--only", "mlp.predict", "-j", "2"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"SURVIVED mlp\.predict \(kept 5/5\): mlp\.py:\d+ predict: return \(out\[:, 0\] >= 0\.5\)\.astype\(int\)  ->  "
                     r"return \(out\[:, 0\] > 0\.5\)\.astype\(int\)", out), out
    assert "unexplained survivors: 1;" in out
