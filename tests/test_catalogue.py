"""The message catalogue: every key in every language, hidden findings that carry no measured
number whatever their parameters, and outputs in the language asked for."""
import re
import string

import numpy as np
import pytest

from autograder import catalogue, report
from autograder.catalogue import HERE, LANGUAGES, Catalogue, display_width, load
from autograder.cases import Case, Matches
from autograder.findings import Kind, Mistake, finding

HOSTILE = 404478.25   # a number a student's code could have read from a hidden input


@pytest.fixture(scope="module")
def prepared(lab, settings):
    from autograder.labs import prepare
    return prepare(lab, settings)


def placeholders(template):
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_key_is_in_every_language_with_the_same_placeholders(lang, lab):
    for folder in (HERE, lab.reference_dir / "catalogue"):
        english, other = load(str(folder / "en.toml")), load(str(folder / f"{lang}.toml"))
        english_keys = {k for k in english}
        assert english_keys - set(other) == set(), folder
        assert set(other) - english_keys - {k for k in other if k.startswith(("known.", "equation."))} == set(), folder
        for key, template in english.items():
            if key in other:   # (Korean has no plural "s")
                assert placeholders(other[key]) <= placeholders(template), (folder, key)


def test_the_labs_known_mistakes_and_rereads_have_korean(lab, prepared):
    korean = load(str(lab.reference_dir / "catalogue" / "ko.toml"))
    for case in prepared.cases:
        for text in getattr(case.check, "known", {}) or {}:
            assert f"known.{text}" in korean, text
        if case.equation:
            assert f"equation.{case.equation}" in korean, case.equation


def every_finding():
    """One finding of every kind and variant, each parameter a hostile number or shape."""
    big = (404478, 2949978)
    yield finding(Kind.MISSING, "result")
    yield finding(Kind.OBJECT, "result")
    for wanted in ("ndarray", "array0", "number", "sequence", "pairs"):
        yield finding(Kind.TYPE, "result", got="list", wanted=wanted, shape=big)
    for wanted in ("float", "int"):
        yield finding(Kind.DTYPE, "result", got="int64", wanted=wanted)
    for unit in ("items", "pairs", "epochs"):
        yield finding(Kind.ITEMS, "result", got=404478, expected=2949978, unit=unit, got_type="list")
    yield finding(Kind.ITEMS, "result", got=None, expected=2949978, unit="items", got_type="list")
    yield finding(Kind.PAIR, "result[404478]")
    for hint in ("", "transposed", "reversed"):
        yield finding(Kind.SHAPE, "result", got=big, expected=big[::-1], hint=hint)
    yield finding(Kind.NOT_FINITE, "result", count=404478, index=big)
    yield finding(Kind.VALUES, "result", wrong=404478, size=2949978, max_abs=HOSTILE, max_rel=HOSTILE, index=big,
                  expected=HOSTILE, got=-HOSTILE)
    yield finding(Kind.VALUES, "result", wrong=404478, size=2949978, max_abs=HOSTILE, max_rel=None, index=big,
                  expected=HOSTILE, got=-HOSTILE)
    yield finding(Kind.GRADCHECK, "result", of="function", error=HOSTILE, tol=1e-6, index=big, numerical=HOSTILE, yours=HOSTILE)
    yield finding(Kind.GRADCHECK, "result", of="loss", error=HOSTILE, tol=1e-6)
    yield finding(Kind.OUTCOME, "result[0]", check="xor_unsolved", loss=HOSTILE, epochs=1000)
    yield finding(Kind.OUTCOME, "result[0]", check="xor_shapes")
    yield finding(Kind.UNREADABLE)
    yield finding(Kind.RAISED, error="ValueError", line="404478.25", mistake=Mistake("keepdims"))
    yield finding(Kind.WARNED, warning="RuntimeWarning", line="404478.25")
    yield finding(Kind.NOT_WRITTEN)
    yield finding(Kind.TIMEOUT, seconds=5.0)
    yield finding(Kind.CRASHED)
    yield finding(Kind.CRASHED, reason="protocol")
    yield finding(Kind.MUTATED, argument="z", credit=1.0)
    yield finding(Kind.UNBOUND)
    for reason in ("restarts", "no_sandbox", "budget", "too_early"):
        yield finding(Kind.NOT_RUN, reason=reason, seconds=120.0)
    yield finding(Kind.VALUES, "result", mistake=Mistake("constant_factor", (("value", HOSTILE),), named=False),
                  wrong=1, size=2, max_abs=HOSTILE, max_rel=HOSTILE, index=(0,), expected=HOSTILE, got=HOSTILE)


def test_every_kind_is_covered_here():
    assert {f.kind for f in every_finding()} >= set(Kind) - {Kind.IMPORT, Kind.FORM}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("found", list(every_finding()), ids=lambda f: f"{f.kind.value}-{len(f.params)}")
def test_a_hidden_finding_shows_no_number_of_the_case(found, lang, lab, prepared):
    """Whatever a hidden case's finding holds, its words carry none of it: only the kind's
    settings (a time limit, a tolerance never) and the contract's names."""
    namer = report.Namer(prepared, lab.words(lang))
    case = Case("activations.relu", (np.zeros(3),), Matches(), hidden=True, arg_names=("z",))
    hidden = namer.finding(case, found, True) + " " + namer.mistake(found.mistake, True)
    shown = namer.finding(case, found, False)
    for secret in ("404478", "2949978", "4.045", "404,478"):
        assert secret not in hidden, (found, hidden)
    if found.kind in (Kind.VALUES, Kind.SHAPE, Kind.ITEMS, Kind.NOT_FINITE, Kind.GRADCHECK, Kind.RAISED):
        assert any(s in shown for s in ("404478", "2949978", "4.045e+05", "4.04e+05", "4e+05")), (found, shown)   # the control


def test_only_named_mistakes_reach_a_hidden_case():
    words = Catalogue("en")
    measured = Mistake("constant_factor", (("value", 0.6667),), named=False)
    assert words.mistake(measured, hidden=True) == ""
    assert "0.6667" in words.mistake(measured, hidden=False)
    assert words.mistake(Mistake("factor", (("name", "N"),)), hidden=True) == "off by a factor of N"


def test_an_unknown_language_is_a_one_line_error():
    with pytest.raises(ValueError, match="unknown language 'fr'; use one of ko, en"):
        Catalogue("fr")


def test_a_missing_key_names_itself():
    with pytest.raises(KeyError, match="no 'feedback.nothing'"):
        Catalogue("ko").say("feedback.nothing")


def test_hangul_takes_two_columns_in_the_table(lab):
    rows = [{"file": name, **{q.name: 1.0 for q in lab.questions}, "total_points_earned": 5.0, "grading_status": status}
            for name, status in (("김민수", "채점 완료"), ("kim", "Completed"))]
    lines = report.table(lab.questions, rows, words=Catalogue("ko")).splitlines()
    assert display_width("김민수") == 6 and display_width("kim") == 3
    ends = {display_width(line[:line.index("5 ") + 1]) for line in lines[-2:]}   # where the total column ends
    assert len(ends) == 1, lines
    assert lines[-2].startswith("김민수")


@pytest.mark.parametrize("lang,words", [("ko", ["점수", "채점 완료", "감점", "예상되는 실수"]),
                                        ("en", ["Score", "Completed", "lost", "Likely mistake"])])
def test_feedback_results_json_and_status_in_the_language_asked(lang, words, tmp_path, lab):
    from autograder import batch, examples
    from autograder.config import DEFAULTS
    written = examples.write_examples(lab, tmp_path / "examples")
    sources = [folder for folder, _ in written if folder.name in ("tanh_grad_eq16", "reference")]
    rows = batch.grade_batch(lab, sources, tmp_path / "out", DEFAULTS.with_overrides(lang=lang), jobs=1,
                             log=lambda *a: None, progress=False, report_png=False)
    text = (tmp_path / "out" / "submissions" / "tanh_grad_eq16" / "feedback.txt").read_text(encoding="utf-8")
    results = (tmp_path / "out" / "submissions" / "tanh_grad_eq16" / "results.json").read_text(encoding="utf-8")
    statuses = " ".join(r["grading_status"] for r in rows)
    assert all(w in text for w in words[:1] + words[2:]), text
    assert words[1] in statuses
    assert words[3] in results
    hangul = re.compile(r"[\uac00-\ud7a3]")
    assert bool(hangul.search(text)) == (lang == "ko")
    assert catalogue.DEFAULT == "en" and lab.language == "ko"
