"""The program that runs student code, inside the sandbox. It is untrusted once it starts.

It imports only the standard library and numpy (it is copied into sandboxes that cannot see
the rest of the kit). Protocol, all initiated by the trusted parent:
- argv[1]: a JSON object {"submission", "cases", "out", "modules", "control_fd"}.
- The runner imports the student's modules and writes one status line to the control fd:
  {"ready": {module: null or "ExceptionType: message"}}.
- It then reads one JSON command a line from stdin:
  {"op": "case", "k": K, "token": T} runs case K: arguments from cases/K/call.json and its
  .npy files, the result written to out/K/ as .npy files (see `save_tree`), then a status line
  {"k": K, "token": T, "error": null or "Type: message", "warnings": [...]}.
  {"op": "give", "sources": {module: text}} loads trusted helper modules, used by later
  cases that name them in "given" (a case of mlp_forward gets a correct activations module,
  so that a bug in sigmoid costs points in one place only).
Results travel only as .npy files, which the parent loads with allow_pickle=False; the status
lines say only whether a call raised, never what it returned.
"""
import json
import os
import signal
import sys
import types
import warnings

import numpy as np

MAX_MESSAGE = 300
# loaded before an unprivileged runner drops its uid when it shares the host's files ("nobody":
# it may not be able to read them after); bwrap's read-only view stays readable
PREIMPORTS = ("numpy.random", "numpy.linalg", "math", "cmath", "itertools", "functools",
              "collections", "random", "copy", "re", "typing", "dataclasses", "numbers",
              "operator", "time", "abc", "enum", "string", "fractions", "decimal")
MAX_NODES = 2000


def short(text):
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def describe(exc):
    return short(f"{type(exc).__name__}: {exc}")


class Status:
    """The control channel back to the parent: one JSON object a line."""

    def __init__(self, fd):
        self.stream = os.fdopen(fd, "w", buffering=1)

    def send(self, **message):
        self.stream.write(json.dumps(message) + "\n")
        self.stream.flush()


def load_tree(node, folder, given):
    """Decode the parent's argument tree (see autograder.values.encode_tree)."""
    (kind, value), = node.items()
    if kind == "a":
        return np.load(os.path.join(folder, value), allow_pickle=False)
    if kind in ("f", "i", "s", "b", "n"):
        return value
    if kind == "l":
        return [load_tree(v, folder, given) for v in value]
    if kind == "t":
        return tuple(load_tree(v, folder, given) for v in value)
    if kind == "d":
        return {k: load_tree(v, folder, given) for k, v in value.items()}
    if kind == "fn":
        return make_callable(value["kind"], load_tree(value["params"], folder, given))
    raise ValueError(f"unknown argument kind {kind!r}")


def make_callable(kind, params):
    """Scalar test functions for numerical differentiation; the parent knows their gradients."""
    a, c = params
    if kind == "sin_cubic":
        def f(x):
            x = np.asarray(x, dtype=float)
            return float(np.sum(np.sin(a * x) + c * x ** 3))
        return f
    if kind == "coupled":
        def f(x):
            x = np.asarray(x, dtype=float)
            return float(np.sum(np.sin(a * x)) + np.sum(c * x) ** 2)
        return f
    raise ValueError(f"unknown callable {kind!r}")


def save_tree(value, out, path="r", budget=None):
    """Write a result as files out/<path>.<tag>.npy; containers store their length."""
    budget = budget if budget is not None else [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError("result has too many parts")
    target = os.path.join(out, path)
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or value.dtype.kind not in "biufc":
            np.save(f"{target}.object.npy", np.zeros(0))
            return
        np.save(f"{target}.nd.npy", np.asarray(value).view(np.ndarray), allow_pickle=False)
    elif isinstance(value, (bool, np.bool_)):
        np.save(f"{target}.bool.npy", np.asarray(bool(value)))
    elif isinstance(value, np.generic) and value.dtype.kind in "iufc":
        np.save(f"{target}.npscalar.npy", np.asarray(value))
    elif type(value) is float:
        np.save(f"{target}.float.npy", np.asarray(value, dtype=float))
    elif type(value) is int:
        np.save(f"{target}.int.npy", np.asarray(value if abs(value) < 2**62 else 0))
    elif type(value) in (list, tuple) and len(value) > 8 and all(
            type(v) in (float, int) or (isinstance(v, np.generic) and v.dtype.kind in "iuf") for v in value):
        # a long sequence of plain numbers (a loss curve): one file, not one per number
        tag = "numlist" if type(value) is list else "numtuple"
        np.save(f"{target}.{tag}.npy", np.asarray(value, dtype=float))
    elif type(value) in (list, tuple):
        tag = "list" if type(value) is list else "tuple"
        np.save(f"{target}.{tag}.npy", np.asarray(len(value)))
        for i, item in enumerate(value):
            save_tree(item, out, f"{path}_{i}", budget)
    elif value is None:
        np.save(f"{target}.none.npy", np.zeros(0))
    else:
        np.save(f"{target}.object.npy", np.zeros(0))


def walk_arrays(value, path="in"):
    """(path, array) for every ndarray inside an argument tree."""
    if isinstance(value, np.ndarray):
        yield path, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from walk_arrays(item, f"{path}_{i}")


def exec_modules(sources, label):
    """Run module texts {name: source} as modules that import each other by their plain names
    (not the student's modules of the same names), leaving sys.modules as it was.
    The trusted parent loads the reference with it too (autograder.labs)."""
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


def resolve(modules, target):
    """The callable named by {"module", "attr", "items"} among `modules` (the student's, or
    the reference's in the parent)."""
    obj = getattr(modules[target["module"]], target["attr"])
    for item in target.get("items", []):
        obj = obj[item]
    return obj


class Given:
    """Trusted helper modules and the patches that put them in place of the student's own."""

    def __init__(self, modules):
        self.student = modules
        self.trusted = {}

    def load(self, sources):
        self.trusted.update(exec_modules(sources, "given"))

    def patch(self, names):
        """Replace the student's `module.attr` for every name, wherever the student's modules
        bound it (module globals and registries of tuples). Returns the undo list."""
        undo, swap = [], {}   # swap: id(student's object) -> (that object, trusted one)
        for name in names:
            module_name, attr = name.split(".")
            trusted = getattr(self.trusted[module_name], attr)
            home = self.student[module_name]
            original = getattr(home, attr, None)
            if isinstance(original, dict) and isinstance(trusted, dict):
                undo.append(("dict", original, dict(original)))
                original.clear()
                original.update(trusted)
                continue
            undo.append(("attr", home, attr, original))
            setattr(home, attr, trusted)
            if original is not None:
                swap[id(original)] = (original, trusted)
        if not swap:
            return undo
        for module in self.student.values():  # one pass over every global, not one per name
            for key, value in list(vars(module).items()):
                if key.startswith("__"):
                    continue
                hit = swap.get(id(value))
                if hit is not None and hit[0] is value:
                    undo.append(("attr", module, key, value))
                    setattr(module, key, hit[1])
                elif isinstance(value, dict):  # registries such as {name: (f, f')}
                    for item, entry in list(value.items()):
                        if isinstance(entry, tuple) and any(id(e) in swap for e in entry):
                            undo.append(("item", value, item, entry))
                            value[item] = tuple(swap[id(e)][1] if id(e) in swap and swap[id(e)][0] is e else e
                                                for e in entry)
        return undo

    @staticmethod
    def unpatch(undo):
        for entry in reversed(undo):
            if entry[0] == "dict":
                entry[1].clear()
                entry[1].update(entry[2])
            elif entry[0] == "item":
                entry[1][entry[2]] = entry[3]
            elif entry[3] is None:
                entry[1].__dict__.pop(entry[2], None)
            else:
                setattr(entry[1], entry[2], entry[3])


def import_modules(names, status_errors):
    modules = {}
    for name in names:
        try:
            modules[name] = __import__(name)
        except BaseException as exc:  # a student's sys.exit at import is an import failure too
            status_errors[name] = describe(exc)
            sys.modules.pop(name, None)
    return modules


def run_case(k, spec, modules, given, cases_dir, out_dir):
    folder = os.path.join(cases_dir, str(k))
    call = json.load(open(os.path.join(folder, "call.json")))
    out = os.path.join(out_dir, str(k))
    os.makedirs(out, exist_ok=True)
    missing = [m for m in call["needs"] if m not in modules]
    if missing:
        return {"error": f"module {missing[0]} did not import", "warnings": []}
    args = load_tree(call["args"], folder, given)
    kwargs = load_tree(call["kwargs"], folder, given)
    undo = given.patch(call.get("given", []))
    error, caught = None, []
    try:
        function = resolve(modules, call["target"])
        np.seterr(divide="warn", over="warn", invalid="warn", under="ignore")  # NumPy's defaults
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = function(*args, **kwargs)
        save_tree(result, out)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt from student code too
        error = describe(exc)
    finally:
        Given.unpatch(undo)
    for path, array in walk_arrays(list(args)):
        try:
            np.save(os.path.join(out, f"{path}.after.npy"), np.asarray(array).view(np.ndarray))
        except BaseException:
            pass
    return {"error": error, "warnings": [short(f"{w.category.__name__}: {w.message}") for w in caught[:5]]}


def main():
    spec = json.loads(sys.argv[1])
    status = Status(spec["control_fd"])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing us
    if "drop_to_uid" in spec:  # before anything is written: the output folder is the slot uid's
        for name in PREIMPORTS if spec.get("preimport") else ():
            __import__(name)
        os.setgroups([])
        os.setgid(spec["drop_to_uid"])
        os.setuid(spec["drop_to_uid"])
    log = os.open(os.path.join(spec["out"], "stdout.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.path.insert(0, spec["submission"])
    os.chdir(spec.get("workdir", spec["out"]))
    errors = {}
    modules = import_modules(spec["modules"], errors)
    status.send(ready=errors)
    given = Given(modules)
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "give":
            given.load(command["sources"])
            status.send(given=sorted(command["sources"]))
        elif command["op"] == "case":
            k = command["k"]
            try:
                result = run_case(k, spec, modules, given, spec["cases"], spec["out"])
            except BaseException as exc:
                result = {"error": describe(exc), "warnings": []}
            status.send(k=k, token=command.get("token"), **result)
        else:
            break
    os._exit(0)


if __name__ == "__main__":
    main()
