"""checks.py's own words come from the lab's message catalogue, in the language asked for.

- The lab's catalogue (solutions/lab17_backprop/catalogue/{en,ko}.toml) has the same keys, with
  the same placeholders, in English and Korean; every `lab_check.*` key checks.py names is there.
- checks.py passes no English sentence of its own to the runner (a check's title, a problem, a
  likely mistake, a hint or a label): they are keys of the catalogue.
- `python checks.py --lang ko` prints Korean on the skeleton and on a wrong submission (bank
  mistakes of every part at once): every PASS/FAIL line and every indented explanation says its
  words in Korean, apart from code (a call, a command to rerun, a value); `--lang en` prints the
  same checks in English.

Everything runs in subprocesses on copies of the assignment folder in tmp_path (CHECKS_LANG is
"en" in the tests: `--lang ko` must win over it).
"""
import ast
import json
import re
import shutil
import string
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from autograder import mutants
from autograder.catalogue import flatten

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = ROOT / "assignments" / "lab17_backprop"
SOLUTIONS = ROOT / "solutions" / "lab17_backprop"
CATALOGUE = SOLUTIONS / "catalogue"
MODULES = ["tlu.py", "activations.py", "mlp.py", "backprop.py"]
HANGUL = re.compile("[\uac00-\ud7a3]")
# the catalogue's Korean lead-ins of an explanation line; what follows them must be Korean too
LEADS = ("실패  ", "통과  ", "예상되는 실수: ", "다시 해 보기: ", "다시 읽을 곳: ", "참고: ")
# keyed by their English wording (grading.py's, the reread's): Korean only, English is the key
ENGLISH_KEYED = ("known.", "equation.")
# one wrong submission, a bank mistake in every part whose own checks (checks.py's) it fails
WRONG = ["perceptron_train_wrong_sign", "sigmoid_naive_overflow", "softmax_jacobian_sign_flipped",
         "mlp_backward_missing_1_over_n", "train_seed_ignored"]


def lab_words(lang, folder=CATALOGUE):
    with open(folder / f"{lang}.toml", "rb") as file:
        return flatten(tomllib.load(file))


def fields(template):
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def key_problems(en, ko):
    """Keys (and placeholders) that one language has and the other has not."""
    en = {k: v for k, v in en.items() if not k.startswith(ENGLISH_KEYED)}
    ko = {k: v for k, v in ko.items() if not k.startswith(ENGLISH_KEYED)}
    problems = [f"{key}: only in en" for key in sorted(set(en) - set(ko))]
    problems += [f"{key}: only in ko" for key in sorted(set(ko) - set(en))]
    problems += [f"{key}: en {sorted(fields(en[key]))}, ko {sorted(fields(ko[key]))}"
                 for key in sorted(set(en) & set(ko)) if fields(en[key]) != fields(ko[key])]
    problems += [f"{key}: the Korean is not Korean: {ko[key]!r}" for key in sorted(set(en) & set(ko))
                 if key.startswith("lab_check.") and not HANGUL.search(ko[key]) and english(ko[key])]
    return problems


def english(template):
    """Whether a template holds English words (not only placeholders, punctuation or code)."""
    bare = re.sub(r"\{[^}]*\}", "", template)
    return bool(re.search(r"[A-Za-z]{3,}", bare)) and not looks_like_code(bare)


def looks_like_code(text):
    """A call, a statement, a command to run (no sentence to translate)."""
    text = text.strip()
    if text.startswith("python "):
        return True
    try:
        ast.parse(text)
        return True
    except SyntaxError:
        return False


def untranslated(output):
    """The lines of a `--lang ko` run that are not Korean: an English PASS/FAIL, or an
    explanation whose words (after the Korean lead-in) hold no Hangul and are not code."""
    bad = []
    for line in output.splitlines():
        if line.startswith(("PASS", "FAIL")):
            bad.append(line)
            continue
        if not (line.startswith(("통과", "실패")) or line.startswith("      ")):
            continue
        rest = line.strip()
        for lead in LEADS:
            rest = rest[len(lead):] if rest.startswith(lead) else rest
        if not HANGUL.search(rest) and not looks_like_code(rest):
            bad.append(line)
    return bad


# --- the catalogue ------------------------------------------------------------------------------
def test_the_lab_catalogue_has_the_same_keys_in_korean_and_english():
    assert lab_words("ko") and lab_words("en")
    problems = key_problems(lab_words("en"), lab_words("ko"))
    assert not problems, "\n".join(problems)


def test_a_key_missing_in_korean_or_an_english_ko_entry_is_found(tmp_path):
    """The check above fails on a broken catalogue: a key dropped from ko.toml, a placeholder
    renamed, and a Korean entry left in English."""
    ko = (CATALOGUE / "ko.toml").read_text(encoding="utf-8")
    line = next(line for line in ko.splitlines() if line.startswith("factor_n = "))
    for broken, expected in [
        (ko.replace(line + "\n", ""), "lab_check.factor_n: only in en"),
        (ko.replace(line, line.replace("{n}", "{N}")), "lab_check.factor_n: en ['n'], ko ['N']"),
        (ko.replace(line, 'factor_n = "off by a factor of N = {n}: the loss is a mean over the N samples"'),
         "lab_check.factor_n: the Korean is not Korean"),
    ]:
        (tmp_path / "ko.toml").write_text(broken, encoding="utf-8")
        problems = key_problems(lab_words("en"), lab_words("ko", tmp_path))
        assert any(p.startswith(expected) for p in problems), (expected, problems)


def keys_used_by_checks():
    """The lab_check keys checks.py names: text("key"), Later("key"), and the EDGES table's."""
    tree = ast.parse((ASSIGNMENT / "checks.py").read_text(encoding="utf-8"))
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("text", "Later") and node.args \
                and isinstance(node.args[0], ast.Constant):
            used.add(node.args[0].value)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "expect_slope":
            used.add(node.args[3].value)
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "EDGES":
            for row in node.value.elts:
                used |= {e.value for e in row.elts[4:] if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return used


def test_every_key_checks_py_names_is_in_the_catalogue():
    used = keys_used_by_checks()
    assert {"factor_n", "backward_differs", "large_z", "overflow"} <= used, used   # the parse finds them
    for lang in ("en", "ko"):
        words = lab_words(lang)
        assert not [k for k in used if f"lab_check.{k}" not in words], (lang, sorted(used - set(words)))


SENTENCE = re.compile(r"[A-Za-z']+ [A-Za-z']+ [A-Za-z']+")   # three words in a row
SPEAKERS = {"fail", "check", "expect", "expect_gradient", "expect_slope", "judge_call"}
CODE_ARGUMENTS = {"call", "repro", "names", "form", "question", "where"}   # code, not words


def own_sentences(source):
    """English sentences checks.py passes to the runner itself (a string literal among the
    words of fail/check/expect/...), as (line, text)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in SPEAKERS:
            values = list(node.args) + [k.value for k in node.keywords if k.arg not in CODE_ARGUMENTS]
            for value in values:
                parts = [value] if isinstance(value, ast.Constant) else list(getattr(value, "values", []))
                for part in parts:
                    if isinstance(part, ast.Constant) and isinstance(part.value, str) and SENTENCE.search(part.value):
                        found.append((node.lineno, part.value))
    return found


def test_checks_py_writes_no_sentence_outside_the_catalogue():
    source = (ASSIGNMENT / "checks.py").read_text(encoding="utf-8")
    assert not own_sentences(source), own_sentences(source)
    broken = source.replace('fail("tlu.perceptron_train", text("not_separating", w=w, b=b), repro=repro)',
                            'fail("tlu.perceptron_train", f"the returned w = {w}, b = {b} do not separate AND", repro=repro)')
    assert broken != source and own_sentences(broken), "an English problem in fail(...) is not found"


# --- checks.py --lang ko ------------------------------------------------------------------------
def copy_assignment(dest, sources=None):
    work = dest / "lab17_backprop"
    shutil.copytree(ASSIGNMENT, work, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    for module, text in (sources or {}).items():
        (work / f"{module}.py").write_text(text, encoding="utf-8")
    return work


def checks(work, *args):
    proc = subprocess.run([sys.executable, "checks.py", *args], cwd=work, capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def wrong(lab, tmp_path_factory):
    bank = mutants.load_bank(lab)
    sources = lab.reference_sources()
    for name in WRONG:
        sources = bank.apply(next(m for m in bank.MISTAKES if m.name == name).edits, sources)
    return copy_assignment(tmp_path_factory.mktemp("wrong"), sources)


def test_the_skeleton_in_korean(tmp_path):
    rc, out = checks(copy_assignment(tmp_path), "--lang", "ko")
    assert rc == 1 and "Traceback" not in out, out
    assert out.count("\n실패  ") >= 20 and "통과  ACTIVATIONS가" in out, out
    assert not untranslated(out), "\n".join(untranslated(out)) + "\n\n" + out


def test_a_wrong_submission_in_korean_and_in_english(wrong):
    rc, out = checks(wrong, "--lang", "ko")
    assert rc == 1 and "Traceback" not in out, out
    failed = re.findall(r"^실패  (?!공개 케이스)(.*)$", out, re.M)   # checks.py's own checks that failed
    assert len(failed) >= 5, out
    for words in ("lr = 1로 AND를 학습했을 때 errors =", "N = 5배만큼 차이 납니다", "무작위 방향으로 중심 차분을 해서 잰 손실의 기울기",
                  "다시 해 보기: python checks.py backprop", "큰 양수에 np.exp를 쓰면 오버플로가 납니다"):
        assert words in out, f"{words!r} missing:\n{out}"
    assert not untranslated(out), "\n".join(untranslated(out)) + "\n\n" + out
    rc_en, english = checks(wrong, "--lang", "en")
    assert rc_en == 1 and not HANGUL.search(english), english
    assert [line[:4] for line in english.splitlines() if line.startswith(("PASS", "FAIL"))] == \
        [{"통과": "PASS", "실패": "FAIL"}[line[:2]] for line in out.splitlines() if line.startswith(("통과", "실패"))]
    assert "grads[0][0] does not match the slope of the loss measured by central differences" in english, english


def test_an_english_line_in_a_korean_run_is_found(wrong, tmp_path):
    """The checks above fail when a Korean entry is English: ko.json's factor_n left in English,
    and an English title."""
    work = tmp_path / "broken"
    shutil.copytree(wrong, work)
    path = work / "checklib" / "catalogue" / "ko.json"
    shipped = json.loads(path.read_text(encoding="utf-8"))
    for key in ("lab_check.factor_n", "lab_check.backward_title"):
        shipped[key] = lab_words("en")[key]
    path.write_text(json.dumps(shipped, ensure_ascii=False), encoding="utf-8")
    rc, out = checks(work, "--lang", "ko", "backprop")
    bad = untranslated(out)
    assert any("off by a factor of N = 5" in line for line in bad), out
    assert any(line.startswith("실패  mlp_backward: [3, 5, 4] tanh/softmax with cross_entropy") for line in bad), out
