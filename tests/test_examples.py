"""`python -m autograder grade` on the bundled examples: the table, grades.csv in Otter's
layout, Gradescope results.json, feedback, report.png, and every promised score."""
import csv
import json
import subprocess
import sys

import pytest

from autograder.examples import lab_examples

QUESTIONS = ["tlu", "activations", "forward", "backprop", "training"]
HEADER = ["file", *QUESTIONS, "total_points_earned", "percent_correct", "grading_status", "source"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("examples")
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.reader(f))
    return out, run.stdout, rows


def test_grades_csv_has_otters_layout(graded):
    _, _, rows = graded
    assert rows[0] == HEADER
    assert rows[1] == ["points-per-question", "15", "25", "20", "30", "10", "100", "1", "--", ""]


def test_every_example_gets_exactly_its_promised_score(graded, lab):
    _, _, rows = graded
    by_file = {row[0]: dict(zip(HEADER, row)) for row in rows[2:]}
    examples = lab_examples(lab)
    assert sorted(by_file) == sorted(name for name, _, _ in examples)
    for name, _, promised in examples:
        got = {q: float(by_file[name][q]) for q in QUESTIONS}
        assert got == pytest.approx({q: float(v) for q, v in promised.items()}, abs=0.006), name
        assert float(by_file[name]["total_points_earned"]) == pytest.approx(sum(got.values()), abs=0.02)


def test_reference_full_marks_and_skeleton_zero_without_stopping(graded):
    _, _, rows = graded
    by_file = {row[0]: row for row in rows[2:]}
    assert by_file["reference"][6:8] == ["100", "1.0"] and by_file["reference"][8] == "Completed"
    assert by_file["skeleton"][6] == "0" and by_file["skeleton"][8] == "Completed"


def test_broken_submissions_say_why_in_one_line(graded):
    _, _, rows = graded
    status = {row[0]: row[8] for row in rows[2:]}
    assert status["syntax_error_in_backprop"].startswith("Completed with errors: backprop.py: SyntaxError")
    assert "line" in status["syntax_error_in_backprop"]
    assert status["missing_mlp"] == "Completed with errors: mlp.py is missing from the submission"
    assert all("\n" not in s for s in status.values())


def test_terminal_table_lists_every_submission(graded):
    _, stdout, rows = graded
    for row in rows[2:]:
        assert row[0] in stdout
    assert "file" in stdout and "total" in stdout


def test_results_json_follows_gradescopes_schema(graded):
    out, _, rows = graded
    for row in rows[2:]:
        results = json.loads((out / "submissions" / row[0] / "results.json").read_text())
        assert results["score"] == pytest.approx(float(row[6]))
        assert sum(t["score"] for t in results["tests"]) == pytest.approx(results["score"], abs=0.02)
        assert sum(t["max_score"] for t in results["tests"]) == pytest.approx(100, abs=0.02)
        for test in results["tests"]:
            assert set(test) >= {"name", "score", "max_score", "visibility", "output"}
            assert test["visibility"] in ("visible", "hidden")
            assert 0 <= test["score"] <= test["max_score"] + 1e-9
        assert {t["visibility"] for t in results["tests"]} == {"visible", "hidden"}


def test_feedback_names_function_equation_and_likely_mistake(graded):
    out, _, _ = graded
    text = (out / "submissions" / "sigmoid_grad_on_output" / "feedback.txt").read_text()
    assert "sigmoid_grad" in text and "eq. (14)" in text
    assert "Likely mistake: sigma'(z) computed on the output" in text
    assert "Reproduce:" in text
    text = (out / "submissions" / "dense_backward_dw_transposed" / "feedback.txt").read_text()
    assert "transposed" in text


def test_report_png_is_written(graded):
    out, _, _ = graded
    data = (out / "report.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_report_html_is_written_beside_it(graded):
    out, _, rows = graded
    text = (out / "report.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.count('<tbody class="student"') == len(rows) - 2
    for row in rows[2:]:
        assert f'<td data-value="{row[0]}">{row[0]}</td>' in text


def test_a_rerun_skips_what_is_graded(graded):
    out, _, rows = graded
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0
    assert "skipping 10 submission(s) already graded" in run.stdout
    with open(out / "grades.csv", newline="") as f:
        assert list(csv.reader(f)) == rows


def test_a_missing_submission_is_a_one_line_error(tmp_path):
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", str(tmp_path / "nope.zip"), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0
    rows = list(csv.reader(open(tmp_path / "o" / "grades.csv")))
    assert rows[2][0] == "nope.zip" and rows[2][8] == f"Not graded: {tmp_path / 'nope.zip'}: no such file or folder"
