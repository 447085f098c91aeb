"""Every grade lands on the right student (autograder.roster and the batch's bookkeeping):
names from paths relative to the common root, in any order; clean names; resume by content;
grades.csv holding every submission of --out."""
import csv
import os
import zipfile
from pathlib import Path

import pytest

from autograder import batch, cli, roster
from autograder.config import DEFAULTS

RLIMITS = DEFAULTS.with_overrides(isolation="rlimits")


def write_zip(path, files):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


@pytest.fixture(scope="module")
def reference(lab):
    return {f"{m}.py": t for m, t in lab.reference_sources().items()}


def without(reference, module):
    return {n: t for n, t in reference.items() if n != f"{module}.py"}


def grades(out):
    with open(out / "grades.csv", newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f) if row["file"] != "points-per-question"}


def grade(lab, sources, out, **kwargs):
    log = []
    rows = batch.grade_batch(lab, sources, out, RLIMITS, jobs=1, log=log.append, progress=False, report_png=False, **kwargs)
    return rows, log


def test_same_named_files_of_two_folders_keep_their_own_grades_in_either_order(tmp_path, lab, reference):
    a = write_zip(tmp_path / "class" / "a" / "lab.zip", reference)
    b = write_zip(tmp_path / "class" / "b" / "lab.zip", without(reference, "tlu"))
    for order, out in (([a, b], tmp_path / "out1"), ([b, a], tmp_path / "out2")):
        rows, _ = grade(lab, order, out)
        table = grades(out)
        assert set(table) == {"a/lab.zip", "b/lab.zip"}
        assert float(table["a/lab.zip"]["total_points_earned"]) == lab.total_points
        assert float(table["b/lab.zip"]["total_points_earned"]) == lab.total_points - lab.points["tlu"]
        assert table["a/lab.zip"]["source"] == "a/lab.zip"
        feedback = (out / "submissions" / "a__lab.zip" / "feedback.txt").read_text()
        assert feedback.startswith("Submission: a/lab.zip\n")
    rows, log = grade(lab, [b, a], tmp_path / "out1")      # the other order into the same --out: nothing moves
    assert any("skipping 2 submission(s)" in line for line in log)
    assert float(grades(tmp_path / "out1")["a/lab.zip"]["total_points_earned"]) == lab.total_points


def test_a_submission_fixed_in_place_is_graded_again(tmp_path, lab, reference):
    path = write_zip(tmp_path / "s" / "alice.zip", without(reference, "mlp"))
    grade(lab, [path], tmp_path / "out")
    assert float(grades(tmp_path / "out")["alice.zip"]["forward"]) == 0
    write_zip(path, reference)                       # the student uploads a corrected zip under the same name
    _, log = grade(lab, [path], tmp_path / "out")
    assert "grading 1 submission(s) again: their content changed since they were graded" in log
    assert float(grades(tmp_path / "out")["alice.zip"]["total_points_earned"]) == lab.total_points
    _, log = grade(lab, [path], tmp_path / "out")    # unchanged: skipped
    assert any(line.startswith("skipping 1 submission(s)") for line in log)
    _, log = grade(lab, [path], tmp_path / "out", rerun=True)
    assert not any(line.startswith("skipping") for line in log)


def test_grading_one_more_into_an_old_out_keeps_every_row(tmp_path, lab, reference):
    first = [write_zip(tmp_path / "s" / f"{n}.zip", reference) for n in ("ann", "ben")]
    grade(lab, first, tmp_path / "out")
    late = write_zip(tmp_path / "late" / "cho.zip", without(reference, "backprop"))
    rows, _ = grade(lab, [late], tmp_path / "out")
    assert [r["file"] for r in rows] == ["cho.zip"]            # this command's rows
    assert set(grades(tmp_path / "out")) == {"ann.zip", "ben.zip", "cho.zip"}   # every row of --out


def test_a_submission_graded_again_alone_keeps_its_first_name(tmp_path, lab, reference):
    a = write_zip(tmp_path / "class" / "a" / "lab.zip", reference)
    b = write_zip(tmp_path / "class" / "b" / "lab.zip", reference)
    grade(lab, [a, b], tmp_path / "out")
    write_zip(a, without(reference, "tlu"))
    grade(lab, [a], tmp_path / "out")              # alone, its relative path would be "lab.zip"
    table = grades(tmp_path / "out")
    assert set(table) == {"a/lab.zip", "b/lab.zip"}
    assert float(table["a/lab.zip"]["tlu"]) == 0 and table["a/lab.zip"]["source"] == "a/lab.zip"


def test_identities_do_not_depend_on_the_order_of_the_arguments(tmp_path):
    paths = [tmp_path / "x" / "lab.zip", tmp_path / "y" / "lab.zip", tmp_path / "y" / "other.zip"]
    forward = {i.path: (i.file, i.folder) for i in roster.identities(paths, log=lambda *a: None)}
    backward = {i.path: (i.file, i.folder) for i in roster.identities(paths[::-1], log=lambda *a: None)}
    assert forward == backward
    assert forward[paths[0]] == ("x/lab.zip", "x__lab.zip")


def test_names_a_person_reads_are_clean(tmp_path):
    hostile = ["=HYPERLINK(1).zip", "+1.zip", "-2.zip", "@SUM.zip", "evil\u202egpj.zip", "tab\tname.zip",
               "points-per-question", "new\nline.zip"]
    log = []
    made = roster.identities([tmp_path / n for n in hostile], log=log.append)
    for identity in made:
        assert identity.file.isprintable() and "\u202e" not in identity.file
        assert not identity.file.startswith(("=", "+", "-", "@")) and identity.file != "points-per-question"
        assert "/" not in identity.folder and identity.folder not in (".", "..")
        assert not identity.source.startswith(("=", "+", "-", "@")) and identity.source.isprintable()
    assert made[4].source == "evil\\u202egpj.zip" and made[4].file == "evil?gpj.zip"
    clash = roster.identities([tmp_path / "a\u200b.zip", tmp_path / "a\u200c.zip"], log=log.append)
    assert sorted(i.file for i in clash) == ["a?.zip", "a?.zip~2"] and any("clashed" in line for line in log)


def test_a_folder_of_zips_or_of_student_folders_is_a_batch(tmp_path, reference):
    zips = tmp_path / "downloads"
    for name in ("kimminsu_12345_67890_lab.zip", "leejiwoo_23456_78901_lab.zip"):
        write_zip(zips / name, reference)
    (zips / ".DS_Store").write_text("x")
    found, notes = roster.expand([zips])
    assert [p.name for p in found] == ["kimminsu_12345_67890_lab.zip", "leejiwoo_23456_78901_lab.zip"]
    moodle = tmp_path / "moodle"
    for student in ("Kim Minsu_12345_assignsubmission_file_", "Lee Jiwoo_23456_assignsubmission_file_"):
        write_zip(moodle / student / "lab17.zip", reference)
    found, _ = roster.expand([moodle])
    assert len(found) == 2 and all(p.parent == moodle for p in found)
    ids = roster.identities(found, log=lambda *a: None)
    assert [i.file for i in ids] == ["Kim Minsu_12345_assignsubmission_file_", "Lee Jiwoo_23456_assignsubmission_file_"]
    handout = tmp_path / "one" / "lab17_backprop"      # one student's unzipped handout: a submission, not a batch
    for name, text in reference.items():
        (handout / "tests").mkdir(parents=True, exist_ok=True)
        (handout / name).write_text(text)
    assert roster.expand([tmp_path / "one"])[0] == [tmp_path / "one"]
    assert roster.expand([handout])[0] == [handout]
    found, notes = roster.expand([zips, zips / "kimminsu_12345_67890_lab.zip"])
    assert len(found) == 2 and any("named twice" in n for n in notes)


def test_the_command_line_grades_a_folder_of_zips_named_as_one_argument(tmp_path, lab, reference, capsys, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_ISOLATION", "rlimits")
    zips = tmp_path / "downloads"
    write_zip(zips / "a.zip", reference)
    write_zip(zips / "b.zip", without(reference, "activations"))
    assert cli.main(["grade", str(zips), "--out", str(tmp_path / "out"), "-j", "1"]) == 0
    table = grades(tmp_path / "out")
    assert float(table["a.zip"]["total_points_earned"]) == lab.total_points
    assert float(table["b.zip"]["activations"]) == 0
    assert "holds 2 submission(s)" in capsys.readouterr().err


def test_row_json_records_the_source_and_the_key(tmp_path, lab, reference):
    path = write_zip(tmp_path / "s" / "x.zip", reference)
    grade(lab, [path], tmp_path / "out")
    import json
    row = json.loads((tmp_path / "out" / "submissions" / "x.zip" / "row.json").read_text())
    assert row["source"] == "x.zip" and row["path"] == os.path.realpath(path) and len(row["key"]) == 64
    assert Path(row["path"]).exists()
