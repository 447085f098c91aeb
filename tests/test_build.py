"""`python -m autograder build`: the student handout, autograder.zip, and a Gradescope rehearsal.

- The handout (dist/student/ and dist/student.zip) holds the skeletons, the notebook, the
  public checks, a README (Korean, then English) and requirements.txt, nothing that points to a
  document students do not have (ASSIGNMENT.md, "the contract"), and nothing secret: no line of a reference solution block, no distinctive line
  of the lab's private files, no hidden case's input values. This is asserted on the content
  of every file, whatever its name, and the check is shown to catch each kind of leak.
- autograder.zip holds the engine, the lab's solutions/, Otter's configuration naming the kit's
  plugin, placeholder tests that fail without the plugin, requirements pinning numpy and
  otter-grader, and Gradescope's run_autograder and setup.sh.
- The Gradescope rehearsal unpacks autograder.zip into a temporary /autograder layout
  (source/, submission/, results/), runs its run_autograder with this environment's Python in
  place of what setup.sh downloads, and forces the "nobody" isolation that Gradescope's
  container (root, no namespaces) ends up with. The submission probes the sandbox: it must not
  read the hidden material nor write where the grader reads back.
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import skip_mode

from autograder import build, cli, config
from autograder.skeleton import strip_markers

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["tlu", "activations", "mlp", "backprop"]
NOTEBOOK = "lab17_backprop.ipynb"


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    assert cli.main(["build", "--out", str(out)]) == 0
    return out


def reference_sources(lab):
    return {m: strip_markers((lab.reference_dir / f"{m}.py").read_text()) for m in lab.modules}


# ---------------------------------------------------------------------------- the handout
def test_build_writes_the_three_outputs(dist, lab):
    assert (dist / "student").is_dir() and (dist / "student.zip").is_file() and (dist / "autograder.zip").is_file()
    handout = build.read_tree(dist / "student")
    expected = {"checks.py", NOTEBOOK, "README.md", "requirements.txt", *(f"{m}.py" for m in MODULES),
                *(f"tests/{q.name}.py" for q in lab.questions), "public_cases.json",
                *(f"checklib/{name}" for name in ("__init__.py", "compare.py", "text.py", "findings.py", "judges.py", "runner.py",
                                                  "catalogue/__init__.py", "catalogue/en.json", "catalogue/ko.json"))}
    assert set(handout) == expected
    assert handout == build.read_tree(lab.assignment_dir)
    assert build.read_zip(dist / "student.zip") == {f"lab17_backprop/{k}": v for k, v in handout.items()}


def test_handout_modules_are_the_skeletons(dist, lab):
    from autograder.skeleton import skeleton_files
    for name, text in skeleton_files(lab.reference_dir, lab.modules).items():
        assert (dist / "student" / name).read_text() == text
        assert "NotImplementedError" in text


def test_handout_shows_no_solution_and_no_hidden_case(dist, lab, settings):
    """By content: every line of every handout file (notebook cells included) against every
    solution line, and every number against the hidden cases' inputs."""
    for files in (build.read_tree(dist / "student"), build.read_zip(dist / "student.zip")):
        assert build.leaks(files, lab, settings) == []
    secret = build.secret_lines(lab)
    assert len(secret) > 50
    shown = set()
    for name, data in build.read_tree(dist / "student").items():
        shown |= {line.strip() for line in build.text_lines(name, data)}
    assert not shown & set(secret)
    text = "\n".join(data.decode("utf-8", "replace") for data in build.read_tree(dist / "student").values())
    for private in ("MISTAKES", "MISTAKE_EXAMPLES", "def part_a", "hidden=i > 0"):
        assert private not in text


HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_handout_readme_korean_first_then_english_in_three_steps(dist):
    readme = (dist / "student" / "README.md").read_text(encoding="utf-8")
    korean, english = readme.index("## 한국어"), readme.index("## English")
    assert korean < english
    first, second = readme[korean:english], readme[english:]
    assert len(HANGUL.findall(first)) > 200 and not HANGUL.findall(second)
    for part in (first, second):   # three numbered steps: install, open the notebook, check and submit
        steps = re.findall(r"^(\d)\. \*\*", part, re.M)
        assert steps == ["1", "2", "3"], part
        for needed in ("pip install -r requirements.txt", NOTEBOOK, "python checks.py", "grader.check", "Colab"):
            assert needed in part, needed
    assert "pip install otter-grader" in second


def test_handout_requirements_name_what_students_install(dist):
    lines = (dist / "student" / "requirements.txt").read_text().splitlines()
    packages = [re.split(r"[<>=!~ ]", line)[0] for line in lines if line.strip() and not line.startswith("#")]
    assert packages == ["numpy", "matplotlib", "jupyter"]
    optional = [line for line in lines if "otter-grader" in line]
    assert optional and all(line.startswith("#") for line in optional) and any("optional" in l.lower() for l in lines)


def test_handout_points_to_no_staff_document(dist, lab):
    """Prose and data students read; checklib/ is the engine's own code, copied unchanged (its
    comments call the docstrings' promises "the contract"), and is checked to be exactly that."""
    from autograder.selfcheck import library_files
    files = build.read_tree(dist / "student")
    assert build.unknown_references(files) == []
    engine = library_files(lab)
    assert all(files[name] == text.encode() for name, text in engine.items())
    text = "\n".join(data.decode("utf-8", "replace") for name, data in files.items() if name not in engine)
    assert "ASSIGNMENT" not in text and "contract" not in text.lower()


@pytest.mark.parametrize("where, text", [
    ("checks.py", "# reread ASSIGNMENT.md, Part D\n"),
    ("README.md", "See the contract, Part A.\n"),
])
def test_build_refuses_a_handout_that_points_to_staff_documents(tmp_path, lab, settings, where, text):
    assignment = tmp_path / "assignment"
    shutil.copytree(lab.assignment_dir, assignment, ignore=shutil.ignore_patterns("__pycache__"))
    (assignment / where).write_text((assignment / where).read_text() + text)
    with pytest.raises(build.BuildError, match="documents students do not have"):
        build.build(replace(lab, assignment_dir=assignment), tmp_path / "dist", settings, log=lambda *a: None)
    nb = json.loads((lab.assignment_dir / NOTEBOOK).read_text())
    nb["cells"][0]["source"] += "\nThe contract says so."
    assert any(p.startswith(NOTEBOOK) for p in build.unknown_references({NOTEBOOK: json.dumps(nb).encode()}))


@pytest.mark.parametrize("missing", ["README.md", "requirements.txt"])
def test_build_refuses_a_handout_without_readme_or_requirements(tmp_path, lab, settings, missing):
    assignment = tmp_path / "assignment"
    shutil.copytree(lab.assignment_dir, assignment, ignore=shutil.ignore_patterns("__pycache__"))
    (assignment / missing).unlink()
    with pytest.raises(build.BuildError, match=f"no {re.escape(missing)}"):
        build.build(replace(lab, assignment_dir=assignment), tmp_path / "dist", settings, log=lambda *a: None)


def test_leak_check_catches_every_kind_of_leak(lab, settings):
    handout = build.student_files(lab)
    solution = dict(handout)
    solution["notes.txt"] = (lab.reference_dir / "activations.py").read_bytes()   # any name
    assert any("solution of activations.py" in p for p in build.leaks(solution, lab, settings))

    in_notebook = dict(handout)
    nb = json.loads(in_notebook[NOTEBOOK])
    body = [line for line in reference_sources(lab)["backprop"].splitlines() if "def " not in line]
    nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                        "source": "\n".join(body[-40:])})
    in_notebook[NOTEBOOK] = json.dumps(nb).encode()
    assert any(p.startswith(NOTEBOOK) and "solution of backprop.py" in p for p in build.leaks(in_notebook, lab, settings))

    grading = dict(handout)
    grading["tests/extra.py"] = (lab.reference_dir / "grading.py").read_bytes()
    assert any("grading.py" in p for p in build.leaks(grading, lab, settings))

    cases = list(lab.make_cases(settings, lab.reference()))
    hidden = next(c for c in cases if c.hidden and c.function == "activations.sigmoid"
                  and isinstance(c.args[0], np.ndarray) and c.args[0].size >= 6
                  and np.all(np.round(c.args[0], 4) != c.args[0]))
    for shown in (repr(hidden.args[0]), np.array2string(hidden.args[0], precision=4)):
        values = dict(handout)
        values["data/values.txt"] = shown.encode()
        assert any("hidden case" in p and "activations.sigmoid" in p for p in build.leaks(values, lab, settings)), shown


def test_build_refuses_a_leaking_handout(tmp_path, lab, settings):
    assignment = tmp_path / "assignment"
    shutil.copytree(lab.assignment_dir, assignment, ignore=shutil.ignore_patterns("__pycache__"))
    (assignment / "hint.md").write_text((lab.reference_dir / "mlp.py").read_text())
    with pytest.raises(build.BuildError, match="would leak"):
        build.build(replace(lab, assignment_dir=assignment), tmp_path / "dist", settings, log=lambda *a: None)
    assert not (tmp_path / "dist" / "student").exists()


def test_build_refuses_stale_skeletons(tmp_path, lab, settings):
    assignment = tmp_path / "assignment"
    shutil.copytree(lab.assignment_dir, assignment, ignore=shutil.ignore_patterns("__pycache__"))
    (assignment / "tlu.py").write_text((assignment / "tlu.py").read_text() + "\n# edited by hand\n")
    with pytest.raises(build.BuildError, match="skeleton"):
        build.build(replace(lab, assignment_dir=assignment), tmp_path / "dist", settings, log=lambda *a: None)


# ---------------------------------------------------------------------------- autograder.zip
def test_autograder_zip_layout(dist, lab):
    files = build.read_zip(dist / "autograder.zip")
    names = set(files)
    read = lambda name: files[name].decode()
    with zipfile.ZipFile(dist / "autograder.zip") as archive:
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    for required in ("run_autograder", "setup.sh", "run_otter.py", "otter_config.json", "requirements.txt",
                     "environment.yml", f"files/{NOTEBOOK}", "autograder/otter_plugin.py",
                     "autograder/sandbox/runner.py", f"solutions/{lab.name}/grading.py",
                     *(f"solutions/{lab.name}/{m}.py" for m in MODULES)):
        assert required in names, required
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert {n for n in names if n.startswith("tests/")} == {f"tests/{q.name}.py" for q in lab.questions}
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111

    requirements = read("requirements.txt").split()
    assert f"numpy=={np.__version__}" in requirements
    assert "otter-grader[grading]==7.0.0" in requirements
    assert f"python={sys.version_info.major}.{sys.version_info.minor}" in read("environment.yml")
    otter_config = json.loads(read("otter_config.json"))
    (plugin,) = otter_config["plugins"]
    assert plugin == {"autograder.otter_plugin.KitGrader": {"lab": lab.name, "settings": {}, "show_hidden": False}}
    assert otter_config["show_hidden"] is False
    placeholder = json.loads(read(f"files/{NOTEBOOK}"))
    assert all(c["cell_type"] == "markdown" for c in placeholder["cells"])


def test_placeholder_tests_are_worth_the_points_and_fail_without_the_plugin(dist, lab):
    from otter.test_files import OKTestFile
    with zipfile.ZipFile(dist / "autograder.zip") as archive:
        for q in lab.questions:
            env = {}
            exec(archive.read(f"tests/{q.name}.py").decode(), env)
            assert env["OK_FORMAT"] is True and env["test"]["points"] == q.points
    folder = dist / "tests-unpacked"
    with zipfile.ZipFile(dist / "autograder.zip") as archive:
        archive.extract("tests/tlu.py", folder)
    test = OKTestFile.from_file(str(folder / "tests" / "tlu.py"))
    test.run({})
    assert test.score == 0 and test.possible == 15


def test_build_stores_chosen_settings(tmp_path, lab):
    assert cli.main(["build", "--out", str(tmp_path), "--isolation", "nobody"]) == 0
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        stored = json.loads(archive.read("otter_config.json"))["plugins"][0]["autograder.otter_plugin.KitGrader"]
    assert stored["settings"] == {"isolation": "nobody"}


def test_build_stores_show_hidden(tmp_path, lab):
    """--show-hidden, like Otter's show_hidden: stored as Otter's key and in the plugin's
    configuration (the plugin makes hidden tests visible "after_published"); nothing else changes."""
    assert cli.main(["build", "--out", str(tmp_path / "shown"), "--show-hidden", "--case-timeout", "10"]) == 0
    assert cli.main(["build", "--out", str(tmp_path / "default")]) == 0
    stored = {}
    for name in ("shown", "default"):
        with zipfile.ZipFile(tmp_path / name / "autograder.zip") as archive:
            stored[name] = json.loads(archive.read("otter_config.json"))
    shown, default = stored["shown"], stored["default"]
    assert shown["show_hidden"] is True and default["show_hidden"] is False
    plugin = shown["plugins"][0]["autograder.otter_plugin.KitGrader"]
    assert plugin == {"lab": lab.name, "settings": {"case_timeout": 10.0}, "show_hidden": True}
    assert default["plugins"][0]["autograder.otter_plugin.KitGrader"]["show_hidden"] is False
    assert {k: v for k, v in shown.items() if k not in ("show_hidden", "plugins")} == \
        {k: v for k, v in default.items() if k not in ("show_hidden", "plugins")}
    assert build.read_zip(tmp_path / "shown" / "student.zip") == build.read_zip(tmp_path / "default" / "student.zip")


def test_settings_from_the_environment():
    settings = config.from_environment(environ={"AUTOGRADER_ISOLATION": "nobody", "AUTOGRADER_CASE_TIMEOUT": "7.5",
                                                "AUTOGRADER_RESTARTS": "3", "AUTOGRADER_PYTHON": "/usr/bin/python3"})
    assert (settings.isolation, settings.case_timeout, settings.restarts) == ("nobody", 7.5, 3)
    assert config.from_environment(base=config.DEFAULTS, environ={}) == config.DEFAULTS
    with pytest.raises(ValueError, match="AUTOGRADER_CASE_TIMEOUT"):
        config.from_environment(environ={"AUTOGRADER_CASE_TIMEOUT": "soon"})


# ---------------------------------------------------------------------------- Gradescope rehearsal
PROBE = '''
import os as _os
_AG = {ag!r}
_found = []
for _path in (_AG + "/source/solutions/lab17_backprop/grading.py", _AG + "/source/otter_config.json",
              _AG + "/source/autograder/otter_plugin.py"):
    try:
        open(_path).read(1)
        _found.append("read " + _path)
    except OSError:
        pass
for _path in (_AG + "/results/results.json", _AG + "/results/planted", _AG + "/submission/tests/planted.py",
              _AG + "/planted"):
    try:
        with open(_path, "a") as _f:
            _f.write("")
        _found.append("wrote " + _path)
    except OSError:
        pass
_here = _os.path.dirname(_os.path.abspath(__file__))
_others = [n for n in _os.listdir(_here) if not n.endswith(".py")]
if _others:
    _found.append("sandbox input holds " + ", ".join(sorted(_others)))
if _found:
    raise RuntimeError("sandbox escape: " + "; ".join(_found))
'''


def nobody_works():
    from autograder.sandbox import isolation
    return isolation.STRATEGIES["nobody"].available()


def handout_upload(lab, submission, sources):
    """The handout folder zipped whole (as Gradescope unpacks it), beside entries Otter trips over
    before any plugin runs: a second notebook, a tests/ folder, an __init__.py, otter_config.json."""
    folder = submission / lab.name
    shutil.copytree(lab.assignment_dir, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for module, text in sources.items():
        (folder / f"{module}.py").write_text(text)
    (submission / "tests").mkdir()
    (submission / "tests" / "tlu.py").write_text("raise SystemExit('a test of the student')\n")
    (submission / "__init__.py").write_text("raise SystemExit('imported')\n")
    (submission / "otter_config.json").write_text('{"plugins": []}')
    (submission / "notes.ipynb").write_text("{ not a notebook")


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["modules", "handout"])
def test_gradescope_rehearsal_under_nobody(dist, lab, tmp_path, layout):
    if os.geteuid() != 0:
        skip_mode("the nobody sandbox (Gradescope's path) needs root")
    if not nobody_works():
        skip_mode("the nobody strategy does not work on this machine")
    base = tmp_path / "gradescope"
    ag = base / "autograder"
    for sub in ("source", "submission", "results"):
        (ag / sub).mkdir(parents=True)
    # as on Gradescope: everything world-readable until run_autograder protects it
    for folder in [tmp_path, base, ag, *(ag / s for s in ("source", "submission", "results"))]:
        os.chmod(folder, 0o755)
    with zipfile.ZipFile(dist / "autograder.zip") as archive:
        archive.extractall(ag / "source")
    for path in (ag / "source").rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    shutil.copy(ag / "source" / "run_autograder", ag / "run_autograder")
    os.chmod(ag / "run_autograder", 0o755)
    (ag / "submission_metadata.json").write_text("{}")
    sources = reference_sources(lab)
    sources["tlu"] = PROBE.format(ag=str(ag)) + sources["tlu"]   # the reference, plus a probe at import
    notebook = (lab.assignment_dir / NOTEBOOK).read_text()
    if layout == "handout":   # activations still the skeleton: its functions were written in the notebook
        sources["activations"] = (lab.assignment_dir / "activations.py").read_text()
        handout_upload(lab, ag / "submission", sources)
        cells = json.loads(notebook)
        cells["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                               "source": ["def relu(z):\n", "    return np.maximum(z, 0.0)\n"]})
        notebook = json.dumps(cells)
    for module, text in sources.items() if layout == "modules" else ():
        (ag / "submission" / f"{module}.py").write_text(text)
    (ag / "submission" / NOTEBOOK).write_text(notebook)
    (ag / "submission" / "lab17_backprop-Copy1.ipynb").write_text((lab.assignment_dir / NOTEBOOK).read_text())
    (ag / "submission" / ".OTTER_LOG").write_bytes(b"not a dill pickle")   # Otter would dill-load it

    env = {**os.environ, "AUTOGRADER_PYTHON": sys.executable, "AUTOGRADER_ISOLATION": "nobody"}
    if os.access("/dev/shm", os.W_OK):
        env["TMPDIR"] = "/dev/shm"   # the engine's scratch files on tmpfs: faster than a disk
    run = subprocess.run(["bash", str(ag / "run_autograder")], env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"engine: {ag / 'source' / 'autograder'}" in run.stdout     # the zip's own engine
    assert "isolation: nobody" in run.stdout

    results = json.loads((ag / "results" / "results.json").read_text())
    scores = {t["name"]: t["score"] for t in results["tests"] if "score" in t}
    expected = {q.name: q.points for q in lab.questions}
    if layout == "handout":
        expected["activations"] = 0
    assert scores == expected, results
    assert "nobody" in results["output"]
    by_name = {t["name"]: t for t in results["tests"]}
    assert by_name["Public Tests"]["visibility"] == "visible"
    assert all(by_name[q.name]["visibility"] == "hidden" for q in lab.questions)
    for line in by_name["Public Tests"]["output"].split("\n"):   # of hidden cases, only the summary lines
        assert "hidden" not in line.lower() or re.search(r"hidden cases \(summary\) result:$|^\s*Hidden cases that lost"
                                                          r"|: lost [\d.]+ of [\d.]+ points; \d+ of \d+ hidden cases? failed$", line), line
    if layout == "handout":   # the upload reached the kit whole: its notebook too (Otter saw none of it)
        assert "ignored the handout's" in results["output"]
        assert "your functions (relu) are in the notebook; the grader reads activations.py" in results["output"]
    assert (ag / "results" / "results.pkl").exists()
    assert not (ag / "results" / "planted").exists() and not (ag / "planted").exists()
    assert stat.S_IMODE((ag / "source").stat().st_mode) & 0o077 == 0


def test_run_autograder_refuses_without_python(dist, tmp_path):
    ag = tmp_path / "autograder"
    (ag / "source").mkdir(parents=True)
    with zipfile.ZipFile(dist / "autograder.zip") as archive:
        archive.extract("run_autograder", ag / "source")
    env = {**os.environ, "AUTOGRADER_PYTHON": str(tmp_path / "no-python")}
    run = subprocess.run(["bash", str(ag / "source" / "run_autograder")], env=env, capture_output=True, text=True)
    assert run.returncode == 1 and "no Python" in run.stderr
