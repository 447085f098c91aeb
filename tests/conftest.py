"""Shared fixtures: the lab, its prepared cases and settings sized for tests.

The kit's tests read the grader's words in English unless a test asks for a language (Lab 17
speaks Korean by default): the default settings, the command line (AUTOGRADER_LANG) and the
self-check (CHECKS_LANG) are set to English here, before any test module imports them.
"""
import os
import re
from pathlib import Path

import pytest

from autograder import config

config.DEFAULTS = config.DEFAULTS.with_overrides(lang="en")
os.environ.setdefault("AUTOGRADER_LANG", "en")
os.environ.setdefault("CHECKS_LANG", "en")

from autograder.config import DEFAULTS  # noqa: E402 (after the language is set)
from autograder.labs import load_lab  # noqa: E402


# KIT_REQUIRE_MODES=1 (set by the README's test command, so by CI): a sandbox mode this machine
# should have (bwrap, the uid sandbox with namespaces) that does not work fails the test
# instead of skipping it, so a campaign never silently drops out.
REQUIRE_MODES = os.environ.get("KIT_REQUIRE_MODES") == "1"


def skip_mode(reason):
    """Skip a test for want of a sandbox mode, naming why; a failure under KIT_REQUIRE_MODES=1."""
    if REQUIRE_MODES:
        pytest.fail(f"{reason} (KIT_REQUIRE_MODES=1: every mode is required here)")
    pytest.skip(reason)


LECTURES = [Path(__file__).resolve().parents[2] / "shared" / "lecture", Path("/work/shared/lecture")]


@pytest.fixture(scope="session")
def lecture():
    """The lecture's slides as text (shared/lecture beside the kit, where CI and the staff
    have it); a test that reads them is skipped, naming why, where they are not."""
    for folder in LECTURES:
        if folder.is_dir():
            return "\n".join(p.read_text() for p in sorted(folder.glob("*.txt")))
    pytest.skip(f"the lecture is not here ({' or '.join(map(str, LECTURES))}): the slides' own wording is not checked")


@pytest.fixture(scope="session")
def lab():
    return load_lab("lab17_backprop")


@pytest.fixture(scope="session")
def settings():
    return DEFAULTS


# ---------------------------------------------------------------------------- the bank, graded once
def grade_bank(lab, folder, settings):
    """The reference, the skeleton, every mistake and every variant of `lab`'s bank, graded in
    one batch: ({name: grades.csv row}, {name: {function: (earned, points)}}, the bank)."""
    from autograder import bank as schema
    from autograder import batch, mutants
    from autograder.skeleton import skeleton_files
    bank = mutants.load_bank(lab)
    reference = lab.reference_sources()
    skeleton = {name[:-3]: text for name, text in skeleton_files(lab.reference_dir, lab.modules).items()}
    entries = {"reference": reference, "skeleton": skeleton}
    entries.update({e.name: schema.apply(e.edits, reference) for e in bank.MISTAKES + bank.VARIANTS})
    sources = []
    for name, modules in entries.items():
        (folder / "in" / name).mkdir(parents=True)
        for module, text in modules.items():
            (folder / "in" / name / f"{module}.py").write_text(text)
        sources.append(folder / "in" / name)
    rows = batch.grade_batch(lab, sources, folder / "out", settings, jobs=2, log=lambda *a: None, progress=False,
                             report_png=False)
    functions = {name: mutants.function_scores(folder / "out" / "submissions" / name / "results.json")
                 for name in entries}
    return {row["file"]: row for row in rows}, functions, bank


@pytest.fixture(scope="session")
def lab17_bank(tmp_path_factory, settings):
    """Lab 17's bank graded once for the session (tests/test_conformance.py and
    tests/test_bank_scores.py read the same batch: the same submissions, the same settings)."""
    return grade_bank(load_lab("lab17_backprop"), tmp_path_factory.mktemp("bank_lab17_backprop"), settings)


# ---------------------------------------------------------------------------- every results.json the suite writes
LOST = re.compile(r"lost (\S+) of (\S+) points")


def results_json_problems(data):
    """Where a results.json's text disagrees with its scores: each test's "lost X of Y points"
    is max_score - score (as rounded to 3 significant digits) and never negative; a test
    that says nothing was lost has its full score; the tests add up to the total."""
    problems = []
    for test in data.get("tests", []):
        if "score" not in test:
            continue
        score, top, text = float(test["score"]), float(test["max_score"]), test.get("output", "")
        name = test.get("name", "?")
        if not -1e-9 <= score <= top + 1e-9:
            problems.append(f"{name}: score {score} outside 0..{top}")
        match = LOST.search(text.split("\n")[0])
        if match:
            lost, said_top = float(match[1]), float(match[2])
            if lost < 0 or abs(lost - (top - score)) > 0.005 * max(abs(top - score), 1e-3) + 1e-9 \
                    or abs(said_top - top) > 0.005 * top + 1e-9:
                problems.append(f"{name}: score {score} of {top}, text {match[0]!r}")
        elif top > 0 and score < top - 1e-6:
            problems.append(f"{name}: score {score} of {top}, but its text names no loss: {text[:60]!r}")
    total = sum(float(t["score"]) for t in data.get("tests", []) if "score" in t)
    if "score" in data and abs(total - float(data["score"])) > 0.011:
        problems.append(f"tests add up to {total}, the total is {data['score']}")
    return problems


@pytest.fixture(autouse=True)
def every_results_json_agrees_with_its_scores(monkeypatch):
    """Wraps report.results_json for every test: a results.json whose text contradicts its
    scores fails the test that wrote it."""
    from autograder import report
    real = report.results_json

    def checked(result, prepared, words=None):
        data = real(result, prepared, words)
        problems = results_json_problems(real(result, prepared))   # the same scores, read in English
        problems += [f"a test's score or name differs from its English one: {a['name']}" for a, b in
                     zip(data.get("tests", []), real(result, prepared).get("tests", [])) if a.get("score") != b.get("score")]
        assert not problems, f"results.json of {result.name}: " + "; ".join(problems[:5])
        return data
    monkeypatch.setattr(report, "results_json", checked)
    yield
