"""The command line: parses arguments and calls the engine; no grading logic lives here.

  python -m autograder grade [SUBMISSION ...] [--out DIR] [-j N] [--rerun]
  python -m autograder skeleton [--check]
  python -m autograder mutants [--auto [--out DIR] [--only FUNCTION] [--sample N] [--table]]
  python -m autograder settings
  python -m autograder build [--out DIR] [--isolation NAME] [--show-hidden]
  python -m autograder benchmark [-n 200] [-j 2] [--otter-sample 5]

Every command takes --lab NAME (default: the only lab, else the one DEFAULT_LAB names, else the
first by name, with a note) and --labs-dir DIR (a folder holding solutions/ and assignments/;
default: the kit's own).
"""
import argparse
import sys
from pathlib import Path

from . import automutants, batch, benchmark, build, config, examples, labs, mutants, report, roster
from .catalogue import LANGUAGES
from .skeleton import skeleton_files


def load_lab(args):
    """The lab the command works on (--lab, --labs-dir), with a note when it was guessed."""
    solutions = Path(args.labs_dir) / "solutions" if args.labs_dir else labs.SOLUTIONS
    name = args.lab
    if name is None:
        name, note = labs.default_lab(solutions)
        if note:
            print(note, file=sys.stderr)
    return labs.load_lab(name, solutions=solutions)


def cmd_grade(args, settings):
    lab = load_lab(args)
    out = Path(args.out)
    sources, notes = roster.expand([Path(s) for s in args.submissions])
    for note in notes:
        print(note, file=sys.stderr)
    if not sources:
        written = examples.write_examples(lab, out / "examples")
        sources = [folder for folder, _ in written]
        print(f"no submissions named: grading the {len(sources)} bundled examples of {lab.name} (written to {out / 'examples'})")
    rows = batch.grade_batch(lab, sources, out, settings, jobs=args.jobs, rerun=args.rerun)
    print(report.table(lab.questions, [r for r in rows if r], words=lab.words(settings.lang)))
    print(f"\nwrote {out / 'grades.csv'} (every submission graded in {out}), {out / 'report.png'}, {out / 'report.html'} and "
          f"{out / 'submissions'}/<name>/(results.json, feedback.txt)")
    return 0


def cmd_skeleton(args, settings):
    lab = load_lab(args)
    drift = []
    for name, text in skeleton_files(lab.reference_dir, lab.modules).items():
        path = lab.assignment_dir / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                drift.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
    if drift:
        print(f"skeletons out of date: {', '.join(drift)}; run `python -m autograder skeleton`")
        return 1
    return 0


def cmd_mutants(args, settings):
    lab = load_lab(args)
    if args.precision:
        from . import precision
        named = precision.measure(lab, settings)
        print("\n".join(precision.lines(named)))
        return 0 if all(share >= precision.MIN_PRECISION for *_, share in precision.table(named)) else 1
    if args.auto:
        found = automutants.run(lab, settings, out=args.out, jobs=args.jobs, only=tuple(args.only or ()),
                                sample=args.sample, rerun=args.rerun)
        print("\n".join(found.lines(table=args.table)))
        return 0 if found.ok else 1
    found, variants = mutants.run(lab, settings, jobs=args.jobs, progress=True)
    print("\n".join(mutants.summary(found, variants)))
    ok = all(m.caught for m in found) and all(v.full_marks for v in variants)
    return 0 if ok else 1


def cmd_settings(args, settings):
    for name, value, description in settings.describe():
        print(f"{name:18} {value!s:>12}  {description}")
    return 0


def cmd_build(args, settings):
    lab = load_lab(args)
    stored = {k: v for k, v in (("isolation", args.isolation), ("case_timeout", args.case_timeout), ("lang", args.lang))
              if v is not None}
    build.build(lab, Path(args.out), settings, zip_settings=stored, show_hidden=args.show_hidden)
    return 0


def cmd_benchmark(args, settings):
    lab = load_lab(args)
    benchmark.run(lab, settings, n=args.n, jobs=args.jobs, otter_sample=args.otter_sample)
    return 0


def parser():
    p = argparse.ArgumentParser(prog="python -m autograder", description="Grade labs in a sandbox, Otter-compatible.")
    p.add_argument("--lab", help="lab folder name under solutions/ (default: the only one, else the one "
                                 "DEFAULT_LAB names, else the first by name)")
    p.add_argument("--labs-dir", metavar="DIR", help="a folder holding solutions/<lab>/ and assignments/<lab>/ "
                                                     "(default: the kit's own)")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade submissions (folders or .zip); none given: the bundled examples")
    g.add_argument("submissions", nargs="*", metavar="SUBMISSION")
    g.add_argument("--out", default="results", help="output folder (default: results)")
    g.add_argument("-j", "--jobs", type=int, default=None, help="submissions at once (default: number of cores)")
    g.add_argument("--rerun", action="store_true", help="grade again what --out already holds")
    g.add_argument("--isolation", choices=["auto", "bwrap", "nobody", "rlimits"], default=None)
    g.add_argument("--case-timeout", type=float, default=None, help="wall seconds per case")
    g.add_argument("--lang", choices=["auto", *LANGUAGES], default=None,
                   help="language of feedback.txt, results.json and the status (default: the lab's)")
    g.set_defaults(run=cmd_grade)
    s = sub.add_parser("skeleton", help="regenerate the student skeletons from the reference")
    s.add_argument("--check", action="store_true", help="only report skeletons that drifted (exit 1)")
    s.set_defaults(run=cmd_skeleton)
    m = sub.add_parser("mutants", help="grade the lab's bank of known mistakes and print the mutation score")
    m.add_argument("-j", "--jobs", type=int, default=None)
    m.add_argument("--precision", action="store_true",
                   help="how often each likely mistake the feedback names is the real one (the bank's DIAGNOSES)")
    m.add_argument("--auto", action="store_true",
                   help="automatic single-point mutants of the reference's solution regions (autograder.automutants)")
    m.add_argument("--out", default=None, help="--auto: keep the mutants and their grades here (resumable)")
    m.add_argument("--only", action="append", metavar="FUNCTION", help="--auto: only this function's mutants (repeatable)")
    m.add_argument("--sample", type=int, default=0, help="--auto: about N mutants, evenly spread (0: all)")
    m.add_argument("--table", action="store_true", help="--auto: every killed mutant with the points it cost")
    m.add_argument("--rerun", action="store_true", help="--auto: grade again what --out already holds")
    m.set_defaults(run=cmd_mutants)
    b = sub.add_parser("build", help="write the student handout and autograder.zip (Otter, Gradescope)")
    b.add_argument("--out", default="dist", help="output folder (default: dist)")
    b.add_argument("--isolation", choices=["auto", "bwrap", "nobody", "rlimits"], default=None,
                   help="store this sandbox choice in autograder.zip (default: auto)")
    b.add_argument("--case-timeout", type=float, default=None, help="store this case timeout in autograder.zip")
    b.add_argument("--lang", choices=["auto", *LANGUAGES], default=None,
                   help="store this feedback language in autograder.zip (default: the lab's)")
    b.add_argument("--show-hidden", action="store_true",
                   help="like Otter's show_hidden: hidden tests' feedback (shapes only) visible once grades are published")
    b.set_defaults(run=cmd_build)
    k = sub.add_parser("benchmark", help="seconds per submission: grade -jN against serial otter run (prints figures)")
    k.add_argument("-n", type=int, default=200, help="submissions to build and grade (default 200)")
    k.add_argument("-j", "--jobs", type=int, default=2)
    k.add_argument("--otter-sample", type=int, default=5, help="how many of them otter run grades (0: skip)")
    k.set_defaults(run=cmd_benchmark)
    t = sub.add_parser("settings", help="list every grading setting with its default")
    t.set_defaults(run=cmd_settings)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    overrides = {"isolation": getattr(args, "isolation", None), "case_timeout": getattr(args, "case_timeout", None),
                 "lang": getattr(args, "lang", None)}
    try:
        settings = config.from_environment().with_overrides(**overrides)
        return args.run(args, settings)
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
