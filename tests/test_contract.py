"""Lab 17's contract (solutions/lab17_backprop/contract.py) is the one source of its facts:
grading.py's modules, questions, points and rereads come from it, every case's tolerance is
one of its named tolerances, and what it tells students points to what they have."""
import re
from pathlib import Path

import pytest

from autograder.cases import Case, Matches

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def contract(lab):
    return lab.spec.CONTRACT


def unnamed_tolerances(cases, contract):
    """Cases whose (rtol, atol) is none of the contract's TOLERANCES."""
    named = set(contract.TOLERANCES.values())
    return [c for c in cases if hasattr(c.check, "rtol") and (c.check.rtol, c.check.atol) not in named]


def test_grading_reads_modules_questions_and_rereads_from_the_contract(lab, contract):
    assert lab.modules == contract.MODULES
    assert [(q.name, q.points, q.functions) for q in lab.questions] == [
        (name, q["points"], q["functions"]) for name, q in contract.QUESTIONS.items()]
    assert sum(q["points"] for q in contract.QUESTIONS.values()) == 100
    graded = {f for q in contract.QUESTIONS.values() for f in q["functions"]}
    assert graded <= set(contract.REREAD) and set(contract.SHIP_MISTAKE_WORDING) <= graded
    assert set(lab.spec.EQ.values()) <= set(contract.REREAD.values())


def test_every_case_uses_a_tolerance_the_contract_names(lab, settings, contract):
    cases = lab.make_cases(settings, lab.reference())
    assert unnamed_tolerances(cases, contract) == []
    loose = Case("activations.sigmoid", (), Matches(rtol=1e-5, atol=1e-12))
    assert unnamed_tolerances([loose], contract) == [loose]


def test_rereads_point_to_what_students_have_and_quote_eq_16_as_the_slide(contract):
    for function, words in contract.REREAD.items():
        assert not re.search(r"ASSIGNMENT|\bcontract\b", words), function
    assert "phi'(z) = 2 phi(2z) - 1" in contract.REREAD["activations.tanh_grad"]
    assert {q["part"] for q in contract.QUESTIONS.values()} == {f"Part {p}" for p in "ABCDE"}


def test_the_slides_write_eq_16_as_the_contract_quotes_it(lecture):
    assert r"\varphi'(z) = 2\varphi(2z) - 1 \quad (16)" in lecture
