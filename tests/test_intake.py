"""The intake finds what the student meant and says what it chose (autograder.intake).

Correct code in the shapes a class really submits scores 100, and each status names the
choice; a choice the intake cannot make (two changed copies of one module) costs that module
only and names both files; an entry it does not need is never read."""
import io
import json
import zipfile
from pathlib import Path

import pytest

from autograder import batch, intake, labs
from autograder.config import DEFAULTS
from autograder.findings import Kind, finding

from words import EN

ASSIGNMENT = labs.ASSIGNMENTS / "lab17_backprop"


@pytest.fixture(scope="module")
def files(lab):
    return intake.LabFiles.of(lab)


@pytest.fixture(scope="module")
def reference(lab):
    return {f"{m}.py": t for m, t in lab.reference_sources().items()}


def write_zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def zip_bytes(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def corrupt_crc(path, member):
    """Flip the CRC of `member` in both of its headers: zipfile lists it, reading it fails."""
    data = bytearray(Path(path).read_bytes())
    for signature, offset in ((b"PK\x03\x04", 14), (b"PK\x01\x02", 16)):
        at = data.find(signature)
        while at >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            length = int.from_bytes(data[at + (26 if signature == b"PK\x03\x04" else 28):][:2], "little")
            if bytes(data[name_at:name_at + length]) == member.encode():
                data[at + offset] ^= 0xFF
                break
            at = data.find(signature, at + 4)
    Path(path).write_bytes(bytes(data))


def handout_entries(prefix=""):
    """Every file of the handout folder, as the student has it."""
    return {prefix + p.relative_to(ASSIGNMENT).as_posix(): p.read_bytes()
            for p in sorted(ASSIGNMENT.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def shapes(root, reference, skeletons):
    """{name: path}: correct code in every shape the issue lists."""
    root.mkdir(parents=True, exist_ok=True)
    whole = {**handout_entries("lab17_backprop/"), **{f"lab17_backprop/{n}": t for n, t in reference.items()}}
    mac = {**{f"lab17/{n}": t for n, t in reference.items()}, "__MACOSX/lab17/._tlu.py": b"\0\5\26\7",
           "lab17/.DS_Store": b"\0\0\0\1Bud1"}
    capitalised = {n.replace("activations", "Activations").replace("mlp", "MLP"): t for n, t in reference.items()}
    copies = {"tlu.py": reference["tlu.py"], "activations.py": skeletons["activations"],
              "activations (1).py": reference["activations.py"], "mlp.py": reference["mlp.py"],
              "backprop (1).py": reference["backprop.py"]}
    unreadable = {**reference, "extra.py": "x = 1\n", "notes/big.bin": b"\0" * (40 << 20), "../escape.py": "x = 2\n",
                  **{f"venv/lib/site-packages/pkg{i}/m.py": "" for i in range(3100)}}
    made = {
        "whole.zip": write_zip(root / "whole.zip", whole),
        "mac.zip": write_zip(root / "mac.zip", mac),
        "capitalised.zip": write_zip(root / "capitalised.zip", capitalised),
        "copies.zip": write_zip(root / "copies.zip", copies),
        "wrapped.zip": write_zip(root / "wrapped.zip", {"lab17.zip": zip_bytes(reference)}),
        "unreadable.zip": write_zip(root / "unreadable.zip", unreadable),
    }
    corrupt_crc(made["unreadable.zip"], "extra.py")
    return made


EXPECTED_NOTES = {
    "whole.zip": "ignored the handout's checklib/, checks.py, public_cases.json, README.md, requirements.txt, tests/",
    "mac.zip": "ignored 2 file(s) the grader does not need (.DS_Store, __MACOSX/)",
    "capitalised.zip": "graded Activations.py as activations.py; graded MLP.py as mlp.py",
    "copies.zip": "graded activations (1).py as activations.py; graded backprop (1).py as backprop.py; "
                  "set aside activations.py, the untouched skeleton",
    "wrapped.zip": "unwrapped lab17.zip",
    "unreadable.zip": "did not copy extra.py (a wrong CRC); ignored an unsafe entry ../escape.py (a path outside the zip); "
                      "ignored 3100 file(s) the grader does not need (venv/)",
}


def test_correct_code_in_every_shape_scores_full_marks_and_says_what_was_chosen(tmp_path, lab, reference, files):
    made = shapes(tmp_path / "class", reference, files.skeletons)
    folder_of_zips = tmp_path / "class"   # named as one argument: a batch of its zips
    log = []
    from autograder import roster
    sources, notes = roster.expand([folder_of_zips])
    assert sorted(p.name for p in sources) == sorted(made) and notes == [f"{folder_of_zips} holds {len(made)} submission(s): graded each one"]
    rows = batch.grade_batch(lab, sources, tmp_path / "out", DEFAULTS.with_overrides(isolation="auto"),
                             jobs=2, log=log.append, progress=False, report_png=False)
    by_file = {r["file"]: r for r in rows}
    assert set(by_file) == set(made)
    for name, note in EXPECTED_NOTES.items():
        row = by_file[name]
        assert row["total_points_earned"] == lab.total_points, (name, row["grading_status"])
        assert row["grading_status"] == f"Completed; {note}", name
        feedback = (tmp_path / "out" / "submissions" / name / "feedback.txt").read_text()
        head = feedback.split("\n\n")[0]
        for line in note.split("; "):
            assert f"\n  {line}" in head, (name, line)


def test_only_the_needed_entries_are_read(tmp_path, reference, files, monkeypatch):
    path = write_zip(tmp_path / "s.zip", {**reference, "helper.py": "H = 1\n", "data/big.bin": b"\0" * (1 << 20),
                                          "other/also.py": "x = 1\n", "lab17_backprop.ipynb": "{}"})
    read = []
    real = intake.read_member
    monkeypatch.setattr(intake, "read_member", lambda archive, info, limit: read.append(info.filename) or real(archive, info, limit))
    taken = intake.take(path, files)
    assert sorted(read) == sorted([*reference, "helper.py"])        # not the data, not a folder elsewhere, not the notebook
    assert sorted(taken.files) == sorted([*reference, "helper.py"])


def test_two_changed_copies_of_one_module_are_refused_by_name(tmp_path, reference, files):
    folder = tmp_path / "s"
    folder.mkdir()
    for name, text in reference.items():
        (folder / name).write_text(text)
    (folder / "activations (1).py").write_text(reference["activations.py"] + "\n# my second try\n")
    taken = intake.take(folder, files)
    assert taken.problems == {"activations": finding(Kind.IMPORT, module="activations", cause="ambiguous", file="activations.py",
                                                     names="activations (1).py and activations.py")}
    assert EN.cause(taken.problems["activations"]) == \
        "two different files could be activations.py: activations (1).py and activations.py; submit one"
    assert "activations.py" not in taken.files and "tlu.py" in taken.files


def test_identical_copies_and_copy_suffixes(tmp_path, reference, files):
    folder = tmp_path / "s"
    folder.mkdir()
    names = {"tlu.py": "tlu-1.py", "activations.py": "activations copy.py", "mlp.py": "mlp_1.py", "backprop.py": "Backprop - 복사본.py"}
    for name, text in reference.items():
        (folder / names[name]).write_text(text)
    (folder / "tlu (2).py").write_text(reference["tlu.py"])
    taken = intake.take(folder, files)
    assert taken.problems == {} and sorted(taken.files) == sorted(reference)
    described = [intake.describe(n) for n in taken.notes]
    assert "graded Backprop - 복사본.py as backprop.py" in described
    assert "tlu-1.py is a copy of tlu (2).py" in described or "tlu (2).py is a copy of tlu-1.py" in described


def test_a_module_that_is_not_a_module_is_not_matched(files):
    modules = {m.lower(): m for m in files.modules}
    for name in ["tlu2.py", "mytlu.py", "activation.py", "backprop.txt", "checks.py", "tlu.py.bak"]:
        assert intake.module_of(name, modules) is None, name
    for name in ["TLU.py", "tlu (12).py", "tlu_3.PY", "tlu copy 2.py", "tlu - Copy.py", "tlu - Copy (2).py"]:
        assert intake.module_of(name, modules) == "tlu", name


def test_an_unreadable_or_oversized_module_costs_that_module_only(tmp_path, reference, files):
    big = write_zip(tmp_path / "big.zip", {**reference, "mlp.py": reference["mlp.py"] + "#" * (intake.MAX_MODULE_BYTES + 1)})
    taken = intake.take(big, files)
    assert taken.problems == {"mlp": finding(Kind.IMPORT, module="mlp", cause="unreadable", path="mlp.py", why="larger than 2 MB")}
    assert EN.cause(taken.problems["mlp"]) == "mlp.py cannot be read (larger than 2 MB); zip it again without a password"
    assert sorted(taken.files) == ["activations.py", "backprop.py", "tlu.py"]
    crc = write_zip(tmp_path / "crc.zip", reference)
    corrupt_crc(crc, "backprop.py")
    taken = intake.take(crc, files)
    assert list(taken.problems) == ["backprop"]
    crc_problem = taken.problems["backprop"]
    assert (crc_problem.kind, crc_problem.param("cause"), crc_problem.param("why")) == (Kind.IMPORT, "unreadable", "a wrong CRC")


def test_links_are_never_followed(tmp_path, reference, files):
    folder = tmp_path / "s"
    folder.mkdir()
    secret = tmp_path / "secret.py"
    secret.write_text("SECRET = 1\n")
    for name, text in reference.items():
        (folder / name).write_text(text)
    (folder / "helper.py").symlink_to(secret)
    (folder / "sub").symlink_to(tmp_path)
    taken = intake.take(folder, files)
    assert "helper.py" not in taken.files and all(b"SECRET" not in d for d in taken.files.values())
    kinds = {(n.kind, n.subject) for n in taken.notes}
    assert ("unsafe", "helper.py") in kinds and ("unsafe", "sub") in kinds
    link_zip = tmp_path / "link.zip"
    with zipfile.ZipFile(link_zip, "w") as archive:
        for name, text in reference.items():
            archive.writestr(name, text)
        info = zipfile.ZipInfo("helper.py")
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, str(secret))
    taken = intake.take(link_zip, files)
    assert "helper.py" not in taken.files


def test_a_zip_in_a_zip_in_a_zip_is_unwrapped_once_only(tmp_path, reference, files):
    deep = write_zip(tmp_path / "deep.zip", {"a.zip": zip_bytes({"b.zip": zip_bytes(reference)})})
    taken = intake.take(deep, files)
    assert set(taken.problems) == set(files.modules)
    assert all(f.kind == Kind.IMPORT and f.param("cause") == "missing" for f in taken.problems.values())
    assert {f.param("file") for f in taken.problems.values()} == {f"{m}.py" for m in files.modules}
    folder = tmp_path / "student_folder"            # an LMS's per-student folder holding a wrapped zip
    folder.mkdir()
    write_zip(folder / "lab.zip", {"inner.zip": zip_bytes(reference)})
    taken = intake.take(folder, files)
    assert taken.problems == {} and [intake.describe(n) for n in taken.notes] == ["unwrapped inner.zip"]


def test_notebook_code_is_named_not_graded(tmp_path, files):
    notebook = {"cells": [{"cell_type": "code", "source": ["import numpy as np\n", "def relu(z):\n", "    return np.maximum(z, 0)\n"]},
                          {"cell_type": "markdown", "source": "def heaviside(z): in words"}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = write_zip(tmp_path / "export.zip", {"lab17_backprop.ipynb": json.dumps(notebook),
                                               **{f"{m}.py": files.skeletons[m] for m in files.modules}})
    taken = intake.take(path, files)
    described = [intake.describe(n) for n in taken.notes]
    assert described[0] == "your functions (relu) are in the notebook; the grader reads activations.py: move them there"
    assert not any("tlu.py" in d for d in described)       # heaviside is only in a markdown cell
    assert taken.files["activations.py"] == files.skeletons["activations"].encode()   # the notebook is not graded


def test_a_zip_that_is_not_a_zip_and_a_file_that_is_neither(tmp_path, files):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(intake.SubmissionError, match="^bad.zip: not a readable zip file"):
        intake.take(bad, files)
    text = tmp_path / "tlu.txt"
    text.write_text("x")
    with pytest.raises(intake.SubmissionError, match="a submission is a folder or a .zip, not a .txt"):
        intake.take(text, files)


def test_the_handouts_own_names_come_from_the_lab(lab):
    names = intake.handout_names(lab)
    assert {"tests", "checklib", "checks.py", "public_cases.json", "README.md", "requirements.txt"} <= names
    assert not {f"{m}.py" for m in lab.modules} & names and "lab17_backprop.ipynb" not in names


def test_a_handout_folder_copied_without_the_modules_is_still_the_handout(tmp_path, reference, files):
    """The handout's tests/ holds files named like the modules: they are never graded."""
    path = write_zip(tmp_path / "s.zip", handout_entries("lab17_backprop/"))
    taken = intake.take(path, files)
    for m in files.modules:
        assert f"{m}.py" not in taken.files or taken.files[f"{m}.py"] == (ASSIGNMENT / f"{m}.py").read_bytes()
