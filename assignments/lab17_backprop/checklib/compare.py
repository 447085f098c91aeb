"""Judging one returned value against the expected one, in the trusted parent.

Values come from `values.read_result` (tagged trees of arrays). A comparison checks the form
the contract allows (ndarray or not, shape, dtype kind, finite), then the numbers with
|got - expected| <= atol + rtol * |expected|, and explains a mismatch: the largest errors, the
first index that differs, and a likely mistake when one matches (transposed, off by a
constant factor, sign flipped, wrong only at z = 0, or a named mistake of the lab's).

A judge's message is a `Finding`: the full text (with values, for public cases and the TA),
which also knows its parts, so that feedback can show a hidden case without its values.
`leaf_names` puts a message in the contract's words (dW, grads[1][0], losses) and
`error_advice` turns an exception raised by student code into advice about its shapes.
"""
import contextvars
import re
from dataclasses import dataclass

import numpy as np


class Mismatch(Exception):
    """A returned value that is not what the contract asks for; the message says why."""


class WrongForm(Mismatch):
    """A value in a form the contract does not allow, whose numbers may still be right: an
    integer or bool dtype, or a (nested) list of numbers, where a float ndarray is asked.
    `numbers`: those numbers as a float64 array, so that a judge can tell "values right, form
    wrong" (judged again under `LENIENT`) from a wrong value."""

    def __init__(self, message, numbers):
        super().__init__(message)
        self.numbers = numbers


LENIENT = contextvars.ContextVar("lenient_form", default=False)   # True: plain() accepts a WrongForm's numbers


def list_numbers(node):
    """A list or tuple node of numbers (nested, rectangular) as a float64 array, else None."""
    if node.is_sequence:
        items = [list_numbers(item) for item in node.items]
        if not items or any(i is None for i in items) or len({i.shape for i in items}) != 1:
            return None
        return np.array(items, dtype=float)
    if node.tag in ("float", "int", "bool", "npscalar") and node.data.dtype.kind in "fiub":
        return np.asarray(node.data, dtype=float)
    return None


def wrong_form(message, numbers):
    """The numbers when judging leniently, else raise WrongForm."""
    if LENIENT.get():
        return numbers
    raise WrongForm(message, numbers)


class Finding(str):
    """A judge's message: "where: brief; detail. Likely mistake: mistake".

    where: the returned item ("result[1]", "grads[0][0]"); brief: what is wrong, with no value
    of the case's inputs or expected result (shapes, counts and indices only); detail: the
    numbers (largest errors, expected beside got); mistake: the likely mistake, or "".
    str(finding) is the full text; `without_values()` is safe to show for a hidden case.
    """

    def __new__(cls, where, brief, detail="", mistake="", credit=0.0):
        text = (f"{where}: " if where else "") + brief + (f"; {detail}" if detail else "") \
            + (f". Likely mistake: {mistake}" if mistake else "")
        self = super().__new__(cls, text)
        self.where, self.brief, self.detail, self.mistake = where, brief, detail, mistake
        self.credit = credit   # the share of the case still earned (the right items of a tuple)
        return self

    def __reduce__(self):  # results cross from the forked workers by pickle
        return (Finding, (self.where, self.brief, self.detail, self.mistake, self.credit))

    def with_mistake(self, mistake):
        return Finding(self.where, self.brief, self.detail, mistake or self.mistake, self.credit)

    def with_credit(self, credit):
        return Finding(self.where, self.brief, self.detail, self.mistake, credit)

    def without_values(self):
        return Finding(self.where, self.brief, "", self.mistake, self.credit)


@dataclass(frozen=True)
class Form:
    """What a returned node must look like.

    kind: "float_array" (an ndarray of a real floating dtype), "int_array" (integer dtype),
    "array0" (a 0-d ndarray or NumPy scalar), "scalar" (a float, int or 0-d NumPy value),
    "int" (a Python or NumPy integer), "sequence" (a list or 1-D ndarray of numbers),
    "pairs" (a list or tuple of 2-tuples of float arrays), "tuple" (a tuple, items in `items`).
    """
    kind: str
    items: tuple = ()


FLOAT_ARRAY, INT_ARRAY, ARRAY0 = Form("float_array"), Form("int_array"), Form("array0")
SCALAR, SEQUENCE, PAIRS, INT = Form("scalar"), Form("sequence"), Form("pairs"), Form("int")


def tuple_of(*items):
    return Form("tuple", items)


def plain(node, form, where):
    """The ndarray inside `node`, checked against `form` (raises Mismatch)."""
    tag, data = node.tag, node.data
    if tag == "missing":
        raise Mismatch(f"{where}: nothing came back")
    if tag == "object":
        raise Mismatch(f"{where}: returned an object that is not a number or an ndarray")
    kind = form.kind
    if kind in ("float_array", "int_array"):
        if tag != "nd":
            message = f"{where}: returned a {describe_tag(tag)}, expected an ndarray"
            numbers = list_numbers(node) if kind == "float_array" else None
            if numbers is not None and numbers.ndim:
                return wrong_form(message, numbers)
            raise Mismatch(message)
        wanted = "f" if kind == "float_array" else "iu"
        if data.dtype.kind not in wanted:
            message = (f"{where}: dtype {data.dtype}, expected "
                       + ("a float dtype (float64)" if kind == "float_array" else "an integer dtype"))
            if kind == "float_array" and data.dtype.kind in "iub":
                return wrong_form(message, data.astype(float))
            raise Mismatch(message)
        return data
    if kind == "array0":
        if tag not in ("nd", "npscalar") or data.shape != ():
            raise Mismatch(f"{where}: returned a {describe_tag(tag)} of shape {shape_of(node)}, expected a 0-d result")
        return data
    if kind in ("scalar", "int"):
        if tag not in ("float", "int", "npscalar", "nd") or data.shape != ():
            raise Mismatch(f"{where}: returned a {describe_tag(tag)}, expected a single number")
        if kind == "int" and data.dtype.kind not in "iu":
            raise Mismatch(f"{where}: returned {data.dtype}, expected an integer")
        return data
    if kind == "sequence":
        if tag == "nd" and data.ndim == 1:
            return data
        if tag in ("list", "tuple"):
            return np.array([plain(item, SCALAR, f"{where}[{i}]") for i, item in enumerate(node.items)], dtype=float)
        raise Mismatch(f"{where}: returned a {describe_tag(tag)}, expected a list or a 1-D array")
    raise ValueError(f"no plain form {kind!r}")


def describe_tag(tag):
    return {"nd": "ndarray", "npscalar": "NumPy scalar", "list": "list", "tuple": "tuple",
            "float": "float", "int": "int", "bool": "bool", "none": "None"}.get(tag, tag)


def shape_of(node):
    return getattr(node.data, "shape", None)


def flatten(node, form, where="result"):
    """[(where, ndarray)] for every leaf of node, in a fixed order, checked against form."""
    if form.kind == "pairs":
        if not node.is_sequence:
            raise Mismatch(f"{where}: returned a {describe_tag(node.tag)}, expected a list of (W, b) pairs")
        leaves = []
        for i, pair in enumerate(node.items):
            if not pair.is_sequence or len(pair.items) != 2:
                raise Mismatch(f"{where}[{i}]: expected a pair (2-tuple)")
            leaves += [(f"{where}[{i}][{j}]", plain(pair.items[j], FLOAT_ARRAY, f"{where}[{i}][{j}]")) for j in range(2)]
        return leaves
    if form.kind == "tuple":
        if not node.is_sequence or len(node.items) != len(form.items):
            raise Mismatch(f"{where}: expected a tuple of {len(form.items)} items, got "
                           + (f"{len(node.items)} items" if node.is_sequence else f"a {describe_tag(node.tag)}"))
        leaves = []
        for i, (item, sub) in enumerate(zip(node.items, form.items)):
            leaves += flatten(item, sub, f"{where}[{i}]")
        return leaves
    return [(where, plain(node, form, where))]


def expected_leaves(value, form, where="result"):
    """The same flattening for the reference's (trusted, in-process) value."""
    if form.kind == "pairs":
        return [(f"{where}[{i}][{j}]", np.asarray(pair[j], dtype=float)) for i, pair in enumerate(value) for j in range(2)]
    if form.kind == "tuple":
        leaves = []
        for i, (item, sub) in enumerate(zip(value, form.items)):
            leaves += expected_leaves(item, sub, f"{where}[{i}]")
        return leaves
    return [(where, np.asarray(value))]


def first_bad_index(bad):
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return index if index else "()"


def numbers_differ(got, expected, rtol, atol, where):
    """None when got matches expected, else a `Finding` that explains the difference."""
    got = np.asarray(got)
    if got.shape != expected.shape:
        hint = " (the transpose of the expected shape)" if got.shape == expected.T.shape and got.ndim == 2 else ""
        return Finding(where, f"shape {got.shape}, expected {expected.shape}{hint}")
    got_f = got.astype(float)
    if not np.all(np.isfinite(got_f)) and np.all(np.isfinite(expected)):
        bad = ~np.isfinite(got_f)
        return Finding(where, f"{int(bad.sum())} value(s) are not finite (nan or inf), first at index {first_bad_index(bad)}")
    with np.errstate(all="ignore"):
        close = np.isclose(got_f, expected, rtol=rtol, atol=atol, equal_nan=True)
        if close.all():
            return None
        err = np.abs(got_f - expected)
        rel = np.where(expected != 0, err / np.where(expected != 0, np.abs(expected), 1.0), np.nan)
        wrong_rel = np.where(close, np.nan, rel)
        rel_text = f"{np.nanmax(wrong_rel):.3g}" if np.any(np.isfinite(wrong_rel)) else "n/a (expected 0)"
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    shown = index if index else "()"
    return Finding(where, f"{int((~close).sum())} of {close.size} values differ",
                   f"max abs error {np.nanmax(err):.3g}, max rel error {rel_text}; first at index {shown}: "
                   f"expected {expected[index]:.6g}, got {got_f[index]:.6g}")


TRANSPOSED, SIGN_FLIPPED, ALL_ZERO = "the result is transposed", "the sign is flipped", "every value is 0"
ONLY_AT_ZERO = "wrong only where z = 0: check the tie (< against <=)"
NAMED_GUESSES = frozenset({TRANSPOSED, SIGN_FLIPPED, ALL_ZERO, ONLY_AT_ZERO})   # likely_mistake's fixed phrases


def likely_mistake(got, expected, rtol, atol, factors=(), zero_mask=None):
    """A guess at a common mistake that turns expected into got, or None."""
    got = np.asarray(got, dtype=float)
    if got.ndim == 2 and got.shape == expected.T.shape and got.shape != expected.shape:
        if np.allclose(got, expected.T, rtol=rtol, atol=atol):
            return TRANSPOSED
        return None
    if got.shape != expected.shape or not np.all(np.isfinite(got)):
        return None
    if np.any(expected) and np.allclose(got, -expected, rtol=rtol, atol=atol):
        return SIGN_FLIPPED
    if zero_mask is not None and np.any(zero_mask):
        if np.allclose(got[~zero_mask], expected[~zero_mask], rtol=rtol, atol=atol):
            return ONLY_AT_ZERO
    if got.ndim == 2 and got.shape[0] == got.shape[1] and got.shape[0] > 1 \
            and np.allclose(got, expected.T, rtol=rtol, atol=atol):
        return TRANSPOSED
    if not np.any(got) and np.any(expected):
        return ALL_ZERO
    nonzero = np.abs(expected) > 1e-12
    if nonzero.sum() >= 1:
        ratio = got[nonzero] / expected[nonzero]
        c = float(np.median(ratio))
        if abs(c - 1) > 1e-6 and np.allclose(got, c * expected, rtol=max(rtol, 1e-9), atol=atol):
            for name, value in factors:
                if np.isclose(c, value, rtol=1e-6):
                    return f"off by a factor of {name}"
                if np.isclose(c, 1.0 / value, rtol=1e-6):
                    return f"off by a factor of 1/{name}"
            return f"off by a constant factor of {c:.4g}"
    return None


# ---------------------------------------------------------------------------- the contract's words
RETURNS_TUPLE = re.compile(r"\bReturns\s+\(\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)+)\s*\)")
RETURNS_NAME = re.compile(r"\bReturns\s+([A-Za-z_]\w*)(?=\s*[:,]|\s+(?:of|shaped)\b)")
ARTICLES = {"a", "an", "the", "one", "two", "it", "its"}


def result_names_from_doc(doc):
    """The names a docstring gives the returned value: "Returns (dA_prev, dW, db): ..." gives
    ("dA_prev", "dW", "db"), "Returns grads: ..." or "Returns Z of shape ..." gives ("grads",)
    or ("Z",); () when it names none ("Returns a float64 array ...")."""
    doc = doc or ""
    match = RETURNS_TUPLE.search(doc)
    if match:
        return tuple(name.strip() for name in match.group(1).split(","))
    match = RETURNS_NAME.search(doc)
    if match and match.group(1).lower() not in ARTICLES:
        return (match.group(1),)
    return ()


RESULT_PATH = re.compile(r"\bresult((?:\[\d+\])*)(?=[\[:])|\bresult((?:\[\d+\])+)")
ARGUMENT_PATH = re.compile(r"\b(?:input )?argument (\d+)((?:\[\d+\])*)")


def leaf_name(path, names, form):
    """"result" + path ("[1][0]") in the contract's words: dW, grads[1][0], losses, cache[0][1].
    Unnamed items stay positional but readable: "item 1 of the result"."""
    indices = [int(i) for i in re.findall(r"\[(\d+)\]", path)]
    rest = lambda k: "".join(f"[{i}]" for i in indices[k:])
    if form is not None and form.kind == "tuple":
        if names and len(names) == len(form.items) and indices:
            return names[indices[0]] + rest(1) if indices[0] < len(names) else f"item {indices[0]} of the result"
    elif len(names) == 1:
        return names[0] + rest(0)
    if not indices:
        return "result"
    if form is not None and form.kind == "pairs" and len(indices) == 2:
        return f"{'Wb'[indices[1]] if indices[1] < 2 else 'item ' + str(indices[1])} of layer {indices[0] + 1} in the result"
    if len(indices) == 1:
        return f"item {indices[0]} of the result"
    return f"item {rest(0)} of the result"


def leaf_names(text, names=(), form=None, arg_names=()):
    """`text` with "result[1][0]" and "argument 2[0][0]" replaced by the contract's names."""
    def result(match):
        return leaf_name(match.group(1) or match.group(2) or "", tuple(names), form)

    def argument(match):
        k = int(match.group(1)) - 1
        name = arg_names[k] if 0 <= k < len(arg_names) else f"argument {k + 1}"
        return f"input {name}{match.group(2)}" if match.group(0).startswith("input") else f"{name}{match.group(2)}"
    return ARGUMENT_PATH.sub(argument, RESULT_PATH.sub(result, str(text)))


def error_advice(error):
    """Advice for an exception text raised by student code ("ValueError: operands could not be
    broadcast together with shapes (4,3) (4,)"), from what the error says, or ""."""
    error = str(error)
    shapes = [tuple(int(n) for n in re.findall(r"\d+", s)) for s in re.findall(r"\(([\d,\s]*)\)", error)]
    if "could not be broadcast" in error:
        if len(shapes) >= 2 and any(len(a) == len(b) + 1 and a[:-1] == b for a in shapes for b in shapes):
            return ("a sum or max over the last axis lost that axis, so it no longer lines up with the rows: "
                    "keep it with keepdims=True (or index with [:, None])")
        return "two arrays of shapes that do not fit were combined elementwise: print their shapes and compare them with the docstring"
    if "matmul" in error or "not aligned" in error or "mismatch in its core dimension" in error:
        return ("the shapes of a matrix product do not fit: compare each factor's shape with the docstring "
                "and check which one needs a transpose")
    if "index" in error and "out of bounds" in error:
        return "an index runs past the end of an axis: check which axis each index is meant for"
    return ""
