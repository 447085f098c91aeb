"""Shared fixtures: the lab, its prepared cases and settings sized for tests.

The kit's tests read the grader's words in English unless a test asks for a language (Lab 17
speaks Korean by default): the default settings, the command line (AUTOGRADER_LANG) and the
self-check (CHECKS_LANG) are set to English here, before any test module imports them.
"""
import os
import re

import pytest

from autograder import config

config.DEFAULTS = config.DEFAULTS.with_overrides(lang="en")
os.environ.setdefault("AUTOGRADER_LANG", "en")
os.environ.setdefault("CHECKS_LANG", "en")

from autograder.config import DEFAULTS  # noqa: E402 (after the language is set)
from autograder.labs import load_lab  # noqa: E402


@pytest.fixture(scope="session")
def lab():
    return load_lab("lab17_backprop")


@pytest.fixture(scope="session")
def settings():
    return DEFAULTS


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
