"""Automatic single-point mutants of a lab's reference, graded like any batch.

`python -m autograder mutants --auto` parses each reference module with `ast`, and every
operator of `OPERATORS` proposes small rewrites of one node inside a solution region (between
the markers of autograder.skeleton; nothing given or scaffolded is touched). Each rewrite is
one mutant: the module written back with `ast.unparse`, the lab's other modules as they are.
A mutant that does not compile or import, or whose text is the reference's own after unparse,
is dropped and counted. The rest are graded by the batch engine (parallel, resumable in --out)
and a mutant is killed when it loses any point.

A survivor is either a hole in the hidden cases or an equivalent mutant: the instructor
records those in solutions/<lab>/equivalent_mutants.toml, one line of why each is equivalent
under the contract, keyed by the mutant's signature

    "module.function | operator | before -> after"

(`before` and `after`: the first line of the unparsed statement around the mutated node, before
and after the mutation; "#2" is appended to the second mutant of the same signature). An entry whose signature no longer exists is refused.
The [cheap] table of the same file lists killed mutants allowed to cost less than half of
their function's points, with the reason (a change that only shows at a corner of the input).
"""
import ast
import copy
import hashlib
import re
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from . import batch
from . import mutants as bank_table
from .labs import exec_modules
from .mutants import function_scores
from .skeleton import BEGIN, END, strip_markers

EQUIVALENTS = "equivalent_mutants.toml"
CHEAP_SHARE = 0.5   # a killed mutant costing less than this share of its function is listed as cheap


# ---------------------------------------------------------------------------- operators
# Each operator: function(node, context) -> [(replacement node or None for "removed")].
# The context knows the names bound before a node in its function (for `return_earlier`).
OPERATORS = {}


def operator(function):
    OPERATORS[function.__name__] = function
    return function


BINARY_SWAPS = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Div, ast.MatMult], ast.Div: [ast.Mult],
                ast.MatMult: [ast.Mult]}
COMPARE_SWAPS = {ast.Gt: [ast.GtE, ast.Lt], ast.GtE: [ast.Gt, ast.LtE], ast.Lt: [ast.LtE, ast.Gt],
                 ast.LtE: [ast.Lt, ast.GtE], ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq]}
REDUCTIONS = {"sum": "mean", "mean": "sum", "max": "min", "min": "max", "maximum": "minimum",
              "minimum": "maximum", "argmax": "argmin", "argmin": "argmax"}


def replaced(node, **changes):
    new = copy.deepcopy(node)
    for name, value in changes.items():
        setattr(new, name, value)
    return new


@operator
def binary(node, context):
    """+ and -, * and /, @ and *."""
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY_SWAPS:
        return [replaced(node, op=op()) for op in BINARY_SWAPS[type(node.op)]]
    if isinstance(node, ast.AugAssign) and type(node.op) in BINARY_SWAPS:
        return [replaced(node, op=op()) for op in BINARY_SWAPS[type(node.op)]]
    return []


@operator
def comparison(node, context):
    """> and >= (strictness), > and < (direction), == and !=."""
    if not isinstance(node, ast.Compare):
        return []
    out = []
    for i, op in enumerate(node.ops):
        for swap in COMPARE_SWAPS.get(type(op), []):
            ops = list(node.ops)
            ops[i] = swap()
            out.append(replaced(node, ops=ops))
    return out


@operator
def constant(node, context):
    """A number: 0 and 1, x to -x, x / 2 and 2 x (booleans are left to `keyword`)."""
    if not (isinstance(node, ast.Constant) and type(node.value) in (int, float)):
        return []
    x = node.value
    half = x / 2 if isinstance(x, float) else x // 2
    values = [1] if x == 0 else [0, -x, 2 * x, half] if x == 1 else [-x, 2 * x, half]
    if isinstance(x, float):
        values = [float(v) for v in values]
    seen, out = set(), []
    for v in values:
        if v != x and repr(v) not in seen:
            seen.add(repr(v))
            out.append(ast.Constant(v))
    return out


@operator
def keyword(node, context):
    """axis and keepdims arguments: the axis dropped or moved, keepdims dropped or flipped."""
    if not isinstance(node, ast.Call):
        return []
    out = []
    for i, kw in enumerate(node.keywords):
        if kw.arg == "axis":
            out.append(replaced(node, keywords=node.keywords[:i] + node.keywords[i + 1:]))
            if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, int):
                for axis in {0: [1], 1: [0], -1: [0]}.get(kw.value.value, [0]):
                    out.append(replaced(node, keywords=[*node.keywords[:i], ast.keyword("axis", ast.Constant(axis)),
                                                        *node.keywords[i + 1:]]))
        if kw.arg == "keepdims":
            out.append(replaced(node, keywords=node.keywords[:i] + node.keywords[i + 1:]))
            if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, bool):
                out.append(replaced(node, keywords=[*node.keywords[:i], ast.keyword("keepdims", ast.Constant(not kw.value.value)),
                                                    *node.keywords[i + 1:]]))
    return out


@operator
def transpose(node, context):
    """`.T` removed, or added to an operand of a matrix product."""
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return [copy.deepcopy(node.value)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return [replaced(node, left=ast.Attribute(copy.deepcopy(node.left), "T", ast.Load())),
                replaced(node, right=ast.Attribute(copy.deepcopy(node.right), "T", ast.Load()))]
    return []


@operator
def reduction(node, context):
    """sum and mean, max and min (also maximum/minimum, argmax/argmin)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in REDUCTIONS:
        return [replaced(node, func=replaced(node.func, attr=REDUCTIONS[node.func.attr]))]
    return []


@operator
def return_earlier(node, context):
    """`return x` where x is a name bound earlier in the function (an argument or a variable)."""
    if not isinstance(node, ast.Return) or node.value is None:
        return []
    current = ast.unparse(node.value)
    return [ast.Return(ast.Name(name, ast.Load())) for name in context.bound_before(node) if name != current]


@operator
def statement(node, context):
    """A statement removed (a `pass` when it is the only one of its block)."""
    if isinstance(node, ast.stmt) and not isinstance(node, ast.Pass):
        return [None]
    return []


@operator
def arguments(node, context):
    """Two neighbouring positional arguments of a call swapped."""
    if not isinstance(node, ast.Call) or len(node.args) < 2:
        return []
    out = []
    for i in range(len(node.args) - 1):
        if any(isinstance(a, ast.Starred) for a in node.args[i:i + 2]):
            continue
        args = list(node.args)
        args[i], args[i + 1] = args[i + 1], args[i]
        out.append(replaced(node, args=args))
    return out


@operator
def slice_end(node, context):
    """A slice's end moved by one (x[:n] to x[:n + 1] and x[:n - 1]); an open end closed at -1."""
    if not isinstance(node, ast.Slice):
        return []
    if node.upper is None:
        return [replaced(node, upper=ast.UnaryOp(ast.USub(), ast.Constant(1)))] if node.lower is not None else []
    return [replaced(node, upper=ast.BinOp(copy.deepcopy(node.upper), op(), ast.Constant(1))) for op in (ast.Add, ast.Sub)]


# ---------------------------------------------------------------------------- generation
@dataclass
class Mutant:
    module: str
    function: str        # "module.name"
    operator: str
    before: str
    after: str
    line: int
    source: str = field(repr=False, default="")   # the mutated module's text
    signature: str = ""
    line_before: str = ""   # the statement around the mutated node (its first line), before and after
    line_after: str = ""

    @property
    def name(self):
        """A folder name, stable while the signature is."""
        slug = re.sub(r"\W+", "_", f"{self.function}_{self.operator}").strip("_")
        return f"{slug}_{hashlib.sha1(self.signature.encode()).hexdigest()[:8]}"

    def diff(self):
        """One line: where, and the statement around the mutated node before and after."""
        return (f"{self.module}.py:{self.line} {self.function.split('.')[-1]}: {self.line_before}  ->  "
                f"{self.line_after or '(removed)'}")


def regions(source):
    """[(first line, last line)] of the solution regions of a module's text (1-based, markers excluded)."""
    out, start = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        if BEGIN.match(line):
            start = number
        elif END.match(line) and start is not None:
            out.append((start + 1, number - 1))
            start = None
    return out


class Context:
    """What an operator may ask about the function around a node."""

    def __init__(self, function_node):
        self.function = function_node

    def bound_before(self, node):
        names = [a.arg for a in self.function.args.args + self.function.args.kwonlyargs]
        for sub in ast.walk(self.function):
            if isinstance(sub, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For)) and sub.lineno < node.lineno:
                targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                for t in targets:
                    names += [n.id for n in ast.walk(t) if isinstance(n, ast.Name)]
        return list(dict.fromkeys(names))


def sites(tree, spans):
    """(function node, parent, field, index, node) for every node inside a solution region."""
    inside = lambda n: any(a <= n.lineno and n.end_lineno <= b for a, b in spans)
    for function in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
        for parent in ast.walk(function):
            if parent is not function and isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            for name, value in ast.iter_fields(parent):
                children = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
                for index, child in children:
                    if isinstance(child, (ast.expr, ast.stmt)) and hasattr(child, "lineno") and inside(child):
                        yield function, parent, name, index, child


def path_to(tree, target):
    """The positions (field, index) from tree down to target, so the same node is found in a copy."""
    def search(node, path):
        if node is target:
            return path
        for name, value in ast.iter_fields(node):
            children = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
            for index, child in children:
                if isinstance(child, ast.AST):
                    found = search(child, path + [(name, index)])
                    if found is not None:
                        return found
        return None
    return search(tree, [])


def follow(tree, path):
    node = tree
    for name, index in path[:-1]:
        value = getattr(node, name)
        node = value[index] if index is not None else value
    return node


def one_line(text):
    """Unparsed code on one line (a compound statement's lines joined by ' / ')."""
    return " / ".join(line.strip() for line in text.splitlines() if line.strip())


def first_line(node):
    return ast.unparse(node).splitlines()[0] if node is not None else ""


def enclosing_statement(tree, path):
    """The deepest statement on `path` (the positions from the tree down to a node), and its path."""
    node, found, found_path = tree, None, []
    for depth, (name, index) in enumerate(path):
        value = getattr(node, name)
        node = value[index] if index is not None else value
        if isinstance(node, ast.stmt):
            found, found_path = node, path[:depth + 1]
    return found, found_path


def mutate_module(module, source):
    """[Mutant] of one module (before the compile, import and identity checks)."""
    tree = ast.parse(source)
    spans = regions(source)
    original = ast.unparse(tree)
    out = []
    for function, parent, name, index, node in list(sites(tree, spans)):
        context = Context(function)
        before = one_line(ast.unparse(node))
        path = path_to(tree, node)
        around, around_path = enclosing_statement(tree, path)
        for op_name, op in OPERATORS.items():
            for new in op(node, context):
                after = "" if new is None else one_line(ast.unparse(new))
                copy_tree = copy.deepcopy(tree)
                holder = follow(copy_tree, path)
                field_name, position = path[-1]
                if new is None:
                    body = getattr(holder, field_name)
                    if not isinstance(body, list):
                        continue
                    del body[position]
                    if not body:
                        body.append(ast.Pass())
                elif position is None:
                    setattr(holder, field_name, new)
                else:
                    getattr(holder, field_name)[position] = new
                text = ast.unparse(ast.fix_missing_locations(copy_tree))
                mutated_around = None if new is None and around is node else follow(copy_tree, around_path + [(None, None)])
                out.append(Mutant(module, f"{module}.{function.name}", op_name, before, after, node.lineno,
                                  text if text != original else "", line_before=first_line(around),
                                  line_after=first_line(mutated_around)))
    return out


def generate(lab):
    """(mutants kept, {reason: count} of those dropped): every mutant of every module."""
    reference = {m: (lab.reference_dir / f"{m}.py").read_text() for m in lab.modules}
    stripped = {m: strip_markers(text) for m, text in reference.items()}
    kept, dropped, counts = [], {"identical after unparse": 0, "does not compile": 0, "does not import": 0}, {}
    for module, source in reference.items():
        for mutant in mutate_module(module, source):
            base = f"{mutant.function} | {mutant.operator} | {mutant.line_before} -> {mutant.line_after or '(removed)'}"
            counts[base] = counts.get(base, 0) + 1
            mutant.signature = base + (f" #{counts[base]}" if counts[base] > 1 else "")
            if not mutant.source:
                dropped["identical after unparse"] += 1
                continue
            try:
                compile(mutant.source, f"{module}.py", "exec")
            except (SyntaxError, ValueError):
                dropped["does not compile"] += 1
                continue
            try:
                exec_modules({**stripped, module: mutant.source}, "mutant")
            except Exception:
                dropped["does not import"] += 1
                continue
            kept.append(mutant)
    texts = set()
    unique = []
    for mutant in kept:   # two rewrites that give the same module (e.g. `a @ b.T` reached twice)
        key = (mutant.module, mutant.source)
        if key in texts:
            dropped["identical after unparse"] += 1
            continue
        texts.add(key)
        unique.append(mutant)
    return unique, dropped


# ---------------------------------------------------------------------------- equivalents
def load_equivalents(lab, signatures):
    """({signature: reason} of equivalent mutants, {signature: reason} of cheap ones) from the lab's
    equivalent_mutants.toml; raises ValueError (one line) on a stale entry or an empty reason."""
    path = lab.reference_dir / EQUIVALENTS
    if not path.exists():
        return {}, {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from None
    equivalent = {k: v for k, v in data.items() if not isinstance(v, dict)}
    cheap = data.get("cheap", {})
    for table in (equivalent, cheap):
        for signature, reason in table.items():
            if signature not in signatures:
                raise ValueError(f"{path}: stale entry {signature!r}: no such mutant of the reference any more; "
                                 f"remove it or update its signature")
            if not isinstance(reason, str) or not reason.strip():
                raise ValueError(f"{path}: {signature!r} needs one line of why")
    return equivalent, cheap


def toml_key(signature):
    return '"' + signature.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------- grading
@dataclass
class Outcome:
    mutant: Mutant
    points: float      # its function's points
    kept: float        # points of its function it kept
    lost_total: float  # points lost in the whole lab

    @property
    def killed(self):
        return self.lost_total > 0

    @property
    def share_lost(self):
        return (self.points - self.kept) / self.points if self.points else 0.0

    def verdict(self, width=100):
        """The row of the `mutants` table (autograder.mutants.table), as a bank mistake's."""
        m, lost = self.mutant, round(self.points - self.kept, 2)
        elsewhere = round(self.lost_total - lost, 2)
        text = f"{m.module}.py:{m.line} {m.line_after or '(' + m.line_before + ') removed'}"
        return bank_table.Verdict(text[:width], m.operator, lost, {"other functions": elsewhere} if elsewhere > 0 else {},
                               0.0, m.function, self.points, lost)


def select(mutants, only=(), sample=0):
    """The mutants of the named functions ("module.name" or "name"), then every k-th of them
    for a sample of about `sample` (0: all)."""
    if only:
        mutants = [m for m in mutants if m.function in only or m.function.split(".")[1] in only]
    if sample and len(mutants) > sample:
        step = len(mutants) / sample
        mutants = [mutants[int(i * step)] for i in range(sample)]
    return mutants


def run(lab, settings, out=None, jobs=None, only=(), sample=0, rerun=False, log=print, progress=True):
    """Generate, check the lab's equivalents, grade; returns a Report."""
    started = time.monotonic()
    everything, dropped = generate(lab)
    equivalent, cheap = load_equivalents(lab, {m.signature for m in everything})
    chosen = select(everything, only, sample)
    full = {q.name: q.points for q in lab.questions}
    reference = {m: strip_markers((lab.reference_dir / f"{m}.py").read_text()) for m in lab.modules}
    with tempfile.TemporaryDirectory(prefix="automutants-") as tmp:
        root = Path(out) if out else Path(tmp)
        folders = []
        for mutant in chosen:
            folder = root / "mutants" / mutant.name
            folder.mkdir(parents=True, exist_ok=True)
            for module, text in {**reference, mutant.module: mutant.source}.items():
                path = folder / f"{module}.py"
                if not path.exists() or path.read_text() != text:
                    path.write_text(text)
            folders.append(folder)
        rows = batch.grade_batch(lab, folders, root / "graded", settings, jobs=jobs, rerun=rerun, log=log,
                                 progress=progress, report_png=False) if folders else []
        outcomes = []
        for mutant, row in zip(chosen, rows):
            functions = function_scores(root / "graded" / "submissions" / row["folder"] / "results.json")
            earned, points = functions.get(mutant.function, (0.0, 0.0))
            lost = sum(full[q] - float(row[q]) for q in full)
            outcomes.append(Outcome(mutant, round(points, 2), round(earned, 2), round(lost, 2)))
    return Report(outcomes, dropped, equivalent, cheap, len(everything), time.monotonic() - started)


@dataclass
class Report:
    outcomes: list
    dropped: dict
    equivalent: dict
    cheap: dict
    generated: int     # mutants kept over the whole lab (before --only / --sample)
    seconds: float

    @property
    def survivors(self):
        return [o for o in self.outcomes if not o.killed]

    @property
    def unexplained(self):
        return [o for o in self.survivors if o.mutant.signature not in self.equivalent]

    @property
    def cheap_unexplained(self):
        return [o for o in self.outcomes if o.killed and o.share_lost < CHEAP_SHARE and o.mutant.signature not in self.cheap]

    @property
    def ok(self):
        """No survivor and no cheap mutant without a recorded reason."""
        return not self.unexplained and not self.cheap_unexplained

    def lines(self, table=False):
        graded = len(self.outcomes)
        killed = graded - len(self.survivors)
        judged = graded - (len(self.survivors) - len(self.unexplained))
        lines = [f"automatic mutants: {graded} graded of {self.generated} ("
                 + ", ".join(f"{n} {why}" for why, n in self.dropped.items() if n) + " dropped) in "
                 f"{self.seconds:.0f} s",
                 f"kill rate: {killed}/{graded} ({100 * killed / max(1, graded):.1f}%); "
                 f"{killed}/{judged} ({100 * killed / max(1, judged):.1f}%) without the "
                 f"{len(self.survivors) - len(self.unexplained)} recorded as equivalent"]
        if table:
            lines += bank_table.table([o.verdict() for o in self.outcomes])
        cheap = [o for o in self.outcomes if o.killed and o.share_lost < CHEAP_SHARE]
        lines.append(f"killed mutants that cost less than half of their function's points: {len(cheap)} "
                     f"({len(cheap) - len(self.cheap_unexplained)} listed in [cheap] with a reason)")
        for o in self.cheap_unexplained:
            lines.append(f"  < half {100 * o.share_lost:.0f}% ({o.points - o.kept:g} of {o.points:g}): {o.mutant.diff()}")
        for o in self.survivors:
            why = self.equivalent.get(o.mutant.signature)
            head = "equivalent" if why else "SURVIVED"
            lines.append(f"  {head} {o.mutant.function} (kept {o.kept:g}/{o.points:g}): {o.mutant.diff()}"
                         + (f"  [{why}]" if why else f"\n      signature: {toml_key(o.mutant.signature)}"))
        survived = {o.mutant.signature for o in self.survivors}
        graded = {o.mutant.signature for o in self.outcomes}
        for signature in self.equivalent:
            if signature in graded and signature not in survived:
                lines.append(f"  note: recorded as equivalent but killed (remove it from {EQUIVALENTS}): {signature}")
        lines.append(f"unexplained survivors: {len(self.unexplained)}; unexplained cheap mutants: {len(self.cheap_unexplained)}")
        return lines
