"""checks.py never hangs: every check has a time limit, and lines appear as checks finish.

A function of each part is given an infinite loop (a `while` whose counter never moves) in a
copy of the reference; the run must finish, print one FAIL line for that function ("took longer
than N s: look for a loop that never ends"), and still report the other checks. Both ways of
stopping a check are tested: a forked child (Linux) and a thread (Windows, macOS), chosen with
CHECKS_RUN_IN. The same holds for the notebook's grader.check, with Otter and without it, in a
real Jupyter kernel.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = ROOT / "assignments" / "lab17_backprop"
SOLUTIONS = ROOT / "solutions" / "lab17_backprop"
MODULES = ["tlu.py", "activations.py", "mlp.py", "backprop.py"]
NO_OTTER = 'raise ModuleNotFoundError("No module named \'otter\'", name="otter")\n'

# question: (module, function that loops)
LOOPS = {
    "tlu": ("tlu.py", "perceptron_train"),
    "activations": ("activations.py", "relu_grad"),
    "forward": ("mlp.py", "predict"),
    "backprop": ("backprop.py", "numerical_gradient"),
    "training": ("backprop.py", "train"),
}


def counted(work, question, function):
    """(number of the question's checks, checks of that function), as checks.py registers them."""
    code = (f"import checks; cs = checks.CHECKS[{question!r}]; "
            f"print(len(cs), sum(c.target == {function!r} for c in cs))")
    out = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True, check=True).stdout
    return tuple(int(n) for n in out.split())


def with_loop(dest, module, function):
    """A copy of the assignment with the reference modules, `function` looping forever."""
    work = dest / "lab17_backprop"
    shutil.copytree(ASSIGNMENT, work, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    for name in MODULES:
        shutil.copy(SOLUTIONS / name, work / name)
    source = (work / module).read_text()
    start = source.index(f"\ndef {function}(")
    marker = re.compile(r"^(\s*)# BEGIN SOLUTION.*$", re.M).search(source, start)
    indent = marker.group(1)
    loop = f"\n{indent}i = 0\n{indent}while i < 10:   # the counter never moves\n{indent}    i * 2"
    (work / module).write_text(source[:marker.end()] + loop + source[marker.end():])
    return work


def run(work, *args, env=None, timeout=120):
    proc = subprocess.run([sys.executable, *args], cwd=work, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("run_in", ["fork", "thread"])
@pytest.mark.parametrize("question", list(LOOPS))
def test_a_looping_function_gives_one_fail_line_and_the_run_goes_on(tmp_path, question, run_in):
    module, function = LOOPS[question]
    work = with_loop(tmp_path, module, function)
    total, its_checks = counted(work, question, function)
    start = time.perf_counter()
    rc, out = run(work, "checks.py", "--time-limit", "1", question, env={"CHECKS_RUN_IN": run_in})
    elapsed = time.perf_counter() - start
    assert rc == 1 and "Traceback" not in out, out
    line = f"FAIL  {function}: took longer than 1 s: look for a loop that never ends (stopped at {module}, line "
    assert out.count(line) == 1, out
    assert len(re.findall(r"^FAIL", out, re.M)) == 1, out   # the function's other checks do not wait, nor print again
    assert len(re.findall(r"^PASS", out, re.M)) == total - its_checks, out
    assert re.search(rf"^{question} \(.*\): {total - its_checks} of {total} checks passed, {its_checks} FAILED$", out, re.M), out
    assert elapsed < 1 * its_checks + 8, f"{elapsed:.1f} s: the second check of a looping function waited again"


def test_lines_appear_as_checks_finish_with_the_default_limit(tmp_path):
    """perceptron_train loops; the PASS lines before it must be readable while it runs."""
    work = with_loop(tmp_path, "tlu.py", "perceptron_train")
    proc = subprocess.Popen([sys.executable, "checks.py", "tlu"], cwd=work, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    arrived = []
    deadline = threading.Timer(60, proc.kill)   # a checks.py that hangs fails this test, it does not hang it
    deadline.start()
    try:
        for line in proc.stdout:
            arrived.append((time.perf_counter(), line.rstrip("\n"), proc.poll() is None))
    finally:
        deadline.cancel()
        proc.wait(timeout=60)
    times = {text: (t, running) for t, text, running in arrived}
    passed = next(text for _, text, _ in arrived if text.startswith("PASS") and "heaviside" in text)
    failed = next(text for _, text, _ in arrived if text.startswith("FAIL"))
    assert failed.startswith("FAIL  perceptron_train: took longer than 5 s: look for a loop that never ends"), failed
    assert times[passed][1], "the PASS line came only after the run ended"
    assert times[failed][0] - times[passed][0] > 4, "the PASS line was held back until the loop was stopped"
    assert proc.returncode == 1


LIMIT = "import checks; checks.TIME_LIMIT = 1"


def first_cell():
    nb = json.loads((ASSIGNMENT / "lab17_backprop.ipynb").read_text())
    return "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])


@pytest.mark.parametrize("otter", ["without otter", "with otter"])
def test_grader_check_in_a_notebook_kernel_does_not_hang(tmp_path, monkeypatch, otter):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    if otter == "with otter":
        pytest.importorskip("otter")
    else:
        blocker = tmp_path / "no_otter"
        blocker.mkdir()
        (blocker / "otter.py").write_text(NO_OTTER)
        monkeypatch.setenv("PYTHONPATH", str(blocker))
    work = with_loop(tmp_path, "backprop.py", "numerical_gradient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(first_cell()), nbformat.v4.new_code_cell(LIMIT),
                                         nbformat.v4.new_code_cell('grader.check("backprop")')])
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(work)}})
    client.execute()
    shown = "\n".join(o.get("text", "") + "".join(str(v) for v in o.get("data", {}).values())
                      for o in nb.cells[2].outputs)
    assert "FAIL  numerical_gradient: took longer than 1 s: look for a loop that never ends" in shown, shown
    total, its_checks = counted(work, "backprop", "numerical_gradient")
    summary = f"{total - its_checks} of {total} checks passed, {its_checks} FAILED"
    if otter == "without otter":
        assert "dense_backward" in shown and summary in shown, shown
    else:
        assert summary in shown, shown
