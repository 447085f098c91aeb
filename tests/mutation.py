"""Mutation testing of the engine with cosmic-ray (pip install -e ".[mutation]").

    .venv/bin/python tests/mutation.py [--sample N] [--seed S] [module ...]

Each module (default: all of MODULES) is mutated by cosmic-ray, one mutant at a time, in a
copy of the kit's committed files (git archive HEAD, in a temporary folder: the working tree
is never touched), and each mutant is run against the module's fast tests (unit tests and
stub-runner protocol tests, `-x`). --sample N runs N mutants of each module drawn with --seed
(the others are marked skipped); without it every mutant runs (hours for the whole engine).
Prints, per module, the mutants run, killed and survived, the score killed / (killed +
survived), and every survivor as a diff. Not part of the suite.

Never mutated, because a mutant there can hurt the machine: the isolation strategies
(strategies.py: a mutant that skips the uid drop under the nobody strategies, which have no
PID namespace, lets student code kill every process as root) and slots.kill_slot (its lines
carry `# pragma: no mutate`, which cr-filter-pragma skips); slots.py's mutants run only unit
tests that never start a sandbox.
"""
import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
UNIT = "tests/test_compare.py tests/test_text.py"
MODULES = {   # module -> its fast tests (pytest arguments; a -k applies to every file named, so it names them too)
    "autograder/text.py": "tests/test_text.py tests/test_guards.py -k 'test_text or status or public'",
    "autograder/gradcheck.py": "tests/test_compare.py tests/test_guards.py "
                               "-k 'test_compare or tolerance or rtol or atol or finite or kink or relative_error or test_functions'",
    "autograder/compare.py": "tests/test_compare.py tests/test_guards.py tests/test_report.py",
    "autograder/cases.py": "tests/test_compare.py tests/test_guards.py tests/test_scoring.py",
    "autograder/grading.py": "tests/test_guards.py tests/test_scoring.py tests/test_wire.py tests/test_text.py",
    "autograder/values.py": "tests/test_wire.py tests/test_wire_limits.py tests/test_guards.py",
    "autograder/sandbox/wire.py": "tests/test_wire.py tests/test_wire_limits.py tests/test_guards.py",
    "autograder/sandbox/session.py": "tests/test_wire.py tests/test_guards.py",
    "autograder/sandbox/slots.py": "tests/test_guards.py -k 'lock or leftovers_are_removed_at_any_depth'",
}


def run(args, cwd, **kwargs):
    return subprocess.run(args, cwd=cwd, text=True, capture_output=True, **kwargs)


def bin_of(name):
    return str(Path(sys.executable).with_name(name))


def copy_of_kit(into):
    """The committed kit in `into`, written afresh (a run that was killed leaves its mutant there)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=KIT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def config(module, tests, timeout):
    command = f"env PYTHONPATH=. {sys.executable} -m pytest -x -q -p no:cacheprovider {tests}"
    return (f'[cosmic-ray]\nmodule-path = "{module}"\ntimeout = {timeout}\nexcluded-modules = []\n'
            f'test-command = "{command}"\n\n[cosmic-ray.distributor]\nname = "local"\n')


def sample(db_path, n, seed):
    """Mark all but n pending mutants (drawn with `seed`) as skipped."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult
    with use_db(str(db_path), WorkDB.Mode.open) as db:
        pending = sorted(item.job_id for item in db.pending_work_items)
        keep = set(random.Random(seed).sample(pending, min(n, len(pending))))
        db.set_multiple_results([j for j in pending if j not in keep], WorkResult(worker_outcome=WorkerOutcome.SKIPPED))


def tally(db_path):
    """(killed, survived, incompetent, [survivor diffs])."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome
    killed = survived = incompetent = 0
    survivors = []
    with use_db(str(db_path), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.test_outcome == TestOutcome.KILLED:
                killed += 1
            elif result.test_outcome == TestOutcome.SURVIVED:
                survived += 1
                mutation = item.mutations[0]
                survivors.append(f"{mutation.module_path}:{mutation.start_pos[0]} {mutation.operator_name}\n{result.diff}")
            elif result.test_outcome == TestOutcome.INCOMPETENT:
                incompetent += 1
    return killed, survived, incompetent, survivors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"paths as in MODULES (default: all {len(MODULES)})")
    parser.add_argument("--sample", type=int, default=0, help="mutants per module (default: every one)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a mutant's tests may take")
    parser.add_argument("--keep", help="a folder to keep the copy and the session files in")
    args = parser.parse_args(argv)
    modules = args.modules or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        parser.error(f"not a module this command mutates: {', '.join(unknown)} (one of {', '.join(MODULES)})")
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="kit-mutation-"))
    work.mkdir(parents=True, exist_ok=True)
    kit = copy_of_kit(work / "kit")
    baseline = run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *UNIT.split()], kit,
                   env={"PYTHONPATH": ".", "PATH": "/usr/bin:/bin"})
    if baseline.returncode != 0:
        sys.exit(f"the unmutated copy fails its tests:\n{baseline.stdout[-2000:]}")
    rows = []
    for module in modules:
        name = module.replace("/", "_").removesuffix(".py")
        toml, db = work / f"{name}.toml", work / f"{name}.sqlite"
        toml.write_text(config(module, MODULES[module], args.timeout))
        if not db.exists():
            run([bin_of("cosmic-ray"), "init", str(toml), str(db)], kit, check=True)
            run([bin_of("cr-filter-pragma"), str(db)], kit, check=True)
            if args.sample:
                sample(db, args.sample, args.seed)
        print(f"{module}: running ...", flush=True)
        done = run([bin_of("cosmic-ray"), "exec", str(toml), str(db)], kit)
        if done.returncode != 0:
            print(done.stderr[-2000:], file=sys.stderr)
        killed, survived, incompetent, survivors = tally(db)
        score = killed / max(1, killed + survived)
        rows.append((module, killed + survived + incompetent, killed, survived, incompetent, score))
        print(f"{module}: {killed + survived} run, {killed} killed, {survived} survived, {incompetent} incompetent: "
              f"score {score:.0%}", flush=True)
        for diff in survivors:
            print("  survived: " + diff.replace("\n", "\n    "), flush=True)
    print("\n| module | mutants run | killed | survived | incompetent | score |\n|---|---|---|---|---|---|")
    for module, total, killed, survived, incompetent, score in rows:
        print(f"| {module} | {total} | {killed} | {survived} | {incompetent} | {score:.0%} |")
    print(f"(session files and the copy: {work})")


if __name__ == "__main__":
    main()
