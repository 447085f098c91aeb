"""The diagnosis precision figures: computed from what the feedback names against what the
bank records, a wrong name counted against its diagnosis."""
from autograder import precision
from autograder.findings import Mistake
from autograder.precision import Named


def test_a_diagnosis_named_on_the_wrong_entry_or_function_lowers_its_precision():
    named = [Named("a", "m.f", "transposed", True), Named("b", "m.f", "transposed", False),
             Named("c", "m.g", "known:x", True), Named("d", "m.g", "known:y", True)]
    rows = {key: (total, right, share) for key, total, right, share in precision.table(named)}
    assert rows == {"transposed": (2, 1, 0.5), "known": (2, 2, 1.0)}
    text = precision.lines(named)
    assert "wrong: b (m.f) named transposed" in text and text[-1] == "below 95%: transposed"
    assert precision.lines(named[2:])[-1] == "every diagnosis at or above 95%"


def test_keys_are_what_the_bank_records():
    assert precision.diagnosis_key(Mistake("factor", (("name", "1/N"),))) == "factor:1/N"
    assert precision.diagnosis_key(Mistake("known", (("text", "the bias b is missing"),))) == "known:the bias b is missing"
    assert precision.diagnosis_key(Mistake("matmul")) == "matmul"


def test_the_banks_diagnoses_name_its_entries_and_the_grader_s_keys(lab):
    from autograder import mutants
    bank = mutants.load_bank(lab)
    names = {m.name for m in bank.MISTAKES}
    assert set(bank.DIAGNOSES) <= names
    known = {text for case in lab.make_cases(__import__("autograder.config").config.DEFAULTS, lab.reference())
             for text in getattr(case.check, "known", {}) or {}}
    for key in bank.DIAGNOSES.values():
        assert not key.startswith("known:") or key[len("known:"):] in known, key
