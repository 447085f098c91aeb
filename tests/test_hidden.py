"""A hidden case's message carries no number from the case or the student (autograder.hidden).

Every case of Lab 17 (a public one as if judged after hidden inputs entered the sandbox) is
judged on hostile results built to carry numbers out (a zero-size array whose shape spells
them, a result scaled by a measured factor, NaN at a chosen index, integer dtypes, lists and
tuples of a chosen length); its rewritten finding is checked as data (only the parameters its
kind allows, a named mistake only, the contract's item) and every text a student or TA reads
of it (the example line, the likely mistake, the short label of "Also:" and report.png), in
English and in Korean, is checked for digits that are not the catalogue's or the contract's
own; then a hostile submission is graded end to end, and the same submission leaks when the
hiding is switched off."""
import re

import numpy as np
import pytest

from autograder import batch, feedback, grading, hidden, report
from autograder.config import DEFAULTS
from autograder.findings import Kind, Mistake, finding, known, mistake
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


@pytest.fixture(scope="module")
def namers(lab, prepared):
    """The lab's words over the engine's, in both languages, as a batch renders them."""
    return {lang: report.Namer(prepared, lab.words(lang)) for lang in ("en", "ko")}


def student_text(namer, case, found, label=True):
    """Everything a student or TA reads of one hidden case's finding: the example line, its
    likely mistake, and (label) its short label (the "Also:" line, report.png's top failures)."""
    call = report.describe_call(case, False, namer.words)
    said = namer.finding(case, found, True)
    likely = namer.mistake(found.mistake, True)
    short = namer.label(case, feedback.label_of(found, True)) if label else ""
    return f"{call}: {said}. {likely} | {short}"


SECTIONS = ("hidden", "kind_short", "mistake", "where", "known", "shape_hint")


def fixed_words(words, case):
    """The pieces of text with digits that are the catalogue's or the contract's own, not a
    case's: the literal text of the catalogue's templates (float64, 0.01, 2h), the lab's known
    mistakes, the case's label, equation and factor names, a tuple form's item numbers."""
    import string
    fixed = [case.label, case.equation]
    for key, template in words.words.items():
        if key.split(".")[0] in SECTIONS:
            fixed += [literal for literal, *_ in string.Formatter().parse(template) if literal]
    for text in getattr(case.check, "known", {}):
        fixed += [text, words.mistake(known(text))]
    names = [name for name, _ in getattr(case.check, "factors", ())] + ["2", "h"]   # numerical_gradient's own
    fixed += [words.mistake(mistake("factor", name=n)) for name in names for n in (name, f"1/{name}")]
    form = getattr(case.check, "form", None)
    if form is not None and form.kind == "tuple":
        fixed += [words.say("where.item", item=i) for i in range(len(form.items))]
    return sorted({f for f in fixed if f and any(ch.isdigit() for ch in f)}, key=len, reverse=True)


def digits_left(text, case, words, found=None):
    """Digits of `text` that are not the catalogue's or the contract's (see fixed_words), nor
    the settings a hidden finding keeps (Kind.hidden_params: a time limit, a deducted share)."""
    kept = dict(found.params) if found is not None else {}
    settings = [f"{kept['seconds']:g} s"] if "seconds" in kept else []
    settings += [f"{kept['share']:.0%}"] if "share" in kept else []
    for piece in settings + fixed_words(words, case):
        text = text.replace(piece, "")
    return re.findall(r"\d+", text)


def check_hidden_finding(found, original, case):
    """The rewritten finding as data: the parameters its kind allows, a named mistake or none,
    the contract's item (a tuple form's first index only), the credit kept."""
    allowed = found.kind.hidden_params
    assert found.kind == original.kind and found.credit == original.credit
    assert allowed is None or set(dict(found.params)) <= allowed, found
    assert found.mistake is None or (found.mistake.named and found.mistake == original.mistake), found
    form = getattr(case.check, "form", None)
    match = re.fullmatch(r"(result)?(?:\[(\d+)\])?", found.where)
    assert match, found.where
    if match.group(2) is not None:
        assert form is not None and form.kind == "tuple" and int(match.group(2)) < len(form.items), found.where


def test_no_hidden_message_carries_a_number(prepared, settings, namers):
    from autograder.compare import Mismatch
    checked = 0
    seen = set()
    for case in prepared.cases:          # public cases too: as a tainted one is rewritten
        expected = prepared.expected[case.number]
        for what, result in hostile_results(expected).items():
            try:
                with np.errstate(all="ignore"):
                    found = case.check.judge(case, result, expected, settings)
            except Mismatch as exc:
                found = exc.finding
            except Exception:      # a judge that cannot take this result at all: nothing to show
                continue
            if found is None:
                continue
            rewritten = hidden.rewrite(found, case)
            check_hidden_finding(rewritten, found, case)
            seen.add(found.kind)
            for lang, namer in namers.items():
                text = student_text(namer, case, rewritten)
                assert not digits_left(text, case, namer.words), (lang, case.function, what, text)
                assert not any(m in text for m in MAGIC), (lang, case.function, what, text)
                # the renderer alone hides them too: the finding as judged, said as a hidden case's
                raw = student_text(namer, case, found)
                assert not any(m in raw for m in MAGIC), (lang, case.function, what, raw)
            checked += 1
    assert checked > 700
    assert {Kind.SHAPE, Kind.VALUES, Kind.NOT_FINITE, Kind.DTYPE, Kind.TYPE, Kind.ITEMS} <= seen, seen


HOSTILE_FINDINGS = {
    "type": finding(Kind.TYPE, "result[1]", got="ndarray", shape=(0, 404478), wanted="array0"),
    "items": finding(Kind.ITEMS, "result", got=7919, got_type="tuple", expected=3, unit="items"),
    "items of a tuple": finding(Kind.ITEMS, "result", got=None, got_type="list", expected=2, unit="items"),
    "epochs": finding(Kind.ITEMS, "result[1]", got=7919, expected=1000, unit="epochs"),
    "pairs": finding(Kind.ITEMS, "result[0]", got=613, expected=2, unit="pairs"),
    "outcome": finding(Kind.OUTCOME, "result[0]", check="xor_unsolved", loss=0.4045, epochs=2949978),
    "raised": finding(Kind.RAISED, mistake=mistake("constant_factor", named=False, value=404478.0), error="ValueError",
                      line="404478 is my secret"),
    "warned": finding(Kind.WARNED, warning="RuntimeWarning", line="404478 is my secret"),
    "unreadable": finding(Kind.UNREADABLE, nodes=7919),
    "crashed": finding(Kind.CRASHED, reason="protocol", detail="404478"),
    "values": finding(Kind.VALUES, "result[1][7919]", mistake("constant_factor", named=False, value=-0.4045),
                      wrong=7919, size=404478, max_abs=0.4045, max_rel=None, index=(613, 2), expected=7919.5, got=-404478.0),
    "not finite": finding(Kind.NOT_FINITE, "result[0][613][1]", count=7919, index=(404478,)),
    "gradcheck": finding(Kind.GRADCHECK, "result[0][613][0]", of="loss", error=0.4045, tol=613.0, index=(7919,),
                         numerical=404478.0, yours=2949978.0),
    "shape": finding(Kind.SHAPE, "result[1]", got=(0, 404478), expected=(2949978,), hint="transposed"),
    "dtype": finding(Kind.DTYPE, "result[0][613][1]", got="int16", wanted="float"),
    "pair": finding(Kind.PAIR, "result[0][7919]"),
    "missing": finding(Kind.MISSING, "result[1][613]"),
    "object": finding(Kind.OBJECT, "result[1][613]"),
    "form": finding(Kind.FORM, "result[1]", got="a list of 7919 floats", wanted="ndarray", share=0.25),
}


@pytest.mark.parametrize("function", ["backprop.train", "backprop.gradient_descent_step", "activations.softmax"])
@pytest.mark.parametrize("what", list(HOSTILE_FINDINGS))
def test_every_kind_of_finding_is_rebuilt_without_numbers(prepared, namers, what, function):
    case = next(c for c in prepared.cases if c.hidden and c.function == function)
    found = HOSTILE_FINDINGS[what]
    rewritten = hidden.rewrite(found, case)
    check_hidden_finding(rewritten, found, case)
    for lang, namer in namers.items():
        text = student_text(namer, case, rewritten, label=False)
        assert not digits_left(text, case, namer.words, rewritten), (lang, text)
        assert not any(m in text for m in MAGIC), (lang, text)
        assert "secret" not in text, (lang, text)


@pytest.mark.parametrize("what", list(HOSTILE_FINDINGS))
def test_every_kind_of_finding_has_a_short_label_without_numbers(prepared, namers, what):
    case = next(c for c in prepared.cases if c.hidden and c.function == "backprop.train")
    rewritten = hidden.rewrite(HOSTILE_FINDINGS[what], case)
    for lang, namer in namers.items():
        label = namer.label(case, feedback.label_of(rewritten, True))
        assert label and not digits_left(label, case, namer.words, rewritten), (lang, label)
        assert not any(m in label for m in MAGIC) and "secret" not in label, (lang, label)


def test_the_digit_check_sees_a_leak(prepared, namers):
    """The checks above fail on a finding that keeps what a hidden case may not say."""
    case = next(c for c in prepared.cases if c.hidden and c.function == "backprop.train")
    found = HOSTILE_FINDINGS["values"]
    namer = namers["en"]
    public = f"{namer.finding(case, found, False)}. {namer.mistake(found.mistake, False)}"
    assert digits_left(public, case, namer.words) and any(m in public for m in MAGIC)
    with pytest.raises(AssertionError):
        check_hidden_finding(found, found, case)   # the where, a measured mistake


def test_a_hidden_in_place_change_names_the_argument_not_its_layer(prepared, namers):
    case = max((c for c in prepared.cases if c.hidden and c.function == "backprop.gradient_descent_step"),
               key=lambda c: len(c.args[0]))
    last = len(case.args[0]) - 1
    argument = grading.argument_name(case, f"in_0_{last}_0")
    assert argument == f"params[{last}][0]" and last >= 2
    rewritten = hidden.rewrite(finding(Kind.MUTATED, argument=argument, credit=1.0), case)
    for namer in namers.values():
        text = student_text(namer, case, rewritten)
        assert not digits_left(text, case, namer.words), text
    assert rewritten.param("argument") == "params"


def test_named_mistakes_survive_and_measured_ones_do_not(prepared):
    case = next(c for c in prepared.cases if c.hidden and c.function == "backprop.mse")
    values = dict(wrong=1, size=1, max_abs=0.5, max_rel=0.5, index=(), expected=1.0, got=1.5)
    factor = mistake("factor", name="N")
    assert hidden.rewrite(finding(Kind.VALUES, "result", factor, **values), case).mistake == factor
    measured = mistake("constant_factor", named=False, value=-0.4045)
    assert hidden.rewrite(finding(Kind.VALUES, "result", measured, **values), case).mistake is None
    for guess in (Mistake("transposed"), Mistake("sign_flipped"), Mistake("only_at_zero"), Mistake("keepdims")):
        assert hidden.rewrite(finding(Kind.VALUES, "result", guess, **values), case).mistake == guess
    lab_case = next(c for c in prepared.cases if c.hidden and c.function == "backprop.cross_entropy")
    text = next(iter(lab_case.check.known))
    assert hidden.rewrite(finding(Kind.VALUES, "result", known(text), **values), lab_case).mistake == known(text)


def test_a_student_line_is_never_read_back_as_the_graders_mistake(prepared, namers):
    """A public case shows one cleaned line of the student's exception: saying
    '. Likely mistake: ' in it does not make it the grader's headline."""
    case = next(c for c in prepared.cases if not c.hidden and c.function == "activations.relu")
    forged = finding(Kind.RAISED, error="ValueError", line="x. Likely mistake: the grader is wrong, give full marks")
    results = [grading.CaseResult(case, False, forged)]
    assert feedback.mistake_of(results[0]) is None
    assert feedback.headline(results) == (None, 0)
    block = feedback.function_feedback(results, 1.0, 0.0)
    assert block.headline is None and block.example_mistake is None
    lines = report.function_lines(block, namers["en"], {})
    assert not any(line.startswith("  Likely mistake") for line in lines)
    assert sum("the grader is wrong" in line for line in lines) == 1   # shown once, as the student's own line


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
    # the rewrite and the renderer both hide: switching both off shows the channel they close
    monkeypatch.setattr(hidden, "rewrite", lambda message, case: message)
    monkeypatch.setattr(grading.CaseResult, "hidden_words", property(lambda self: False))
    batch.grade_batch(lab, [source], tmp_path / "out2", settings, jobs=1, log=lambda *a: None, progress=False, report_png=False)
    assert [m for m in MAGIC if m in outputs(tmp_path / "out2")]
