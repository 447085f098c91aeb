"""The wire format between the trusted parent and the runner in the sandbox.

Both sides import this module (the runner from its own folder inside the sandbox), so it uses
only the standard library and NumPy. A frame is one line of JSON (the header) followed by
the blobs its "sizes" list (the payload). A value travels as a JSON tree whose arrays are raw
bytes in the payload (no .npy header to parse, no pickle anywhere):

    {"a": [i, dtype, shape]}  ndarray: blob i holds its raw bytes (C order)
    {"g": [i, dtype]}         NumPy scalar: blob i holds its raw bytes
    {"f": x}   float                    {"i": n}  int            {"b": x}  bool
    {"s": x}   str                      {"n": 0}  None           {"o": 0}  anything else
    {"l": [...]}, {"t": [...]}          list, tuple
    {"d": [[key, node], ...]}           dict with str keys
    {"fn": name}                        a callable the other side calls back by name

The parent reads what the runner sends as hostile data, against a schema, before any use:
- a dtype is one of DTYPES exactly (float64, float32, int64, int32, bool, little-endian as
  `encode` sends them): never object, structured, unsigned, complex or anything NumPy would
  have to interpret; a shape has at most MAX_NDIM dimensions of at most MAX_DIM each and at
  most MAX_ELEMENTS elements (zero-size dimensions counted as 1), and a blob's size must be
  its shape's;
- a frame's payload is read once into one buffer; its blobs are slices of it (`Blobs`) and
  every array is a view of them (np.frombuffer), never a copy: a blob named by any number of
  nodes costs its bytes once, counted against the answer's decoded-byte budget;
- the header's own fields are checked by `answer_fields` and `call_fields`; a helper call
  is held to its case's sizes by `CaseBounds` (session.py);
- the node count, the depth, integers and texts are bounded.
Whatever fails a check is a WireError with the parent's own words (never a number or a text
the sandbox sent). Nothing the runner sends is executed or shown as it is.
"""
import json
import math
import os
import select
import time

import numpy as np

MAX_HEADER = 1 << 20   # bytes of one JSON header line
MAX_BLOBS = 4096       # blobs in one frame (a correct answer has a few dozen at most)
MAX_NDIM = 8
MAX_DIM = 1 << 24
MAX_ELEMENTS = 1 << 24
MAX_TEXT = 4096        # characters of a str node, an error's text or a warning
MAX_NAME = 200         # characters of an exception's or a helper's name
MAX_REPLY_BYTES = 16 << 20   # array bytes of one given helper's result (serve; the session also holds it to max_result_bytes)
# the only array dtypes that cross the wall, as `encode` writes them (little-endian)
DTYPES = {np.dtype(t).str: np.dtype(t) for t in (np.float64, np.float32, np.int64, np.int32, np.bool_)}

MALFORMED_ANSWER = "it sent an answer that does not follow the grader's format"
MALFORMED_CALL = "a call of a given helper did not follow the grader's format"
HELPER_BOUNDS = ("a given helper was called on arguments larger than this case's own "
                 "(a given helper takes arrays of the sizes the case gives)")
HELPER_RESULT = "a given helper's result was larger than the grader sends back"


class WireError(ValueError):
    """A frame or a value that does not follow this format (the message is the parent's own)."""


# ---------------------------------------------------------------------------- values
def wire_dtype(dtype):
    """The dtype an array of `dtype` crosses as (little-endian), or None when it cannot cross."""
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        return None
    little = dtype.newbyteorder("<") if dtype.byteorder == ">" else dtype
    return DTYPES.get(little.str)


def encode(value, blobs, functions=None, depth=0):
    """JSON node for `value`; arrays are appended to `blobs` as raw bytes.
    functions: {id(callable): name} of callables to send by name (else they are objects)."""
    if depth > 50:
        return {"o": 0}
    if isinstance(value, np.ndarray):
        dtype = wire_dtype(value.dtype)
        if dtype is None:
            return {"o": 0}
        array = np.asarray(value, dtype=dtype, order="C")   # a plain ndarray, whatever the subclass claims
        blobs.append(array.tobytes())
        return {"a": [len(blobs) - 1, dtype.str, list(array.shape)]}
    if isinstance(value, (bool, np.bool_)):
        return {"b": bool(value)}
    if isinstance(value, np.generic):
        dtype = wire_dtype(value.dtype)
        if dtype is None:
            return {"o": 0}
        blobs.append(np.asarray(value, dtype=dtype).tobytes())
        return {"g": [len(blobs) - 1, dtype.str]}
    if type(value) is float:
        return {"f": value}
    if type(value) is int:
        return {"i": value if abs(value) < 2 ** 62 else 0}
    if type(value) is str:
        return {"s": value}
    if value is None:
        return {"n": 0}
    if type(value) in (list, tuple):
        items = [encode(v, blobs, functions, depth + 1) for v in value]
        return {"l": items} if type(value) is list else {"t": items}
    if type(value) is dict and all(type(k) is str for k in value):
        return {"d": [[k, encode(v, blobs, functions, depth + 1)] for k, v in value.items()]}
    if functions and id(value) in functions:
        return {"fn": functions[id(value)]}
    return {"o": 0}


def check_dtype(dtype):
    """The np.dtype a node names, from the allow-list only (WireError otherwise)."""
    found = DTYPES.get(dtype) if type(dtype) is str else None
    if found is None:
        raise WireError("an array whose dtype is not float64, float32, int64, int32 or bool")
    return found


def check_shape(shape):
    """The shape a node names as a tuple, within the bounds (WireError otherwise)."""
    if type(shape) is tuple and shape == ():
        return ()
    if type(shape) is not list or len(shape) > MAX_NDIM or \
            not all(type(n) is int and 0 <= n <= MAX_DIM for n in shape):
        raise WireError("an array with a malformed shape")
    if math.prod(max(n, 1) for n in shape) > MAX_ELEMENTS:
        raise WireError("an array with more elements than the grader reads")
    return tuple(shape)


class Blobs:
    """The blobs of one frame: read-only to the decoder, each a view of the received buffer.

    `buffer(i)` is blob i as a byte view, made once; the first time a blob is viewed its size
    counts against `budget` (the answer's decoded-byte budget), later views of it are free.
    A plain list of bytes-like objects is accepted anywhere a Blobs is (`of`)."""

    def __init__(self, parts, budget=None):
        self.parts = parts
        self.budget = budget
        self.views = {}
        self.decoded = 0

    @classmethod
    def of(cls, blobs):
        if isinstance(blobs, Blobs):
            return blobs
        if type(blobs) not in (list, tuple):
            raise WireError("a value names a blob that was not sent")
        return cls(blobs)

    def __len__(self):
        return len(self.parts)

    def __getitem__(self, index):
        return self.parts[index]

    def __iter__(self):
        return iter(self.parts)

    def buffer(self, index):
        if type(index) is not int or not 0 <= index < len(self.parts):
            raise WireError("a value names a blob that was not sent")
        view = self.views.get(index)
        if view is None:
            try:
                view = memoryview(self.parts[index])
                view = view if view.format == "B" and view.ndim == 1 else view.cast("B")
            except (TypeError, ValueError):
                raise WireError("a value names a blob that was not sent") from None
            if self.budget is not None and self.decoded + view.nbytes > self.budget:
                raise WireError("the answer holds more array bytes than the grader reads")
            self.decoded += view.nbytes
            self.views[index] = view
        return view


def load_blob(blobs, index, dtype, shape=()):
    """The array a node names: a view of blob `index` as `dtype` and `shape` (never a copy:
    writable when the received buffer is), or WireError when the dtype is not allowed, the
    shape is out of bounds or the sizes disagree."""
    table = Blobs.of(blobs)
    dtype = check_dtype(dtype)
    shape = check_shape(shape)
    view = table.buffer(index)
    count = math.prod(shape)
    if count * dtype.itemsize != view.nbytes:
        raise WireError("an array whose bytes do not match its shape")
    return np.frombuffer(view, dtype=dtype).reshape(shape)


def blob_table(sizes, payload, budget=None):
    """Split `payload` into blobs of the given sizes: views of it, no copy (WireError when
    they disagree). budget: the most bytes a decoder may read from them (default: all)."""
    if type(sizes) is not list or len(sizes) > MAX_BLOBS or \
            not all(type(s) is int and s >= 0 for s in sizes) or sum(sizes) != len(payload):
        raise WireError("the blob sizes do not match the payload")
    whole, parts, at = memoryview(payload), [], 0
    for size in sizes:
        parts.append(whole[at:at + size])
        at += size
    return Blobs(parts, len(payload) if budget is None else budget)


class Limits:
    """How much a decoded value may hold: nodes, depth, the size of ints and texts, and the
    bytes of distinct blobs it views (aliases are free)."""

    def __init__(self, max_nodes=20000, max_depth=32, max_int=2 ** 62, max_bytes=1 << 24, max_text=MAX_TEXT):
        self.max_nodes, self.max_depth, self.max_int = max_nodes, max_depth, max_int
        self.max_bytes, self.max_text = max_bytes, max_text


def decode(node, blobs, limits=None, callables=None):
    """The value of a node sent by the other side, strictly: every node is checked against
    the schema above, arrays are views of the blobs, and anything else is a WireError.
    callables: function(name) -> callable for {"fn": name} nodes (None: refused)."""
    limits = limits or Limits()
    table = Blobs.of(blobs)
    count = [0]
    start = table.decoded

    def array(value, scalar):
        data = load_blob(table, *value)
        if table.decoded - start > limits.max_bytes:
            raise WireError("the value holds more array bytes than the grader reads")
        return data[()] if scalar else data

    def walk(node, depth):
        count[0] += 1
        if count[0] > limits.max_nodes or depth > limits.max_depth:
            raise WireError("the value has too many parts")
        if type(node) is not dict or len(node) != 1:
            raise WireError("a malformed value")
        (kind, value), = node.items()
        if kind == "a" and type(value) is list and len(value) == 3:
            return array(value, False)
        if kind == "g" and type(value) is list and len(value) == 2:
            return array(value, True)
        if kind == "f" and type(value) is float:
            return value
        if kind == "i" and type(value) is int and abs(value) <= limits.max_int:
            return value
        if kind == "b" and type(value) is bool:
            return value
        if kind == "s" and type(value) is str and len(value) <= limits.max_text:
            return value
        if kind in ("n", "o") and type(value) is int and value == 0:
            return None if kind == "n" else Opaque()
        if kind in ("l", "t") and type(value) is list:
            items = [walk(v, depth + 1) for v in value]
            return items if kind == "l" else tuple(items)
        if kind == "d" and type(value) is list and all(
                type(p) is list and len(p) == 2 and type(p[0]) is str and len(p[0]) <= limits.max_text for p in value):
            return {k: walk(v, depth + 1) for k, v in value}
        if kind == "fn" and type(value) is str and callables is not None:
            return callables(value)
        raise WireError("a malformed value")

    return walk(node, 0)


class Opaque:
    """Something the sender could not encode (an object that is not a number or an array)."""


# ---------------------------------------------------------------------------- headers
def answer_fields(header):
    """The fields of the runner's answer to a command, checked: "error" None or {"type",
    "text"} (texts cut to their bounds), "warnings" a list of [category, text], "result" a
    value node (read later by values.result_value), "changed" a list of argument indices.
    WireError when any is malformed."""
    error = header.get("error")
    if error is not None:
        if type(error) is not dict or not set(error) <= {"type", "text"} or \
                not all(type(error.get(k, "")) is str for k in ("type", "text")):
            raise WireError(MALFORMED_ANSWER)
        error = {"type": error.get("type", "")[:MAX_NAME], "text": error.get("text", "")[:MAX_TEXT]}
    warnings = header.get("warnings", [])
    if type(warnings) is not list or len(warnings) > 20 or not all(
            type(w) is list and len(w) == 2 and all(type(t) is str for t in w) for w in warnings):
        raise WireError(MALFORMED_ANSWER)
    warnings = [[category[:MAX_NAME], text[:MAX_TEXT]] for category, text in warnings]
    result = header.get("result", {"n": 0})
    changed = header.get("changed", [])
    if type(result) is not dict or type(changed) is not list or len(changed) > 256 or \
            not all(type(k) is int for k in changed):
        raise WireError(MALFORMED_ANSWER)
    return {"error": error, "warnings": warnings, "result": result, "changed": changed}


def call_fields(header):
    """(name, args node) of the runner's call of a given helper, checked (WireError)."""
    name, args = header.get("call"), header.get("args")
    if type(name) is not str or len(name) > MAX_NAME or type(args) is not dict:
        raise WireError(MALFORMED_CALL)
    return name, args


class CaseBounds:
    """How large the arguments of a given helper's call may be in one case.

    A helper computes on what the case's function derives from the case's inputs (the
    activations of layer l of an mlp_forward case are (samples, units of layer l)): every
    dimension it meets is a dimension of an input array, or a size the case names as an int
    (a layer size of train's `layer_sizes`). So a call's arrays may have at most `ndim`
    dimensions of at most `dim` each, at most `arrays` of them (aliases counted each time:
    the helper computes on each), and its ints (an int, a NumPy integer, a 0-d integer
    array: what a helper may use as a size, like one_hot's num_classes) at most `integer`.
    A call that does not fit fails the case (HELPER_BOUNDS) before the helper runs: the
    parent never computes more than such a case can need (a (7000, 0) array in a case of
    (5, 3) arrays cannot ask for a (7000, 7000) product)."""

    SMALL_INT = 256        # a bare int argument counts as a size up to this (epochs or a seed may be larger)

    def __init__(self, dim, ndim, arrays, integer):
        self.dim, self.ndim, self.arrays, self.integer = dim, ndim, arrays, integer

    @classmethod
    def of(cls, *trees):
        """The bounds of a case from its placed argument trees (the parent's own, values.place:
        {"m": [offset, dtype, shape]} for each array)."""
        dims, ndim, nodes = [1], 2, [0]

        def walk(node, nested):
            nodes[0] += 1
            if type(node) is not dict or len(node) != 1:
                return
            (kind, value), = node.items()
            if kind == "m":
                dims.extend(value[2])
                nonlocal ndim
                ndim = max(ndim, len(value[2]))
            elif kind == "i" and (nested or abs(value) <= cls.SMALL_INT):
                dims.append(abs(value))
            elif kind in ("l", "t"):
                for item in value:
                    walk(item, nested is not None)
            elif kind == "d":
                for _, item in value:
                    walk(item, False)

        for tree in trees:
            walk(tree, None)   # the top level: the positional args' tuple, the kwargs' dict
        dim = min(max(dims), MAX_DIM)
        return cls(dim, min(ndim, MAX_NDIM), 4 * nodes[0] + 16, max(dim, cls.SMALL_INT))

    def check(self, tree, blobs):
        """None when the call's argument tree fits; WireError (HELPER_BOUNDS, or
        MALFORMED_CALL) otherwise. The tree is walked as sent, nothing is computed."""
        table = Blobs.of(blobs)
        state = {"nodes": 0, "arrays": 0}

        def integer(n):
            if abs(int(n)) > self.integer:
                raise WireError(HELPER_BOUNDS)

        def walk(node, depth):
            state["nodes"] += 1
            if state["nodes"] > 20000 or depth > 32 or type(node) is not dict or len(node) != 1:
                raise WireError(MALFORMED_CALL)
            (kind, value), = node.items()
            if kind in ("a", "g"):
                if type(value) is not list or len(value) != (3 if kind == "a" else 2):
                    raise WireError(MALFORMED_CALL)
                shape = value[2] if kind == "a" else []
                if type(shape) is not list:
                    raise WireError(MALFORMED_CALL)
                state["arrays"] += 1
                if state["arrays"] > self.arrays or len(shape) > self.ndim or \
                        not all(type(n) is int and 0 <= n <= self.dim for n in shape):
                    raise WireError(HELPER_BOUNDS)
                if not shape:
                    data = load_blob(table, value[0], value[1], [] if kind == "a" else ())
                    if data.dtype.kind in "iu":
                        integer(data[()])
            elif kind == "i":
                if type(value) is not int:
                    raise WireError(MALFORMED_CALL)
                integer(value)
            elif kind in ("l", "t"):
                if type(value) is not list:
                    raise WireError(MALFORMED_CALL)
                for item in value:
                    walk(item, depth + 1)
            elif kind == "d":
                if type(value) is not list or not all(type(p) is list and len(p) == 2 for p in value):
                    raise WireError(MALFORMED_CALL)
                for _, item in value:
                    walk(item, depth + 1)
            elif kind not in ("f", "b", "s", "n", "o"):
                raise WireError(MALFORMED_CALL)

        try:
            walk(tree, 0)
        except WireError as exc:
            if str(exc) not in (HELPER_BOUNDS, MALFORMED_CALL):
                raise WireError(MALFORMED_CALL) from None
            raise


# ---------------------------------------------------------------------------- frames
def frame(header, blobs=()):
    """The bytes of one frame: the header (with the "sizes" of the blobs) and the blobs."""
    return json.dumps(dict(header, sizes=[len(b) for b in blobs])).encode() + b"\n" + b"".join(blobs)


def send(fd, header, blobs=()):
    """Write one frame to a blocking fd (the runner's side)."""
    view = memoryview(frame(header, blobs))
    while view:
        written = os.write(fd, view)
        view = view[written:]


class Reader:
    """Reads frames from a file descriptor with a deadline, never more than the limits.
    A frame's payload is copied once out of the stream's buffer; its blobs are views of it."""

    def __init__(self, fd, max_payload):
        self.fd, self.max_payload = fd, max_payload
        self.buffer = bytearray()

    def _fill(self, deadline):
        """Read what is available; False at the deadline or at the end of the stream."""
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return False
        ready, _, _ = select.select([self.fd], [], [], left)
        if not ready:
            return False
        chunk = os.read(self.fd, 1 << 20)
        if not chunk:
            raise EOFError
        self.buffer += chunk
        return True

    def read(self, deadline=None):
        """(header dict, Blobs) of the next frame; None at the deadline.
        Raises EOFError when the stream ends and WireError on a frame out of bounds."""
        searched = 0
        while (end := self.buffer.find(b"\n", searched)) < 0:
            searched = len(self.buffer)
            if searched > MAX_HEADER:
                raise WireError(f"a header longer than {MAX_HEADER} bytes")
            if not self._fill(deadline):
                return None
        if end > MAX_HEADER:
            raise WireError(f"a header longer than {MAX_HEADER} bytes")
        line = bytes(self.buffer[:end])
        del self.buffer[:end + 1]
        try:
            header = json.loads(line)
        except (ValueError, RecursionError):
            return {}, Blobs([])
        if not isinstance(header, dict):
            return {}, Blobs([])
        sizes = header.get("sizes", [])
        if type(sizes) is not list or len(sizes) > MAX_BLOBS or not all(type(s) is int and s >= 0 for s in sizes):
            raise WireError("a frame with malformed sizes")
        size = sum(sizes)
        if size > self.max_payload:
            raise WireError(f"a result larger than {self.max_payload} bytes")
        while len(self.buffer) < size:
            if not self._fill(deadline):
                return None
        payload = self.buffer[:size]
        del self.buffer[:size]
        return header, blob_table(sizes, payload)
