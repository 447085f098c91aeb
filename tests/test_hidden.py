"""A hidden case's message carries no number from the case or the student (autograder.hidden).

Every hidden case of Lab 17 is judged on hostile results built to carry numbers out (a
zero-size array whose shape spells them, a result scaled by a measured factor, NaN at a
chosen index, integer dtypes, lists and tuples of a chosen length), and the text a student
reads is checked for digits; then a hostile submission is graded end to end, and the same
submission leaks when the rewrite is switched off."""
import re

import numpy as np
import pytest

from autograder import batch, hidden, report
from autograder.config import DEFAULTS
from autograder.labs import prepare
from autograder.values import Value

MAGIC = ("404478", "2949978", "4045", "7919", "613")


def node(value):
    if isinstance(value, (list, tuple)):
        return Value("list" if isinstance(value, list) else "tuple", items=[node(v) for v in value])
    return Value("nd", data=np.asarray(value))


def scaled(value, factor):
    if isinstance(value, (list, tuple)):
        return type(value)(scaled(v, factor) for v in value)
    array = np.asarray(value)
    return array * factor if array.dtype.kind in "fiu" else array


def with_nan(value):
    if isinstance(value, (list, tuple)):
        return type(value)(with_nan(v) for v in value)
    array = np.array(value, dtype=float)
    if array.size:
        array.flat[min(7, array.size - 1)] = np.nan
    return array


def hostile_results(expected):
    return {
        "zero-size shape": node(np.zeros((0, 404478, 2949978))),
        "measured factor": node(scaled(expected, -0.4045123)) if expected is not None else node(np.zeros(3)),
        "nan at an index": node(with_nan(expected)) if expected is not None else node(np.full(3, np.nan)),
        "integer dtype": node(np.arange(7919, dtype=np.int64)),
        "long list": node([0.5] * 7919),
        "long tuple": node(tuple(np.zeros(2) for _ in range(613))),
        "scalar": node(np.float64(7919.4045)),
    }


@pytest.fixture(scope="module")
def prepared(lab, settings):
    return prepare(lab, settings)


def student_text(prepared, case, message):
    """What a student reads of one hidden case: the example line and the likely mistake."""
    namer = report.Namer(prepared)
    said = namer.words(case, report.what_failed(message, True))
    mistake = namer.words(case, report.mistake_of(message))
    return f"{report.describe_call(case, False)}: {said}. {mistake}"


def digits_left(text, case):
    """Digits of `text` that are not the contract's: a tuple item's index, the case's own
    label and equation (written by the lab's author) and the named mistakes' fixed words."""
    from autograder import cases, compare
    named = [*compare.NAMED_GUESSES, *cases.NAMED_DIAGNOSES, *getattr(case.check, "known", {})]
    for fixed in (case.label, case.equation, *sorted(named, key=len, reverse=True)):
        if fixed:
            text = text.replace(fixed, "")
    text = re.sub(r"off by a factor of (1/)?\w+", "", text)
    text = re.sub(r"\[\d\]", "", text)
    text = re.sub(r"took longer than [\d.]+ s", "", text)
    return re.findall(r"\d+", text)


def test_no_hidden_message_carries_a_number(prepared, settings):
    from autograder.compare import Mismatch
    checked = 0
    for case in prepared.cases:
        if not case.hidden:
            continue
        expected = prepared.expected[case.number]
        for what, result in hostile_results(expected).items():
            try:
                with np.errstate(all="ignore"):
                    message = case.check.judge(case, result, expected, settings)
            except Mismatch as exc:
                message = str(exc)
            except Exception:      # a judge that cannot take this result at all: nothing to show
                continue
            if not message:
                continue
            text = student_text(prepared, case, hidden.rewrite(message, case))
            assert not digits_left(text, case), (case.function, what, text)
            assert not any(m in text for m in MAGIC), (case.function, what, text)
            checked += 1
    assert checked > 500


@pytest.mark.parametrize("message", [
    "result: returned a ndarray of shape (0, 404478), expected a 0-d result",
    "result: 7919 items, expected 3",
    "losses has 7919 entries, expected one per epoch (1000)",
    "the returned params do not solve XOR: their loss is 0.4045 (a correct loop reaches below 0.01)",
    "raised ValueError: 404478 is my secret; it must stay warning-free",
    "returned a result that could not be read (7919 nodes)",
    "the sandbox stopped: 404478",
])
def test_every_message_path_of_text_is_rebuilt_without_numbers(prepared, message):
    case = next(c for c in prepared.cases if c.hidden and c.function == "backprop.train")
    text = str(hidden.rewrite(message, case))
    assert not re.search(r"\d", text), text


def test_named_mistakes_survive_and_measured_ones_do_not(prepared):
    from autograder.compare import Finding
    case = next(c for c in prepared.cases if c.hidden and c.function == "backprop.mse")
    assert hidden.rewrite(Finding("result", "1 of 1 values differ", "max abs error 0.5", "off by a factor of N"), case).mistake \
        == "off by a factor of N"
    assert hidden.rewrite(Finding("result", "1 of 1 values differ", "", "off by a constant factor of -0.4045"), case).mistake == ""
    known = next(iter(case.check.known), None)
    if known:
        assert hidden.rewrite(Finding("result", "values differ", "", known), case).mistake == known


def test_a_student_line_is_never_read_back_as_the_graders_mistake(prepared):
    """A public case shows one cleaned line of the student's exception: saying
    '. Likely mistake: ' in it does not make it the grader's headline."""
    case = next(c for c in prepared.cases if not c.hidden and c.function == "activations.relu")
    forged = "raised ValueError: x. Likely mistake: the grader is wrong, give full marks"
    assert report.mistake_of(forged) == ""
    results = [type("R", (), {"message": forged, "passed": False, "case": case})()]
    assert report.headline(results) == ("", 0)


HOSTILE = {   # each function returns at once; the reference's body is left under another name
    "activations.py": ("def tanh(z):", "def tanh(z):\n    return -0.4045123 * np.tanh(z)\n\n\ndef _tanh(z):"),
    "mlp.py": ("def dense_forward(X, W, b):", "def dense_forward(X, W, b):\n    return np.zeros((0, 404478, 2949978))\n\n\n"
                                             "def _dense_forward(X, W, b):"),
}


def hostile_submission(lab, folder):
    folder.mkdir(parents=True)
    for module, text in lab.reference_sources().items():
        for old, new in [HOSTILE[f"{module}.py"]] if f"{module}.py" in HOSTILE else []:
            assert old in text, (module, old)
            text = text.replace(old, new, 1)
        (folder / f"{module}.py").write_text(text)
    return folder


def outputs(out):
    """The text of every hidden test of results.json (public cases show the student's own values)."""
    import json
    results = json.loads(next(out.rglob("results.json")).read_text())
    return "\n".join(t["output"] for t in results["tests"] if t["visibility"] == "hidden" or "summary" in t["name"])


def test_a_hostile_submission_leaks_nothing_and_would_without_the_rewrite(tmp_path, lab, monkeypatch):
    source = hostile_submission(lab, tmp_path / "s" / "hostile")
    settings = DEFAULTS.with_overrides(isolation="rlimits")
    batch.grade_batch(lab, [source], tmp_path / "out", settings, jobs=1, log=lambda *a: None, progress=False, report_png=False)
    text = outputs(tmp_path / "out")
    assert "tanh" in text and "dense_forward" in text                    # both lost points ...
    assert not [m for m in MAGIC if m in text]                            # ... and said nothing measured
    monkeypatch.setattr(hidden, "rewrite", lambda message, case: message)
    batch.grade_batch(lab, [source], tmp_path / "out2", settings, jobs=1, log=lambda *a: None, progress=False, report_png=False)
    assert [m for m in MAGIC if m in outputs(tmp_path / "out2")]          # the channel this closes
