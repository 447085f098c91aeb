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

The parent decodes what the runner sends with `decode` and its limits: a dtype must be a plain
number type (bool, int, uint, float, complex: never object or structured), a blob's size must
be its shape's, and the node count, the depth and the bytes are bounded. Nothing the runner
sends is executed or shown as it is.
"""
import json
import math
import os
import re
import select
import time

import numpy as np

MAX_HEADER = 1 << 20   # bytes of one JSON header line


class WireError(ValueError):
    """A frame or a value that does not follow this format (the message is the parent's own)."""


# ---------------------------------------------------------------------------- values
def encode(value, blobs, functions=None, depth=0):
    """JSON node for `value`; arrays are appended to `blobs` as .npy bytes.
    functions: {id(callable): name} of callables to send by name (else they are objects)."""
    if depth > 50:
        return {"o": 0}
    if isinstance(value, np.ndarray):
        array = np.asarray(value, order="C")   # a plain ndarray, whatever the subclass claims
        if array.dtype.hasobject or array.dtype.kind not in "biufc":
            return {"o": 0}
        blobs.append(array.tobytes())
        return {"a": [len(blobs) - 1, array.dtype.str, list(array.shape)]}
    if isinstance(value, (bool, np.bool_)):
        return {"b": bool(value)}
    if isinstance(value, np.generic):
        array = np.asarray(value)
        if array.dtype.kind not in "iufc":
            return {"o": 0}
        blobs.append(array.tobytes())
        return {"g": [len(blobs) - 1, array.dtype.str]}
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


NUMBER_DTYPE = re.compile(r"^[<>|=][biufc]\d{1,2}$")


def load_blob(blobs, index, dtype, shape=()):
    """The array a node names: a writable copy of blob `index` as `dtype` and `shape`, or
    WireError when the dtype is not a plain number type or the sizes disagree."""
    if type(index) is not int or not 0 <= index < len(blobs):
        raise WireError("a value names a blob that was not sent")
    if type(dtype) is not str or not NUMBER_DTYPE.match(dtype):
        raise WireError("an array that is not of a number type")
    if not isinstance(shape, list) and shape != () or len(shape) > 32 or \
            not all(type(n) is int and 0 <= n < 2 ** 40 for n in shape):
        raise WireError("an array with a malformed shape")
    dtype = np.dtype(dtype)
    count = math.prod(shape)
    if count * dtype.itemsize != len(blobs[index]):
        raise WireError("an array whose bytes do not match its shape")
    return np.frombuffer(bytearray(blobs[index]), dtype=dtype).reshape(shape)


def blob_table(sizes, payload):
    """Split `payload` into blobs of the given sizes (raises WireError when they disagree)."""
    if not isinstance(sizes, list) or not all(type(s) is int and s >= 0 for s in sizes) \
            or sum(sizes) != len(payload):
        raise WireError("the blob sizes do not match the payload")
    blobs, at = [], 0
    for size in sizes:
        blobs.append(payload[at:at + size])
        at += size
    return blobs


class Limits:
    """How much a decoded value may hold."""

    def __init__(self, max_nodes=20000, max_depth=32, max_int=2 ** 62):
        self.max_nodes, self.max_depth, self.max_int = max_nodes, max_depth, max_int


def decode(node, blobs, limits=None, callables=None):
    """The value of a node sent by the other side, strictly: every node is checked, arrays are
    loaded with allow_pickle=False and object dtypes are refused (WireError).
    callables: function(name) -> callable for {"fn": name} nodes (None: refused)."""
    limits = limits or Limits()
    count = [0]

    def walk(node, depth):
        count[0] += 1
        if count[0] > limits.max_nodes or depth > limits.max_depth:
            raise WireError("the value has too many parts")
        if not isinstance(node, dict) or len(node) != 1:
            raise WireError("a malformed value")
        (kind, value), = node.items()
        if kind == "a" and isinstance(value, list) and len(value) == 3:
            return load_blob(blobs, *value)
        if kind == "g" and isinstance(value, list) and len(value) == 2:
            return load_blob(blobs, *value)[()]
        if kind == "f" and type(value) is float:
            return value
        if kind == "i" and type(value) is int and abs(value) <= limits.max_int:
            return value
        if kind == "b" and type(value) is bool:
            return value
        if kind == "s" and type(value) is str:
            return value
        if kind == "n":
            return None
        if kind in ("l", "t") and isinstance(value, list):
            items = [walk(v, depth + 1) for v in value]
            return items if kind == "l" else tuple(items)
        if kind == "d" and isinstance(value, list) and all(
                isinstance(p, list) and len(p) == 2 and type(p[0]) is str for p in value):
            return {k: walk(v, depth + 1) for k, v in value}
        if kind == "fn" and type(value) is str and callables is not None:
            return callables(value)
        if kind == "o":
            return Opaque()
        raise WireError("a malformed value")

    return walk(node, 0)


class Opaque:
    """Something the sender could not encode (an object that is not a number or an array)."""


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
    """Reads frames from a file descriptor with a deadline, never more than the limits."""

    def __init__(self, fd, max_payload):
        self.fd, self.max_payload = fd, max_payload
        self.buffer = b""

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
        """(header dict, blobs) of the next frame; None at the deadline.
        Raises EOFError when the stream ends and WireError on a frame out of bounds."""
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_HEADER:
                raise WireError(f"a header longer than {MAX_HEADER} bytes")
            if not self._fill(deadline):
                return None
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            header = json.loads(line)
        except (ValueError, RecursionError):
            return {}, []
        if not isinstance(header, dict):
            return {}, []
        sizes = header.get("sizes", [])
        if not isinstance(sizes, list) or not all(type(s) is int and s >= 0 for s in sizes):
            raise WireError("a frame with malformed sizes")
        size = sum(sizes)
        if size > self.max_payload:
            raise WireError(f"a result larger than {self.max_payload} bytes")
        while len(self.buffer) < size:
            if not self._fill(deadline):
                return None
        payload, self.buffer = self.buffer[:size], self.buffer[size:]
        return header, blob_table(sizes, payload)
