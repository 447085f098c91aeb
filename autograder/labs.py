"""Finding a lab and preparing its cases: everything lab-specific lives in the lab's folders.

A lab called NAME has
- solutions/NAME/: the reference modules (with solution markers), grading.py (questions,
  points, cases; see `Question`), and whatever else is private (mistakes.py, examples.json);
- assignments/NAME/: what students get (skeletons generated from the reference, the notebook,
  the public checks).
The engine knows no lab by name: `load_lab(name)` reads grading.py and returns a `Lab`.

Labs are looked for in the kit's solutions/ (assignments/ beside it), or in another folder that
holds solutions/ and assignments/ (`--labs-dir`, `root=`; tests/fixtures/labs/<lab>/ is one).
With no lab named, the default is the only lab there, else the one that a file DEFAULT_LAB
beside solutions/ names, else the alphabetically first (with a note saying so).
See docs/new-lab.md for what each file of a lab holds.
"""
import importlib.util
import sys
import types
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .given import Planner
from .skeleton import strip_markers
from .values import input_bytes

KIT = Path(__file__).resolve().parents[1]
SOLUTIONS, ASSIGNMENTS = KIT / "solutions", KIT / "assignments"
DEFAULT_LAB = "DEFAULT_LAB"   # a file beside solutions/ whose first line names the default lab


@dataclass(frozen=True)
class Question:
    """A graded question (Otter's name) worth `points`, shared among `functions`
    ({"module.function": weight}); each function's share is split among its cases."""
    name: str
    points: float
    functions: dict


@dataclass
class Lab:
    name: str
    modules: list             # student module names, in import order
    questions: list           # Question, in grading order
    make_cases: object        # function(settings, reference) -> list of Case
    reference_dir: Path
    assignment_dir: Path
    spec: object = None       # the grading.py module itself
    _reference: dict = field(default=None, repr=False)

    @property
    def points(self) -> dict[str, float]:
        return {q.name: q.points for q in self.questions}

    @property
    def total_points(self) -> float:
        return sum(q.points for q in self.questions)

    def question_of(self, function: str) -> str:
        for q in self.questions:
            if function in q.functions:
                return q.name
        raise ValueError(f"{function} belongs to no question of {self.name}")

    def reference_sources(self):
        return {m: strip_markers((self.reference_dir / f"{m}.py").read_text()) for m in self.modules}

    def private_module(self, name, why):
        """solutions/<lab>/<name>.py (examples, mistakes), imported in the trusted parent."""
        path = self.reference_dir / f"{name}.py"
        if not path.exists():
            raise ValueError(f"{self.name} has no {name}.py ({path}): {why}")
        return load_file(path, f"_{name}_{self.name}")

    @property
    def language(self) -> str:
        """The language its feedback is written in by default (its contract's LANGUAGE)."""
        contract = getattr(self.spec, "CONTRACT", None)
        return getattr(contract, "LANGUAGE", None) or getattr(self.spec, "LANGUAGE", None) or "en"

    def words(self, lang: str = "auto"):
        """The message catalogue in `lang` ("auto": the lab's language), with the lab's own
        words (solutions/<lab>/catalogue/<lang>.toml) over the engine's."""
        from .catalogue import Catalogue
        return Catalogue(self.language if lang in (None, "", "auto") else lang, (self.reference_dir / "catalogue",))

    def reference(self):
        """The reference modules, imported under private names in the trusted parent."""
        if self._reference is None:
            self._reference = exec_modules(self.reference_sources(), f"reference_{self.name}")
        return self._reference


def exec_modules(sources, label):
    """Run module texts {name: source} as modules that import each other by their plain names
    (not the student's modules of the same names), leaving sys.modules as it was."""
    saved = {name: sys.modules.get(name) for name in sources}
    modules = {}
    try:
        for name, text in sources.items():
            module = types.ModuleType(f"{label}_{name}")
            module.__file__ = f"<{label} {name}>"
            sys.modules[name] = module
            exec(compile(text, module.__file__, "exec"), module.__dict__)
            modules[name] = module
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return modules


def available_labs(solutions: Path | str | None = None) -> list[str]:
    return sorted(p.parent.name for p in Path(solutions or SOLUTIONS).glob("*/grading.py"))


def default_lab(solutions: Path | str | None = None) -> tuple[str, str]:
    """(the default lab's name, a note for the user or ""): the only lab in `solutions`, else
    the one DEFAULT_LAB (beside solutions/) names, else the alphabetically first."""
    solutions = Path(solutions or SOLUTIONS)
    labs = available_labs(solutions)
    if not labs:
        raise ValueError(f"no lab in {solutions}: expected {solutions}/<lab>/grading.py")
    if len(labs) == 1:
        return labs[0], ""
    chosen = solutions.parent / DEFAULT_LAB
    if chosen.is_file():
        lines = chosen.read_text().split()
        if not lines or lines[0] not in labs:
            raise ValueError(f"{chosen} names no lab of {solutions} (labs: {', '.join(labs)})")
        return lines[0], ""
    return labs[0], (f"note: several labs ({', '.join(labs)}): using {labs[0]}, the first by name; "
                     f"choose with --lab, or name the default in {chosen}")


def load_lab(name: str | None = None, solutions: Path | str | None = None,
             root: Path | str | None = None) -> Lab:
    """The lab called `name` (default: see `default_lab`), from `solutions` (default: the
    kit's solutions/; autograder.zip grades with its own copy) or from root/solutions, with
    its handout in the assignments/ folder beside it."""
    if root is not None:
        solutions = Path(root) / "solutions"
    solutions = Path(solutions or SOLUTIONS)
    labs = available_labs(solutions)
    if name is None:
        name, _ = default_lab(solutions)
    if name not in labs:
        raise ValueError(f"no lab {name!r}: expected {solutions}/{name}/grading.py (labs: {', '.join(labs) or 'none'})")
    folder = solutions / name
    module = load_file(folder / "grading.py", f"_grading_{name}")
    handout = solutions.parent / "assignments" / name
    if not handout.is_dir():   # autograder.zip holds no handout: the installed kit's, if any
        handout = ASSIGNMENTS / name
    return Lab(name, list(module.MODULES), list(module.QUESTIONS), module.cases, folder, handout, spec=module)


def load_file(path: Path | str, name: str) -> types.ModuleType:
    """Import one file as a module called `name` (not added to sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parameter_names(reference, target):
    import inspect
    try:
        function = getattr(reference[target["module"]], target["attr"])
        for item in target.get("items", []):
            function = function[item]
        return tuple(inspect.signature(function).parameters)
    except (KeyError, AttributeError, TypeError, ValueError):
        return ()


# ---------------------------------------------------------------------------- preparation
@dataclass
class Prepared:
    """A lab's cases ready to grade: inputs and expected values in memory (nothing on disk)."""
    lab: Lab
    cases: list
    expected: list
    shares: dict              # function -> points of that function
    planner: Planner          # where each given helper comes from (autograder.given)
    arena_bytes: int          # the shared memory the largest case's inputs need
    counts: dict = field(default_factory=dict)   # function -> number of its cases


def prepare(lab: Lab, settings) -> Prepared:
    """Build every case once per batch: compute expected values with the reference, and
    check that no case is given a function that a later case grades."""
    reference = lab.reference()
    cases = list(lab.make_cases(settings, reference))
    planner = Planner(lab.reference_dir, lab.modules)
    graded_later = {}
    for k, case in enumerate(cases):
        case.number = k
        case.question = lab.question_of(case.function)
        case.arg_names = parameter_names(reference, case.call_target())
        graded_later[case.function] = k
    expected = []
    for k, case in enumerate(cases):
        late = sorted(f for f in planner.closure(case.given) if graded_later.get(f, -1) > k)
        if late:
            raise ValueError(f"{lab.name}: case {k} ({case.function}) is given {late[0]}, "
                             f"which a later case grades: put those cases first")
        expected.append(case.check.expect(case, reference, settings))
    shares = {}
    for q in lab.questions:
        total = sum(q.functions.values())
        for function, weight in q.functions.items():
            shares[function] = q.points * weight / total
    missing = sorted(set(shares) - {c.function for c in cases})
    if missing:
        raise ValueError(f"{lab.name}: no case grades {missing[0]}")
    counts = Counter(c.function for c in cases)
    arena = max(input_bytes([c.args, c.kwargs]) for c in cases)
    return Prepared(lab, cases, expected, shares, planner, arena, dict(counts))
