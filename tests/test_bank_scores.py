"""The hidden suite against the bank of known mistakes (solutions/lab17_backprop/mistakes.py):
every mistake loses points in its own part and nowhere else (mutants.LEAK_ALLOWED), and every
correct variant scores 100. This is the mutation score of `python -m autograder mutants`."""
import pytest

from autograder import mutants


@pytest.fixture(scope="module")
def verdicts(lab, lab17_bank):
    """mutants.run's verdicts, from the session's one grading of the bank (conftest.lab17_bank;
    mutants.run itself: tests/test_mutants_table.py)."""
    rows, functions, bank = lab17_bank
    return mutants.verdicts(lab, bank, rows, functions)


def test_the_bank_is_large_enough(verdicts):
    found, variants = verdicts
    assert len(found) >= 40 and len(variants) >= 10


def test_every_mistake_loses_points_in_its_own_part(verdicts):
    found, _ = verdicts
    escaped = [m.name for m in found if not m.caught]
    assert escaped == [], f"mistakes that lose nothing in their part: {escaped}"


def test_no_mistake_costs_points_elsewhere(verdicts):
    found, _ = verdicts
    leaks = {m.name: m.lost_elsewhere for m in found if sum(m.lost_elsewhere.values()) > mutants.LEAK_ALLOWED}
    assert leaks == {}, f"mistakes that also cost points in other parts: {leaks}"


def test_every_correct_variant_scores_full_marks(verdicts):
    _, variants = verdicts
    penalised = {v.name: v.total for v in variants if v.total < 100}
    assert penalised == {}, f"correct variants that lost points: {penalised}"


def test_summary_reports_the_score_and_the_escapes(verdicts):
    found, variants = verdicts
    lines = mutants.summary(found, variants)
    assert lines[0] == f"mutation score: {len(found)}/{len(found)} mistakes caught (100.0%)"
    assert lines[-1] == "escaped: none"
    fake = mutants.Verdict("pretend", "tlu", 0.0, {}, 100.0)
    assert mutants.summary([fake], [])[-1] == "escaped: pretend"
