"""How values cross the sandbox wall: arguments out as JSON + .npy, results back as .npy.

The parent writes each case's arguments with `write_call`; the runner (sandbox/runner.py)
decodes them with its `load_tree` and writes the result with its `save_tree`; the parent reads
that back with `read_result`, loading every file with allow_pickle=False. Object arrays, files
with unexpected names and oversized results are refused, not trusted.
"""
import io
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RESULT_FILE = re.compile(r"^(?P<path>r(?:_\d{1,5}){0,4})\.(?P<tag>nd|float|int|bool|npscalar|list|tuple|numlist|numtuple|none|object)\.npy$")
AFTER_FILE = re.compile(r"^(?P<path>in(?:_\d{1,5}){1,4})\.after\.npy$")
MAX_ITEMS = 2000
MAX_FILES = 2 * MAX_ITEMS  # a result's nodes (at most MAX_ITEMS) plus the inputs' copies, with room to spare


@dataclass(frozen=True)
class Callable:
    """A scalar test function built inside the sandbox (see runner.make_callable)."""
    kind: str
    params: tuple

    kinds = ("sin_cubic", "coupled")  # both built by runner.make_callable too

    def __call__(self, x):  # the same function, for the trusted parent
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


def encode_tree(value, folder, names):
    """JSON node for one argument; arrays go to folder/<n>.npy (n from the `names` counter)."""
    if isinstance(value, np.ndarray):
        name = f"{len(names)}.npy"
        names.append(name)
        np.save(Path(folder) / name, value, allow_pickle=False)
        return {"a": name}
    if isinstance(value, Callable):
        return {"fn": {"kind": value.kind, "params": encode_tree(value.params, folder, names)}}
    if isinstance(value, bool):
        return {"b": value}
    if isinstance(value, (int, np.integer)):
        return {"i": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"f": float(value)}
    if isinstance(value, str):
        return {"s": value}
    if value is None:
        return {"n": None}
    if isinstance(value, list):
        return {"l": [encode_tree(v, folder, names) for v in value]}
    if isinstance(value, tuple):
        return {"t": [encode_tree(v, folder, names) for v in value]}
    if isinstance(value, dict):
        return {"d": {k: encode_tree(v, folder, names) for k, v in value.items()}}
    raise TypeError(f"cannot send a {type(value).__name__} into the sandbox")


def write_call(folder, target, args, kwargs, needs, given=()):
    """Write one case's call.json and argument arrays into folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    call = {
        "target": target,
        "args": encode_tree(tuple(args), folder, names),
        "kwargs": encode_tree(dict(kwargs), folder, names),
        "needs": sorted(needs),
        "given": list(given),
    }
    (folder / "call.json").write_text(json.dumps(call))


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


def read_result(folder, max_bytes):
    """The result tree that the runner wrote into folder, or MISSING.

    The sandbox may still be running and owns the folder, so nothing in it is followed or
    trusted: the folder and its files are opened without following links (a link could point
    at files only the parent may read, such as another submission's results), anything but a
    regular file is skipped (opening a FIFO would block), each file is read once, up to the
    byte budget, and a result path written under two tags is refused."""
    try:
        folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:  # missing, not a folder, or a link
        return MISSING, {}
    entries, after, budget = {}, {}, [max_bytes]
    try:
        with os.scandir(folder_fd) as listing:
            for count, entry in enumerate(listing):
                if count >= MAX_FILES:
                    raise ValueError(f"the result folder holds more than {MAX_FILES} files")
                match = RESULT_FILE.match(entry.name) or AFTER_FILE.match(entry.name)
                if not match:
                    continue
                data = load_file(folder_fd, entry.name, budget)
                if budget[0] < 0:
                    raise ValueError(f"the result is larger than {max_bytes} bytes")
                if match.re is AFTER_FILE:
                    after[match.group("path")] = data
                elif match.group("path") in entries:  # r.nd.npy beside r.float.npy: which one? neither
                    entries[match.group("path")] = ("object", None)
                else:
                    entries[match.group("path")] = (match.group("tag"), data)
    finally:
        os.close(folder_fd)
    return build(entries, "r"), after


def load_file(folder_fd, name, budget):
    """The array in one regular file of the folder (None when it is not a plain .npy file);
    the bytes read are taken from budget[0], which goes negative when the file is too large."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder_fd)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        raw = f.read(budget[0] + 1)
    budget[0] -= len(raw)
    if budget[0] < 0:
        return None
    try:
        return np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception:  # a pickle, a truncated file, not an .npy: untrusted, refused
        return None


def build(entries, path):
    if path not in entries:
        return MISSING
    tag, data = entries[path]
    if data is None or tag == "object":
        return Value("object")
    if tag in ("numlist", "numtuple"):  # a long list of numbers, saved as one 1-D array
        if data.ndim != 1 or data.dtype.kind != "f" or data.size > MAX_ITEMS * 50:
            return Value("object")
        return Value(tag[3:], items=[Value("float", data=np.asarray(v)) for v in data])
    if tag in ("list", "tuple"):
        n = int(data) if data.shape == () and data.dtype.kind in "iu" else -1
        if not 0 <= n <= MAX_ITEMS:
            return Value("object")
        return Value(tag, items=[build(entries, f"{path}_{i}") for i in range(n)])
    return Value(tag, data=data)
