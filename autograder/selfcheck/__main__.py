"""python -m autograder.selfcheck [--lab NAME] [--check]: write the handout's generated self-check
files (checklib/, public_cases.json, tests/<question>.py), or with --check list those that drifted."""
import argparse
import sys

from .. import labs
from . import drift, write


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.selfcheck", description=__doc__)
    parser.add_argument("--lab", default=None, help="the lab (default: the kit's default lab)")
    parser.add_argument("--check", action="store_true", help="only report generated files that drifted (exit 1)")
    args = parser.parse_args(argv)
    lab = labs.load_lab(args.lab)
    if args.check:
        stale = drift(lab)
        if stale:
            print(f"self-check files out of date: {', '.join(stale)}; run `python -m autograder.selfcheck`")
            return 1
        print("self-check files up to date")
        return 0
    write(lab)
    return 0


if __name__ == "__main__":
    sys.exit(main())
