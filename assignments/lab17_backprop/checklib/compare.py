"""Judging one returned value against the expected one, in the trusted parent.

Values come from `values.read_result` (tagged trees of arrays). A comparison checks the form
the contract allows (ndarray or not, shape, dtype kind, finite), then the numbers with
|got - expected| <= atol + rtol * |expected|, and explains a mismatch: the largest errors, the
first index that differs, and a likely mistake when one matches (transposed, off by a
constant factor, sign flipped, wrong only at z = 0, or a named mistake of the lab's).

A judge's verdict is a `Finding` (autograder.findings): data, which the message catalogue
renders in the reader's language, with values for a public case and without for a hidden one.
`leaf_name` names a returned item in the contract's words (dW, grads[1][0], losses) and
`error_advice` turns an exception raised by student code into advice about its shapes.
"""
import contextvars
import re
from dataclasses import dataclass

import numpy as np

from .findings import Finding, Kind, Mismatch, Mistake, finding, mistake

__all__ = ["Finding", "Kind", "Mismatch", "Mistake", "WrongForm"]


class WrongForm(Mismatch):
    """A value in a form the contract does not allow, whose numbers may still be right: an
    integer or bool dtype, or a (nested) list of numbers, where a float ndarray is asked.
    `numbers`: those numbers as a float64 array, so that a judge can tell "values right, form
    wrong" (judged again under `LENIENT`) from a wrong value."""

    def __init__(self, found, numbers):
        super().__init__(found)
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


def wrong_form(found, numbers):
    """The numbers when judging leniently, else raise WrongForm (with its Finding)."""
    if LENIENT.get():
        return numbers
    raise WrongForm(found, numbers)


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
        raise Mismatch(finding(Kind.MISSING, where))
    if tag == "object":
        raise Mismatch(finding(Kind.OBJECT, where))
    kind = form.kind
    if kind in ("float_array", "int_array"):
        if tag != "nd":
            found = finding(Kind.TYPE, where, got=describe_tag(tag), wanted="ndarray")
            numbers = list_numbers(node) if kind == "float_array" else None
            if numbers is not None and numbers.ndim:
                return wrong_form(found, numbers)
            raise Mismatch(found)
        wanted = "f" if kind == "float_array" else "iu"
        if data.dtype.kind not in wanted:
            found = finding(Kind.DTYPE, where, got=str(data.dtype), wanted="float" if kind == "float_array" else "int")
            if kind == "float_array" and data.dtype.kind in "iub":
                return wrong_form(found, data.astype(float))
            raise Mismatch(found)
        return data
    if kind == "array0":
        if tag not in ("nd", "npscalar") or data.shape != ():
            raise Mismatch(finding(Kind.TYPE, where, got=describe_tag(tag), shape=shape_of(node), wanted="array0"))
        return data
    if kind in ("scalar", "int"):
        if tag not in ("float", "int", "npscalar", "nd") or data.shape != ():
            raise Mismatch(finding(Kind.TYPE, where, got=describe_tag(tag), wanted="number"))
        if kind == "int" and data.dtype.kind not in "iu":
            raise Mismatch(finding(Kind.DTYPE, where, got=str(data.dtype), wanted="int"))
        return data
    if kind == "sequence":
        if tag == "nd" and data.ndim == 1:
            return data
        if tag in ("list", "tuple"):
            return np.array([plain(item, SCALAR, f"{where}[{i}]") for i, item in enumerate(node.items)], dtype=float)
        raise Mismatch(finding(Kind.TYPE, where, got=describe_tag(tag), wanted="sequence"))
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
            raise Mismatch(finding(Kind.TYPE, where, got=describe_tag(node.tag), wanted="pairs"))
        leaves = []
        for i, pair in enumerate(node.items):
            if not pair.is_sequence or len(pair.items) != 2:
                raise Mismatch(finding(Kind.PAIR, f"{where}[{i}]"))
            leaves += [(f"{where}[{i}][{j}]", plain(pair.items[j], FLOAT_ARRAY, f"{where}[{i}][{j}]")) for j in range(2)]
        return leaves
    if form.kind == "tuple":
        if not node.is_sequence or len(node.items) != len(form.items):
            raise Mismatch(finding(Kind.ITEMS, where, got=len(node.items) if node.is_sequence else None,
                                   got_type=describe_tag(node.tag), expected=len(form.items), unit="items"))
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
    return tuple(int(i) for i in np.argwhere(bad)[0])


def numbers_differ(got, expected, rtol, atol, where):
    """None when got matches expected, else a `Finding` that explains the difference."""
    got = np.asarray(got)
    if got.shape != expected.shape:
        hint = "transposed" if got.shape == expected.T.shape and got.ndim == 2 else ""
        return finding(Kind.SHAPE, where, got=got.shape, expected=expected.shape, hint=hint)
    got_f = got.astype(float)
    if not np.all(np.isfinite(got_f)) and np.all(np.isfinite(expected)):
        bad = ~np.isfinite(got_f)
        return finding(Kind.NOT_FINITE, where, count=int(bad.sum()), index=first_bad_index(bad))
    with np.errstate(all="ignore"):
        close = np.isclose(got_f, expected, rtol=rtol, atol=atol, equal_nan=True)
        if close.all():
            return None
        err = np.abs(got_f - expected)
        rel = np.where(expected != 0, err / np.where(expected != 0, np.abs(expected), 1.0), np.nan)
        wrong_rel = np.where(close, np.nan, rel)
        max_rel = float(np.nanmax(wrong_rel)) if np.any(np.isfinite(wrong_rel)) else None
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    return finding(Kind.VALUES, where, wrong=int((~close).sum()), size=int(close.size), max_abs=float(np.nanmax(err)),
                   max_rel=max_rel, index=index, expected=float(expected[index]), got=float(got_f[index]))


TRANSPOSED, SIGN_FLIPPED = Mistake("transposed"), Mistake("sign_flipped")
# (no "every value is 0": on the bank it named the real mistake in 1 of 5 submissions; the values say it)
ONLY_AT_ZERO = Mistake("only_at_zero")


def likely_mistake(got, expected, rtol, atol, factors=(), zero_mask=None):
    """A guess at a common mistake that turns expected into got (a Mistake), or None."""
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
    nonzero = np.abs(expected) > 1e-12
    if nonzero.sum() >= 1:
        ratio = got[nonzero] / expected[nonzero]
        c = float(np.median(ratio))
        if abs(c - 1) > 1e-6 and np.allclose(got, c * expected, rtol=max(rtol, 1e-9), atol=atol):
            for name, value in factors:
                if np.isclose(c, value, rtol=1e-6):
                    return mistake("factor", name=name)
                if np.isclose(c, 1.0 / value, rtol=1e-6):
                    return mistake("factor", name=f"1/{name}")
            return mistake("constant_factor", named=False, value=float(c))
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


def leaf_name(path, names, form, say):
    """"result" + path ("[1][0]") in the contract's words: dW, grads[1][0], losses, cache[0][1].
    Unnamed items stay positional but readable, in the catalogue's words (`say(key, **params)`):
    "item 1 of the result"."""
    indices = [int(i) for i in re.findall(r"\[(\d+)\]", path)]
    rest = lambda k: "".join(f"[{i}]" for i in indices[k:])
    if form is not None and form.kind == "tuple":
        if names and len(names) == len(form.items) and indices:
            return names[indices[0]] + rest(1) if indices[0] < len(names) else say("where.item", item=indices[0])
    elif len(names) == 1:
        return names[0] + rest(0)
    if not indices:
        return "result"
    if form is not None and form.kind == "pairs" and len(indices) == 2:
        return say("where.layer", item="Wb"[indices[1]] if indices[1] < 2 else str(indices[1]), layer=indices[0] + 1)
    if len(indices) == 1:
        return say("where.item", item=indices[0])
    return say("where.item", item=rest(0))


def error_advice(error):
    """Advice (a Mistake) for an exception text raised by student code ("ValueError: operands
    could not be broadcast together with shapes (4,3) (4,)"), from what the error says, or None."""
    error = str(error)
    shapes = [tuple(int(n) for n in re.findall(r"\d+", s)) for s in re.findall(r"\(([\d,\s]*)\)", error)]
    if "could not be broadcast" in error:
        if len(shapes) >= 2 and any(len(a) == len(b) + 1 and a[:-1] == b for a in shapes for b in shapes):
            return Mistake("keepdims")
        return Mistake("broadcast")
    if "matmul" in error or "not aligned" in error or "mismatch in its core dimension" in error:
        return Mistake("matmul")
    if "index" in error and "out of bounds" in error:
        return Mistake("index")
    return None
