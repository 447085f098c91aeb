"""How values cross the sandbox wall, on the parent's side.

Arguments go out through the session's arena (shared memory the parent fills; `place`), so
the parent can read back what a call did to them (`inputs_after`). Results come back as wire
trees (sandbox/wire.py) that `result_value` turns into tagged `Value` trees for the judges,
strictly: arrays are loaded with allow_pickle=False, object arrays and anything malformed
(only plain number dtypes, sizes that match) become a refused node, and the node count is
bounded. A callable argument (a test function
for numerical_gradient) stays in the parent: the sandbox calls it back by name.
"""
from dataclasses import dataclass, field

import numpy as np

from .sandbox import wire

MAX_ITEMS = 2000
ALIGN = 64


@dataclass(frozen=True)
class Callable:
    """A scalar test function with a known gradient, evaluated in the trusted parent
    (student code calls it through the wall)."""
    kind: str
    params: tuple

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        a, c = self.params
        if self.kind == "sin_cubic":  # sum(sin(a x) + c x^3): separable
            return float(np.sum(np.sin(a * x) + c * x ** 3))
        if self.kind == "coupled":    # sum(sin(a x)) + (sum(c x))^2: every pair of entries interacts
            return float(np.sum(np.sin(a * x)) + np.sum(c * x) ** 2)
        raise ValueError(f"unknown callable {self.kind!r}")

    def gradient(self, x):
        x = np.asarray(x, dtype=float)
        a, c = self.params
        if self.kind == "sin_cubic":
            return a * np.cos(a * x) + 3.0 * c * x ** 2
        if self.kind == "coupled":
            return a * np.cos(a * x) + 2.0 * np.sum(c * x) * c
        raise ValueError(f"unknown callable {self.kind!r}")


def input_bytes(value):
    """Arena bytes the arrays of an argument tree take (with alignment)."""
    if isinstance(value, np.ndarray):
        return -(-value.nbytes // ALIGN) * ALIGN + ALIGN
    if isinstance(value, (list, tuple)):
        return sum(input_bytes(v) for v in value)
    if isinstance(value, dict):
        return sum(input_bytes(v) for v in value.values())
    return 0


@dataclass
class Placed:
    """A case's arguments as sent: the trees, where each array lies, the callables by name."""
    args: dict
    kwargs: dict
    arrays: dict = field(default_factory=dict)      # path -> (offset, dtype, shape)
    callables: dict = field(default_factory=dict)   # name -> Callable


def place(memory, args, kwargs):
    """Write a case's arrays into the arena `memory` and return their trees (see runner.load_args)."""
    placed = Placed({}, {})
    at = [0]

    def tree(value, path):
        if isinstance(value, np.ndarray):
            value = np.ascontiguousarray(value)
            offset = at[0]
            memory[offset:offset + value.nbytes] = value.tobytes()
            at[0] += -(-value.nbytes // ALIGN) * ALIGN + ALIGN
            placed.arrays[path] = (offset, value.dtype.str, value.shape)
            return {"m": [offset, value.dtype.str, list(value.shape)]}
        if isinstance(value, Callable):
            name = f"argument.f{len(placed.callables)}"
            placed.callables[name] = value
            return {"fn": name}
        if isinstance(value, bool):
            return {"b": value}
        if isinstance(value, (int, np.integer)):
            return {"i": int(value)}
        if isinstance(value, (float, np.floating)):
            return {"f": float(value)}
        if isinstance(value, str):
            return {"s": value}
        if value is None:
            return {"n": 0}
        if isinstance(value, (list, tuple)):
            items = [tree(v, f"{path}_{i}") for i, v in enumerate(value)]
            return {"l": items} if isinstance(value, list) else {"t": items}
        if isinstance(value, dict):
            return {"d": [[k, tree(v, f"{path}_{k}")] for k, v in value.items()]}
        raise TypeError(f"cannot send a {type(value).__name__} into the sandbox")

    placed.args = tree(tuple(args), "in")
    placed.kwargs = tree(dict(kwargs), "kw")
    return placed


def walk_arrays(value, path="in"):
    """(path, array) for every ndarray inside an argument tree, named as `place` names them."""
    if isinstance(value, np.ndarray):
        yield path, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from walk_arrays(item, f"{path}_{i}")


def inputs_after(memory, placed):
    """{path: array} of every argument array as the arena holds it now (the parent's own read)."""
    after = {}
    for path, (offset, dtype, shape) in placed.arrays.items():
        count = int(np.prod(shape)) if shape else 1
        after[path] = np.frombuffer(memory, dtype=np.dtype(dtype), count=count, offset=offset).reshape(shape).copy()
    return after


@dataclass
class Value:
    """One node of a result as the student's code returned it.

    tag: nd (ndarray), float, int, bool, npscalar (a NumPy scalar), list, tuple, none,
    object (anything else: refused), or missing (nothing came back)."""
    tag: str
    data: np.ndarray | None = None
    items: list = field(default_factory=list)

    @property
    def is_sequence(self):
        return self.tag in ("list", "tuple")


MISSING = Value("missing")
TAGS = {"f": "float", "i": "int", "b": "bool"}


def result_value(tree, blobs):
    """The Value tree of a result the runner sent; raises ValueError when it is malformed."""
    count = [0]

    def walk(node, depth):
        count[0] += 1
        if count[0] > MAX_ITEMS * 4 or depth > 16:
            raise ValueError("the result has too many parts")
        if not isinstance(node, dict) or len(node) != 1:
            raise ValueError("the result could not be read")
        (kind, value), = node.items()
        if kind in ("a", "g"):
            try:
                data = wire.load_blob(blobs, *value) if isinstance(value, list) and len(value) == 3 - (kind == "g") \
                    else None
            except wire.WireError:
                data = None
            if data is None:
                return Value("object")
            if kind == "g":
                return Value("npscalar", data=data) if data.dtype.kind in "iufc" else Value("object")
            return Value("nd", data=data)
        if kind in TAGS and type(value) is {"f": float, "i": int, "b": bool}[kind]:
            return Value(TAGS[kind], data=np.asarray(value if kind != "i" or abs(value) < 2 ** 62 else 0))
        if kind == "n":
            return Value("none")
        if kind in ("l", "t") and isinstance(value, list):
            if len(value) > MAX_ITEMS:
                return Value("object")
            return Value("list" if kind == "l" else "tuple", items=[walk(v, depth + 1) for v in value])
        if kind in ("s", "d", "fn", "o"):
            return Value("object")
        raise ValueError("the result could not be read")

    return walk(tree, 0)
