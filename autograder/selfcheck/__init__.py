"""The handout's self-check, generated from the lab: the same cases, judges and words as the grader.

A lab's handout (assignments/<lab>/) gets, besides its skeletons:
  checklib/               a small judging library, copied from the engine: compare.py,
                          gradcheck.py and text.py byte for byte, judges.py put together from
                          the engine's own source (the judges of autograder/cases.py, the
                          verdict helpers of autograder/grading.py, `resolve` of the sandbox
                          runner, the value tree of autograder/values.py), and runner.py (this
                          package's runner.py: calling the student's functions within a time
                          limit, printing PASS and FAIL lines);
  public_cases.json       every public case of the lab: its number (the grader's), inputs,
                          expected value, check and what to reread; for the functions the
                          lab's contract marks (SHIP_MISTAKE_WORDING), the wording of its known
                          mistakes with the wrong value each gives on that input;
  tests/<question>.py     Otter's test files, one per question of the contract, each calling
                          checks.run(question).
The lab's own checks.py (hand-written) holds only the checks that need the student's own
functions (a derivative against their own forward function, ...) and calls checklib.

`handout_files(lab)` returns them all; `python -m autograder.selfcheck [--lab NAME] [--check]`
writes them into assignments/<lab>/ (or reports drift); `build` refuses a handout whose copies
differ, like the skeletons, and the tests do too. Nothing hidden is written: public cases only,
never the reference (expected values are numbers), never a `known` function's code.
"""
import ast
import dataclasses
import json
from pathlib import Path

import numpy as np

from .. import config

ENGINE = Path(__file__).resolve().parents[1]
LIBRARY = "checklib"
DATA = "public_cases.json"
COPIED = ("compare.py", "text.py", "findings.py", "catalogue/__init__.py")   # byte-for-byte copies of the engine's modules
# (engine file, top-level names) put together into checklib/judges.py. Left out on purpose: the
# engine's loops of central differences (gradcheck.central_difference, cases.numgrad_*), which
# would show students numerical_gradient's solution; the judges that call them get their values
# for the public cases from the data file (DIAGNOSES), and MatchesGradient judges hidden cases only.
EXTRACTED = (
    ("gradcheck.py", ("relative_error",)),
    ("cases.py", ("Case", "describe_arg", "Check", "copy_args", "Matches", "MatchesDerivative",
                  "MatchesCallableGradient", "DIFFERENCING", "ROUNDED_BACK", "Satisfies")),
    ("values.py", ("Value", "MISSING", "Callable", "walk_arrays")),
    ("sandbox/runner.py", ("resolve",)),
    ("grading.py", ("NOT_WRITTEN", "CRASHED", "inputs_changed", "argument_name", "Grader.judge", "verdict",
                    "right_values_wrong_form", "containers_changed", "student_line", "warning_text")),
    ("report.py", ("SMALL_INPUT", "student_words", "format_value", "describe_call")),
)
JUDGES_HEADER = '''"""The grader's judges, copied from its source by `python -m autograder.selfcheck`: do not edit.

{sources}
"""
import re
import sys
from dataclasses import dataclass, field

import numpy as np

from . import compare, text
from .catalogue import Catalogue
from .findings import Finding, Kind, Mismatch, Mistake, finding, known

values = gradcheck = sys.modules[__name__]   # the engine's `values.walk_arrays`, `gradcheck.relative_error`
DIAGNOSES = {}   # (x as float64 bytes, h, kind, direction) -> the public case's value of that way of differencing


def numgrad_one_sided(f, x, h, direction):
    return DIAGNOSES.get((np.asarray(x, dtype=float).tobytes(), float(h), "one_sided", direction),
                         np.full(np.shape(x), np.nan))


def numgrad_not_restored(f, x, h):
    return DIAGNOSES.get((np.asarray(x, dtype=float).tobytes(), float(h), "not_restored", 0), np.full(np.shape(x), np.nan))


def result_value(tree, blobs):
    """The self-check hands the grader's judge the value tree itself (no sandbox wire here)."""
    return tree
'''


class SelfCheckError(ValueError):
    """A public case that the self-check cannot carry (a check whose judge is code of the lab)."""


# ---------------------------------------------------------------------------- the library
def top_level(source, names):
    """The source text of the top-level definitions called `names` (all of them when None) of a
    module, in their order there; imports and the module docstring are left out. "Class.method"
    gives that method as a module-level function (its `self` then stands for the caller's
    stand-in); a name ending in "?" is left out when the module has no such definition."""
    tree = ast.parse(source)
    lines = source.splitlines()
    optional = {n[:-1] for n in names or () if n.endswith("?")}
    names = None if names is None else {n.rstrip("?") for n in names}
    chunks, found = [], set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and names and any(n.startswith(node.name + ".") for n in names):
            for method in node.body:
                if isinstance(method, ast.FunctionDef) and f"{node.name}.{method.name}" in names:
                    body = lines[method.lineno - 1:method.end_lineno]
                    chunks.append("\n".join(line[4:] if line.startswith("    ") else line for line in body))
                    found.add(f"{node.name}.{method.name}")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue   # a docstring
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            name = node.name
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
        else:
            name = None
        if names is None and name is None:
            continue
        if names is None or name in names:
            start = node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno
            chunks.append("\n".join(lines[start - 1:node.end_lineno]))
            found.add(name)
    missing = sorted(set(names or ()) - found - optional)
    if missing:
        raise SelfCheckError(f"the engine no longer defines {', '.join(missing)}: update autograder/selfcheck EXTRACTED")
    return chunks


def judges_source():
    sources, chunks = [], []
    for rel, names in EXTRACTED:
        chunks += top_level((ENGINE / rel).read_text(), names)
        sources.append(f"autograder/{rel}: {', '.join(n.rstrip('?') for n in names) if names else 'every definition'}")
    header = JUDGES_HEADER.replace("{sources}", "\n".join(sources))
    return header + "\n\n" + "\n\n\n".join(chunks) + "\n"


def library_files(lab=None):
    """{path in the handout: text} of checklib/."""
    files = {f"{LIBRARY}/{name}": (ENGINE / name).read_text() for name in COPIED}
    files.update(catalogue_files(lab))
    files[f"{LIBRARY}/judges.py"] = judges_source()
    files[f"{LIBRARY}/runner.py"] = (Path(__file__).with_name("runner.py")).read_text()
    files[f"{LIBRARY}/__init__.py"] = ('"""The grader\'s own judging code, copied into the handout by '
                                       '`python -m autograder.selfcheck`: do not edit."""\n'
                                       "from .runner import *  # noqa: F401,F403\n")
    return files


def catalogue_files(lab):
    """checklib/catalogue/<lang>.json: the engine's words and the lab's, flattened (the
    self-check reads JSON: tomllib needs Python 3.11). A lab's words for its known mistakes
    ship only for the wordings public_cases.json carries already (see encode_check)."""
    from ..catalogue import HERE, LANGUAGES, load
    files = {}
    shipped = set()   # the known mistakes whose wording public_cases.json carries (SHIP_MISTAKE_WORDING)
    if lab is not None:
        ship = set(getattr(lab_contract(lab), "SHIP_MISTAKE_WORDING", ()))
        shipped = {f"known.{text}" for case in lab.make_cases(config.DEFAULTS, lab.reference())
                   if not case.hidden and case.function in ship for text in getattr(case.check, "known", {}) or {}}
    for lang in LANGUAGES:
        words = dict(load(str(HERE / f"{lang}.toml")))
        if lab is not None:
            own = load(str(lab.reference_dir / "catalogue" / f"{lang}.toml"))
            words.update({k: v for k, v in own.items() if not k.startswith("known.") or k in shipped})
        files[f"{LIBRARY}/catalogue/{lang}.json"] = json.dumps(words, ensure_ascii=False, indent=0, sort_keys=True) + "\n"
    return files


# ---------------------------------------------------------------------------- Otter's test files
TEST_FILE = '''OK_FORMAT = True

# The public self-check for "{q}": grader.check("{q}") runs checks.run("{q}", quiet=True) from
# checks.py next to the notebook. It returns True when every check passes; otherwise it raises
# AssertionError whose message lists the FAIL lines, which Otter shows under the cell.
test = {test}
'''


def test_files(contract):
    files = {}
    for q, spec in contract.QUESTIONS.items():
        test = {"name": q, "points": spec["points"], "suites": [{
            "cases": [{"code": f">>> import checks\n>>> checks.run({q!r}, quiet=True)\nTrue\n",
                       "hidden": False, "locked": False}],
            "scored": True, "setup": "", "teardown": "", "type": "doctest"}]}
        files[f"tests/{q}.py"] = TEST_FILE.format(q=q, test=python_literal(test))
    return files


def python_literal(value, level=0):
    """`value` (dicts, lists, strings, numbers, booleans) as Python source, one item a line."""
    pad = "    " * level
    if isinstance(value, dict):
        return "{\n" + "".join(f"{pad}    {json.dumps(k)}: {python_literal(v, level + 1)},\n" for k, v in value.items()) + pad + "}"
    if isinstance(value, list):
        return "[\n" + ",\n".join(f"{pad}    {python_literal(v, level + 1)}" for v in value) + "\n" + pad + "]"
    return repr(value) if isinstance(value, (bool, int, float)) else json.dumps(value)


# ---------------------------------------------------------------------------- the data file
def encode(value):
    """A JSON tree for a case's value (decoded by checklib.runner.decode)."""
    if isinstance(value, np.ndarray):
        return {"nd": [value.dtype.str, list(value.shape), value.ravel().tolist()]}
    if isinstance(value, np.generic):
        return {"np": [value.dtype.str, value.item()]}
    if isinstance(value, bool):
        return {"b": value}
    if isinstance(value, int):
        return {"i": value}
    if isinstance(value, float):
        return {"f": value}
    if isinstance(value, str):
        return {"s": value}
    if value is None:
        return {"n": 0}
    if isinstance(value, (list, tuple)):
        return {"l" if isinstance(value, list) else "t": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"d": [[k, encode(v)] for k, v in value.items()]}
    if type(value).__name__ == "Callable" and dataclasses.is_dataclass(value):
        return {"fn": {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if type(value).__name__ == "Form" and dataclasses.is_dataclass(value):
        return {"form": [value.kind, [encode(item) for item in value.items]]}
    raise SelfCheckError(f"cannot write a {type(value).__name__} into {DATA}")


def encode_check(case, ship_wording):
    """The check's fields; `known` mistakes become (wording, the wrong value on this input)."""
    fields = {}
    for f in dataclasses.fields(case.check):
        value = getattr(case.check, f.name)
        if f.name == "known":
            fields["known"] = known_values(case, value) if ship_wording else []
        elif callable(value) and not isinstance(value, type):
            raise SelfCheckError(f"public case {case.number} ({case.function}): its {type(case.check).__name__} "
                                 f"judges with code of the lab ({f.name}); make that case hidden")
        else:
            fields[f.name] = encode(value)
    return {"type": type(case.check).__name__, "fields": fields}


def known_values(case, known):
    from ..cases import copy_args
    shipped = []
    for description, wrong in known.items():
        try:
            with np.errstate(all="ignore"):
                shipped.append([description, encode(wrong(*copy_args(case.args), **case.kwargs))])
        except Exception:   # a mistake that does not apply to this input: not recognisable here
            continue
    return shipped


def public_data(lab, settings=config.DEFAULTS):
    """The text of public_cases.json: the lab's public cases as the grader numbers them."""
    from .. import labs, report
    contract = lab_contract(lab)
    prepared = labs.prepare(lab, settings)
    namer, parts = report.Namer(prepared), report.notebook_parts(lab)
    parts_in = {lang: report.notebook_parts(lab, lang) for lang in ("en", "ko")}
    graded = {f for q in lab.questions for f in q.functions}
    cases = []
    for case, expected in zip(prepared.cases, prepared.expected):
        if case.hidden:
            continue
        record = {}
        for f in dataclasses.fields(case):
            if f.name == "check":
                record["check"] = encode_check(case, case.function in contract.SHIP_MISTAKE_WORDING)
            elif f.name == "result_names":
                record[f.name] = encode(tuple(namer.result_names(case)))
            elif f.name in ("equation", "label"):   # in the words feedback uses (never the staff's documents)
                record[f.name] = encode(report.student_words(getattr(case, f.name)))
            elif f.name == "given":
                record[f.name] = encode(tuple(g for g in case.given if g in graded and g != case.function))
            else:
                record[f.name] = encode(getattr(case, f.name))
        record["expected"] = encode(expected)
        if type(case.check).__name__ not in SHIPPED_JUDGES:
            raise SelfCheckError(f"public case {case.number} ({case.function}): its judge {type(case.check).__name__} "
                                 f"is not shipped to students (only {', '.join(SHIPPED_JUDGES)}); make that case hidden")
        if type(case.check).__name__ == "MatchesCallableGradient":
            record["diagnoses"] = diagnoses(case)
        cases.append(record)
    head = {
        "lab": lab.name,
        "lang": lab.language,
        "questions": {q.name: {"part": parts[q.name], "parts": {lang: p[q.name] for lang, p in parts_in.items()},
                               "points": q.points, "functions": list(q.functions)}
                      for q in lab.questions},
        "modules": list(lab.modules),
        "reread": dict(contract.REREAD),
        "tolerances": dict(contract.TOLERANCES),
        "settings": {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)
                     if isinstance(getattr(settings, f.name), (int, float))},
    }
    compact = {"separators": (",", ":")}
    return (json.dumps(head, **compact)[:-1] + ',"cases":[\n'   # one case a line: diffs stay readable
            + ",\n".join(json.dumps(c, **compact) for c in cases) + "\n]}\n")


SHIPPED_JUDGES = ("Matches", "MatchesDerivative", "MatchesCallableGradient")


def diagnoses(case):
    """The values of the ways of differencing that MatchesCallableGradient.diagnose compares with,
    at this public case's f, x and h (what judges.numgrad_one_sided and numgrad_not_restored give)."""
    from ..cases import numgrad_not_restored, numgrad_one_sided
    f, x = case.args[0], np.array(case.args[1], dtype=float)
    h = float(case.kwargs.get("h", case.args[2] if len(case.args) > 2 else 1e-5))
    return [[x.tobytes().hex(), h, "one_sided", d, encode(numgrad_one_sided(f, x, h, d))] for d in (1, -1)] + [
        [x.tobytes().hex(), h, "not_restored", 0, encode(numgrad_not_restored(f, x, h))]]


def lab_contract(lab):
    from ..labs import load_file
    path = lab.reference_dir / "contract.py"
    if not path.exists():
        raise SelfCheckError(f"{lab.name} has no contract.py ({path})")
    return load_file(path, f"_contract_{lab.name}")


def handout_files(lab, settings=config.DEFAULTS):
    """{path in the handout: text} of every generated self-check file; {} for a lab without a
    contract.py (its handout is written by hand)."""
    if not (lab.reference_dir / "contract.py").exists():
        return {}
    return {**library_files(lab), **test_files(lab_contract(lab)), DATA: public_data(lab, settings)}


def drift(lab, settings=config.DEFAULTS):
    """Generated files that differ from (or are missing in) the lab's handout folder, and files
    of its checklib/ that are no longer generated."""
    files = handout_files(lab, settings)
    return sorted([name for name, text in files.items()
                   if not (lab.assignment_dir / name).exists() or (lab.assignment_dir / name).read_text() != text]
                  + stale_library(lab, files))


def stale_library(lab, files):
    folder = lab.assignment_dir / LIBRARY
    return [f"{LIBRARY}/{p.name}" for p in sorted(folder.glob("*.py")) if f"{LIBRARY}/{p.name}" not in files] \
        if files and folder.is_dir() else []


def write(lab, settings=config.DEFAULTS, log=print):
    files = handout_files(lab, settings)
    for name in stale_library(lab, files):
        (lab.assignment_dir / name).unlink()
        log(f"removed {lab.assignment_dir / name}")
    for name, text in files.items():
        path = lab.assignment_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            log(f"wrote {path}")
