"""Finding a lab and preparing its cases: everything lab-specific lives in the lab's folders.

A lab called NAME has
- solutions/NAME/: the reference modules (with solution markers), grading.py (questions,
  points, cases; see `Question`), and whatever else is private (mistakes.py, examples.json);
- assignments/NAME/: what students get (skeletons generated from the reference, the notebook,
  the public checks).
The engine knows no lab by name: `load_lab(name)` reads grading.py and returns a `Lab`.
"""
import ast
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from .sandbox.runner import exec_modules
from .skeleton import strip_markers
from .values import write_call

KIT = Path(__file__).resolve().parents[1]
SOLUTIONS, ASSIGNMENTS = KIT / "solutions", KIT / "assignments"


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
    def points(self):
        return {q.name: q.points for q in self.questions}

    def question_of(self, function):
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

    def reference(self):
        """The reference modules, imported under private names in the trusted parent."""
        if self._reference is None:
            self._reference = exec_modules(self.reference_sources(), f"reference_{self.name}")
        return self._reference


def available_labs(solutions=None):
    return sorted(p.parent.name for p in Path(solutions or SOLUTIONS).glob("*/grading.py"))


def load_lab(name=None, solutions=None):
    """The lab called `name` (the only one when name is None), from `solutions` (default: the
    kit's solutions/; autograder.zip grades with its own copy)."""
    solutions = Path(solutions or SOLUTIONS)
    labs = available_labs(solutions)
    if name is None:
        if len(labs) != 1:
            raise ValueError(f"several labs here, choose one with --lab: {', '.join(labs)}")
        name = labs[0]
    if name not in labs:
        raise ValueError(f"no lab {name!r}: expected solutions/{name}/grading.py (labs: {', '.join(labs) or 'none'})")
    folder = solutions / name
    module = load_file(folder / "grading.py", f"_grading_{name}")
    return Lab(name, list(module.MODULES), list(module.QUESTIONS), module.cases, folder,
               ASSIGNMENTS / name, spec=module)


def load_file(path, name):
    """Import one file as a module called `name` (not added to sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------- given sources
def given_sources(sources, names):
    """Module texts holding just the reference definitions named ("module.attr") and what
    they use from their own module, plus the module's imports."""
    wanted = {}
    for name in names:
        module, attr = name.split(".")
        wanted.setdefault(module, set()).add(attr)
    result = {}
    for module, text in sources.items():
        if module not in wanted:
            continue
        tree = ast.parse(text)
        defined = {top_name(node): node for node in tree.body if top_name(node)}
        keep, todo = set(), list(wanted[module])
        while todo:
            attr = todo.pop()
            if attr in keep or attr not in defined:
                continue
            keep.add(attr)
            todo += [n.id for n in ast.walk(defined[attr]) if isinstance(n, ast.Name) and n.id in defined]
        body = [node for node in tree.body
                if isinstance(node, (ast.Import, ast.ImportFrom)) or top_name(node) in keep]
        result[module] = ast.unparse(ast.Module(body=body, type_ignores=[]))
    return result


def given_closure(sources, names):
    """Every "module.attr" that given_sources(names) would put into the sandbox."""
    closure = set()
    for module, text in given_sources(sources, names).items():
        for node in ast.parse(text).body:
            if top_name(node):
                closure.add(f"{module}.{top_name(node)}")
    return closure


def parameter_names(reference, target):
    import inspect
    try:
        function = getattr(reference[target["module"]], target["attr"])
        for item in target.get("items", []):
            function = function[item]
        return tuple(inspect.signature(function).parameters)
    except (KeyError, AttributeError, TypeError, ValueError):
        return ()


def top_name(node):
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    return None


# ---------------------------------------------------------------------------- preparation
@dataclass
class Prepared:
    """A lab's cases ready to grade: inputs on disk (cases_dir/<k>/), expected values in memory."""
    lab: Lab
    cases: list
    expected: list
    gives: list               # per case: (key, sources) to load before it, or None
    cases_dir: Path
    shares: dict              # function -> points of that function


def prepare(lab, settings, cases_dir):
    """Build every case once per batch: compute expected values with the reference, write
    the inputs, check that no case is given a function that a later case grades."""
    cases = list(lab.make_cases(settings, lab.reference()))
    sources = lab.reference_sources()
    reference = lab.reference()
    graded_later = {}
    for k, case in enumerate(cases):
        case.number = k
        case.question = lab.question_of(case.function)
        case.arg_names = parameter_names(reference, case.call_target())
        graded_later[case.function] = k
    gives, expected = [], []
    for k, case in enumerate(cases):
        if case.given:
            closure = given_closure(sources, case.given)
            late = sorted(f for f in closure if graded_later.get(f, -1) > k)
            if late:
                raise ValueError(f"{lab.name}: case {k} ({case.function}) is given {late[0]}, "
                                 f"which a later case grades: put those cases first")
            gives.append((",".join(sorted(case.given)), given_sources(sources, case.given)))
        else:
            gives.append(None)
        expected.append(case.check.expect(case, reference, settings))
        needs = {case.module} | {g.split(".")[0] for g in case.given}
        write_call(Path(cases_dir) / str(k), case.call_target(), case.args, case.kwargs,
                   needs=[m for m in lab.modules if m in needs or m == case.module], given=case.given)
    shares = {}
    for q in lab.questions:
        total = sum(q.functions.values())
        for function, weight in q.functions.items():
            shares[function] = q.points * weight / total
    missing = sorted(set(shares) - {c.function for c in cases})
    if missing:
        raise ValueError(f"{lab.name}: no case grades {missing[0]}")
    return Prepared(lab, cases, expected, gives, Path(cases_dir), shares)
