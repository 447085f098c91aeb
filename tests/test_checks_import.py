"""checks.py imports each module within the grader's import time limit and says what the grader
says: a loop (or long demo code) at import costs that module's functions, in one line each,
instead of printing nothing forever."""
import shutil
import subprocess
import sys
import time

import pytest

from autograder import config

LOOP = "\n\nwhile True:   # demo code left at the bottom\n    pass\n"


@pytest.mark.parametrize("run_in", ["fork", "thread"])
def test_a_loop_at_import_costs_that_module_in_the_graders_words(tmp_path, lab, run_in):
    work = tmp_path / "handout"
    shutil.copytree(lab.assignment_dir, work, ignore=shutil.ignore_patterns("__pycache__"))
    (work / "mlp.py").write_text((work / "mlp.py").read_text() + LOOP)
    started = time.monotonic()
    env = {"CHECKS_RUN_IN": run_in, "CHECKS_LANG": "en", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "checks.py", "forward"], cwd=work, capture_output=True, text=True,
                         timeout=120, env=env)
    limit = config.DEFAULTS.import_timeout
    assert time.monotonic() - started < limit + 60, "checks.py waited for the loop"
    fails = [line for line in run.stdout.splitlines() if line.startswith("FAIL")]
    assert fails and all(f"mlp.py took longer than {limit:g} s to import" in line for line in fails), run.stdout
    assert "move demo code under `if __name__ == \"__main__\":`" in run.stdout
    assert run.returncode == 1
