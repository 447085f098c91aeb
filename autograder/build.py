"""What ships: the student handout and autograder.zip, for Otter-Grader and Gradescope.

`python -m autograder build --out dist/` writes
  dist/student/         the handout: the skeleton modules, the notebook, checks.py and tests/
                        (the public checks), README.md (install, open the notebook, check and
                        submit) and requirements.txt, copied from assignments/<lab>/;
  dist/student.zip      the same files in one folder named after the lab;
  dist/autograder.zip   under that fixed name, for Gradescope ("Zip file upload") and for
                        `otter run -a dist/autograder.zip SUBMISSION`.

The handout is checked by content before anything is written: no line of a reference solution
block (between BEGIN/END SOLUTION markers), no distinctive line of the lab's private files
(grading.py, mistakes.py, ...) and no input value of a hidden case may appear in any of its
files, whatever the file is called (`leaks`). It must also hold README.md and requirements.txt
(a student with a plain Python, Anaconda or Colab learns from them what to install and how to
open the lab), and no file may send students to a document they do not have (the staff's
ASSIGNMENT.md, "the contract": `unknown_references`); hints point to the notebook's part, the
function's docstring and the lecture's equation instead.

autograder.zip holds
  autograder/             the kit's engine (the trusted parent and the sandbox runner);
  solutions/<lab>/        the reference, grading.py with the hidden cases (hidden material);
  otter_config.json       Otter's configuration: the kit's plugin (autograder.otter_plugin)
                          grades the submission with the engine; Otter's kernel runs nothing of it.
                          `build --show-hidden` stores show_hidden = true, Otter's own key and in
                          the plugin's configuration: hidden tests' feedback (shapes only, never
                          values) becomes visible to students once grades are published
                          (Gradescope's "after_published");
  tests/<question>.py     Otter's test files: placeholders worth each question's points that
                          fail unless the plugin replaces them (a missing plugin gives 0, not 100);
  files/<notebook>.ipynb  an empty notebook that Otter copies over the submission's own, so that
                          Otter, which grades exactly one notebook or one .py file, accepts a zip of
                          the four modules (with or without the exported notebook);
  run_autograder          Gradescope's entry point: protects source/ (chmod go-rwx), sets the
                          submitted notebooks aside (Otter accepts only one), runs run_otter.py
                          with the environment setup.sh built;
  run_otter.py            Otter's autograding (otter.run.run_autograder.main) for <ag>;
  setup.sh                Gradescope's image build: Miniforge in /opt (readable by the sandbox's
                          unprivileged uid), the conda environment of environment.yml, bubblewrap;
  environment.yml, requirements.txt   Python and the pinned packages the engine and Otter need.
"""
import json
import os
import pprint
import re
import shutil
import stat
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .skeleton import BEGIN, END, skeleton_files

ZIP_NAME = "autograder.zip"
OTTER_VERSION = "7.0.0"
MINIFORGE_VERSION = "25.3.1-0"   # the version otter-grader 7.0.0's own setup.sh installs
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints", "__MACOSX", ".pytest_cache"}
FIXED_TIME = (2025, 1, 1, 0, 0, 0)   # zip entries get this time: the same sources give the same zip
PLUGIN = "autograder.otter_plugin.KitGrader"
HANDOUT_REQUIRED = ("README.md", "requirements.txt")   # at the handout's top
# Documents of the course staff that students never get: no handout file may point to them.
STAFF_ONLY = re.compile(r"ASSIGNMENT\.md|\bcontracts?\b", re.IGNORECASE)
SOLUTION_MIN_CHARS = 8     # a solution line counts when it has at least this many word characters
PRIVATE_MIN_CHARS = 20     # the same for lines of the lab's other private files


class BuildError(ValueError):
    """The handout would leak, or the sources are not ready to ship."""


@dataclass
class Built:
    student_dir: Path
    student_zip: Path
    autograder_zip: Path
    student_files: list
    autograder_files: list


# ---------------------------------------------------------------------------- the handout
def shippable(rel):
    parts = Path(rel).parts
    return not (SKIP_PARTS & set(parts) or any(p.startswith(".") for p in parts) or rel.endswith(".pyc"))


def read_tree(folder):
    """{relative posix path: bytes} of every shippable file below `folder`."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink() and shippable(p.relative_to(folder).as_posix())}


def read_zip(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}


def student_files(lab):
    """The handout's files, after checking that the skeletons match the reference."""
    files = read_tree(lab.assignment_dir)
    for name, text in skeleton_files(lab.reference_dir, lab.modules).items():
        if files.get(name) != text.encode():
            raise BuildError(f"{lab.assignment_dir / name} is not the skeleton of the reference; "
                             f"run `python -m autograder skeleton`")
    if len(notebooks(files)) != 1:
        raise BuildError(f"{lab.assignment_dir} must hold exactly one notebook (found {len(notebooks(files))})")
    missing = [name for name in HANDOUT_REQUIRED if name not in files]
    if missing:
        raise BuildError(f"{lab.assignment_dir} has no {' and no '.join(missing)}: students need them to install and open the lab")
    return files


def unknown_references(files):
    """Problems (one line each) where a handout file sends students to a document they do not
    have (ASSIGNMENT.md, "the contract"). Empty when there is none."""
    problems = []
    for name, data in sorted(files.items()):
        for number, line in enumerate(text_lines(name, data), 1):
            match = STAFF_ONLY.search(line)
            if match:
                problems.append(f"{name}:{number}: mentions {match.group(0)!r}, which students do not have: "
                                f"{line.strip()[:80]!r}")
    return problems


def notebooks(files):
    return [name for name in files if name.endswith(".ipynb") and "/" not in name]


# ---------------------------------------------------------------------------- leak check
def meaningful(line, minimum):
    return len(re.sub(r"\W", "", line)) >= minimum


def secret_lines(lab):
    """{stripped line: where it comes from} that must never reach students: every line inside
    a reference solution block, and every distinctive line of the lab's other private files,
    except lines that are public anyway (the reference outside its solution blocks)."""
    public, secret = set(), {}
    for module in lab.modules:
        inside = False
        for number, line in enumerate((lab.reference_dir / f"{module}.py").read_text().splitlines(), 1):
            if BEGIN.match(line):
                inside = True
            elif END.match(line):
                inside = False
            elif inside:
                if meaningful(line, SOLUTION_MIN_CHARS):
                    secret.setdefault(line.strip(), f"solution of {module}.py:{number}")
            else:
                public.add(line.strip())
    modules = {f"{m}.py" for m in lab.modules}
    for path in sorted(lab.reference_dir.rglob("*.py")):
        if path.name in modules or not shippable(path.relative_to(lab.reference_dir).as_posix()):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if meaningful(line, PRIVATE_MIN_CHARS):
                secret.setdefault(line.strip(), f"{path.name}:{number}")
    return {line: where for line, where in secret.items() if line not in public}


def text_lines(name, data):
    """The lines a file shows: a notebook's cell sources and text outputs, else its text."""
    text = data.decode("utf-8", errors="replace")
    if name.endswith(".ipynb"):
        try:
            nb = json.loads(text)
            chunks = []
            for cell in nb.get("cells", []):
                chunks.append(as_text(cell.get("source", "")))
                for output in cell.get("outputs", []):
                    chunks.append(as_text(output.get("text", "")))
                    chunks += [as_text(v) for v in output.get("data", {}).values() if isinstance(v, (str, list))]
            text = "\n".join(chunks)
        except (ValueError, AttributeError):
            pass
    return text.splitlines()


def as_text(value):
    return "".join(value) if isinstance(value, list) else str(value)


def float_leaves(value):
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        yield value.ravel()
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from float_leaves(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from float_leaves(item)


def hidden_values(lab, settings):
    """({6-decimal text: case} for the distinctive values of hidden inputs,
        {3 consecutive values at 4 decimals: case} for runs of them), leaving out values that
    a public case uses too."""
    cases = list(lab.make_cases(settings, lab.reference()))
    public = set()
    for case in cases:
        if not case.hidden:
            for leaf in float_leaves([case.args, case.kwargs]):
                public.update(f"{abs(v):.6f}" for v in leaf if np.isfinite(v))
    singles, runs = {}, {}
    for k, case in enumerate(cases):
        if not case.hidden:
            continue
        where = f"hidden case {k} ({case.function})"
        for leaf in float_leaves([case.args, case.kwargs]):
            leaf = leaf[np.isfinite(leaf)]
            distinctive = [v for v in leaf if round(float(v), 4) != float(v)]
            for v in distinctive:
                key = f"{abs(v):.6f}"
                if key not in public:
                    singles.setdefault(key, where)
            for i in range(len(leaf) - 2):
                triple = leaf[i:i + 3]
                if all(round(float(v), 4) != float(v) for v in triple):
                    runs.setdefault(tuple(f"{abs(v):.4f}" for v in triple), where)
    return singles, runs


NUMBER = re.compile(r"(?<![\w.])-?(\d+\.\d+)(?:[eE][-+]?\d+)?")


def leaks(files, lab, settings):
    """Problems (one line each) if any file of `files` ({name: bytes}) shows a solution line, a
    private line or a hidden case's inputs. Empty when the handout is clean."""
    secret = secret_lines(lab)
    singles, runs = hidden_values(lab, settings)
    problems = []
    for name, data in sorted(files.items()):
        lines = text_lines(name, data)
        for number, line in enumerate(lines, 1):
            where = secret.get(line.strip())
            if where:
                problems.append(f"{name}:{number}: shows a line of the {where}: {line.strip()[:80]!r}")
        numbers = []
        for match in NUMBER.finditer("\n".join(lines)):
            try:
                numbers.append((abs(float(match.group(0))), len(match.group(1).split(".")[1])))
            except ValueError:
                continue
        for value, decimals in numbers:
            if decimals >= 6 and f"{value:.6f}" in singles:
                problems.append(f"{name}: shows the value {value} of the {singles[f'{value:.6f}']}")
        shown = [f"{value:.4f}" for value, decimals in numbers if decimals >= 4]
        for i in range(len(shown) - 2):
            where = runs.get(tuple(shown[i:i + 3]))
            if where:
                problems.append(f"{name}: shows the values {', '.join(shown[i:i + 3])} of the {where}")
    return problems


# ---------------------------------------------------------------------------- autograder.zip
def placeholder_test(question, points):
    """An OK test file worth the question's points that fails unless the plugin replaces it."""
    test = {
        "name": question,
        "points": points,
        "suites": [{"cases": [{"code": ">>> 'graded by the kit engine'\n'not graded: the kit plugin did not run'",
                               "hidden": False, "locked": False}],
                    "scored": True, "setup": "", "teardown": "", "type": "doctest"}],
    }
    return ("OK_FORMAT = True\n\n"
            f"# Placeholder for Otter. The kit's plugin ({PLUGIN}) replaces this question's result\n"
            "# with the engine's score; without the plugin this test fails and the question scores 0.\n"
            f"test = {pprint.pformat(test, sort_dicts=False)}\n")


def empty_notebook_text():
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": [
              "Placeholder: the kit's engine grades the submitted .py files; Otter's kernel runs nothing of the student."]}],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                       "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    nb["cells"][0]["id"] = "placeholder"
    return json.dumps(nb, indent=1) + "\n"


def requirements():
    return (f"numpy=={np.__version__}\n"
            f"otter-grader[grading]=={OTTER_VERSION}\n")


def environment_yml():
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    pins = "".join(f"      - {line}\n" for line in requirements().splitlines())
    return ("name: otter-env\n"
            "channels:\n"
            "  - conda-forge\n"
            "dependencies:\n"
            f"  - python={python}\n"
            "  - pip\n"
            "  - pip:\n" + pins)


SETUP_SH = f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (network allowed).
# It installs Miniforge in /opt (readable by the unprivileged uid the sandbox drops to; /root is
# not), the conda environment of environment.yml (Python, numpy, otter-grader) and bubblewrap
# (used when the container allows namespaces; otherwise the engine drops to an unprivileged uid).
set -euo pipefail
SOURCE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends wget ca-certificates bzip2
apt-get install -y --no-install-recommends bubblewrap || echo "bubblewrap not installed: the sandbox will use an unprivileged uid"
if [ ! -x /opt/miniforge3/bin/mamba ]; then
    wget -nv "https://github.com/conda-forge/miniforge/releases/download/{MINIFORGE_VERSION}/Miniforge3-Linux-$(uname -m).sh" -O /tmp/miniforge.sh
    bash /tmp/miniforge.sh -b -p /opt/miniforge3
    rm -f /tmp/miniforge.sh
fi
/opt/miniforge3/bin/mamba env create -f "$SOURCE/environment.yml"
/opt/miniforge3/bin/mamba clean -afy || true
chmod -R a+rX /opt/miniforge3
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this, as root, for every submission, with /autograder/{source,submission,results}
# (Gradescope copies it to /autograder/run_autograder; it also works from source/).
# AUTOGRADER_PYTHON names another Python that has the kit's requirements (a rehearsal);
# AUTOGRADER_<SETTING> variables override grading settings (python -m autograder settings).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ "$(basename "$here")" = source ]; then AG="$(dirname "$here")"; else AG="$here"; fi
# The hidden material (solutions/, the engine, the tests) becomes unreadable to other users,
# so that a sandbox running as an unprivileged uid cannot read it, and nothing the grader reads
# back (results/, the submission as Otter sees it) is writable by others.
chmod -R go-rwx "$AG/source"
chmod go-w "$AG" "$AG/submission" "$AG/results" 2>/dev/null || true
# Otter grades exactly one notebook: the kit grades the .py files, and Otter copies an empty
# notebook of the handout's name (source/files/) into submission/, so the student's own
# notebooks, whatever their names, are set aside here (Gradescope keeps the original upload).
find "$AG/submission" -maxdepth 1 -type f -name '*.ipynb' -delete 2>/dev/null || true
PYTHON="${AUTOGRADER_PYTHON:-/opt/miniforge3/envs/otter-env/bin/python}"
if [ ! -x "$PYTHON" ]; then
    echo "run_autograder: no Python at $PYTHON (did setup.sh run? set AUTOGRADER_PYTHON)" >&2
    exit 1
fi
cd "$AG/source"
exec "$PYTHON" "$AG/source/run_otter.py" "$AG"
"""

RUN_OTTER = '''"""Otter's autograding of <ag>/submission with the kit's plugin (see otter_config.json).

Run from <ag>/source (run_autograder does), so that the engine in the zip (source/autograder/)
is the one imported.
"""
import os
import sys

from otter.run.run_autograder import main

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
'''


def otter_config(lab, settings, show_hidden=False):
    """Otter's otter_config.json. show_hidden: hidden tests' results become visible to students
    after grades are published ("after_published"), as with Otter's own show_hidden; the plugin
    reads its copy in its configuration, since it writes the results itself."""
    return {
        "lang": "python",
        "plugins": [{PLUGIN: {"lab": lab.name, "settings": settings, "show_hidden": bool(show_hidden)}}],
        "show_stdout": False,
        "show_hidden": bool(show_hidden),
        "pdf": False,
        "grade_from_log": False,
        "print_summary": True,
    }


def autograder_files(lab, settings=None, show_hidden=False):
    """{name in the zip: bytes}; `settings` ({name: value}) are stored for the engine, and
    show_hidden for the plugin (see otter_config)."""
    notebook = notebooks(read_tree(lab.assignment_dir))
    if len(notebook) != 1:
        raise BuildError(f"{lab.assignment_dir} must hold exactly one notebook")
    files = {
        "run_autograder": RUN_AUTOGRADER.encode(),
        "setup.sh": SETUP_SH.encode(),
        "run_otter.py": RUN_OTTER.encode(),
        "requirements.txt": requirements().encode(),
        "environment.yml": environment_yml().encode(),
        "otter_config.json": (json.dumps(otter_config(lab, dict(settings or {}), show_hidden), indent=2) + "\n").encode(),
        f"files/{notebook[0]}": empty_notebook_text().encode(),
    }
    for q in lab.questions:
        files[f"tests/{q.name}.py"] = placeholder_test(q.name, q.points).encode()
    engine = Path(__file__).resolve().parent
    for path in sorted(engine.rglob("*.py")):
        rel = path.relative_to(engine).as_posix()
        if shippable(rel):
            files[f"autograder/{rel}"] = path.read_bytes()
    for rel, data in read_tree(lab.reference_dir).items():
        files[f"solutions/{lab.name}/{rel}"] = data
    return files


EXECUTABLE = {"run_autograder", "setup.sh"}


def write_zip(path, files, prefix=""):
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files.items()):
            info = zipfile.ZipInfo(prefix + name, date_time=FIXED_TIME)
            info.external_attr = ((0o755 if name in EXECUTABLE else 0o644) | stat.S_IFREG) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------- build
def build(lab, out, settings, zip_settings=None, log=print, show_hidden=False):
    """Write out/student/, out/student.zip and out/autograder.zip (see the module docstring)."""
    out = Path(out)
    handout = student_files(lab)
    problems = leaks(handout, lab, settings)
    if problems:
        raise BuildError("the student handout would leak:\n  " + "\n  ".join(problems[:20]))
    problems = unknown_references(handout)
    if problems:
        raise BuildError("the student handout points to documents students do not have (point to the "
                         "notebook's part, the docstring or the lecture's equation instead):\n  " + "\n  ".join(problems[:20]))
    grader = autograder_files(lab, zip_settings, show_hidden)
    out.mkdir(parents=True, exist_ok=True)
    student_dir = out / "student"
    if student_dir.exists():
        shutil.rmtree(student_dir)
    for rel, data in handout.items():
        target = student_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    written = read_tree(student_dir)
    problems = leaks(written, lab, settings)   # what is on disk is what students get
    if problems or written != handout:
        shutil.rmtree(student_dir, ignore_errors=True)
        raise BuildError("the written handout differs from its sources or leaks:\n  " + "\n  ".join(problems[:20]))
    write_zip(out / "student.zip", handout, prefix=f"{lab.name}/")
    write_zip(out / ZIP_NAME, grader)
    log(f"wrote {student_dir}/ ({len(handout)} files: {', '.join(sorted(handout))})")
    log(f"wrote {out / 'student.zip'} (the same files in {lab.name}/)")
    log(f"wrote {out / ZIP_NAME} ({len(grader)} files; Otter plugin {PLUGIN}, lab {lab.name}, "
        f"numpy=={np.__version__}, otter-grader=={OTTER_VERSION}"
        f"{'; hidden tests visible after grades are published' if show_hidden else ''})")
    log("checked: no solution line, private line or hidden case input appears in the handout, "
        "and nothing in it points to a staff-only document")
    return Built(student_dir, out / "student.zip", out / ZIP_NAME, sorted(handout), sorted(grader))
