"""Judging one returned value against the expected one, in the trusted parent.

Values come from `values.read_result` (tagged trees of arrays). A comparison checks the form
the contract allows (ndarray or not, shape, dtype kind, finite), then the numbers with
|got - expected| <= atol + rtol * |expected|, and explains a mismatch: the largest errors, the
first index that differs, and a likely mistake when one matches (transposed, off by a
constant factor, sign flipped, wrong only at z = 0, or a named mistake of the lab's).
"""
from dataclasses import dataclass

import numpy as np


class Mismatch(Exception):
    """A returned value that is not what the contract asks for; the message says why."""


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
            raise Mismatch(f"{where}: returned a {describe_tag(tag)}, expected an ndarray")
        wanted = "f" if kind == "float_array" else "iu"
        if data.dtype.kind not in wanted:
            raise Mismatch(f"{where}: dtype {data.dtype}, expected "
                           + ("a float dtype (float64)" if kind == "float_array" else "an integer dtype"))
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
    """None when got matches expected, else a one-paragraph explanation."""
    got = np.asarray(got)
    if got.shape != expected.shape:
        hint = " (the transpose of the expected shape)" if got.shape == expected.T.shape and got.ndim == 2 else ""
        return f"{where}: shape {got.shape}, expected {expected.shape}{hint}"
    got_f = got.astype(float)
    if not np.all(np.isfinite(got_f)) and np.all(np.isfinite(expected)):
        bad = ~np.isfinite(got_f)
        return f"{where}: {int(bad.sum())} value(s) are not finite (nan or inf), first at index {first_bad_index(bad)}"
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
    return (f"{where}: {int((~close).sum())} of {close.size} values differ; max abs error {np.nanmax(err):.3g}, "
            f"max rel error {rel_text}; first at index {shown}: "
            f"expected {expected[index]:.6g}, got {got_f[index]:.6g}")


def likely_mistake(got, expected, rtol, atol, factors=(), zero_mask=None):
    """A guess at a common mistake that turns expected into got, or None."""
    got = np.asarray(got, dtype=float)
    if got.ndim == 2 and got.shape == expected.T.shape and got.shape != expected.shape:
        if np.allclose(got, expected.T, rtol=rtol, atol=atol):
            return "the result is transposed"
        return None
    if got.shape != expected.shape or not np.all(np.isfinite(got)):
        return None
    if np.any(expected) and np.allclose(got, -expected, rtol=rtol, atol=atol):
        return "the sign is flipped"
    if zero_mask is not None and np.any(zero_mask):
        if np.allclose(got[~zero_mask], expected[~zero_mask], rtol=rtol, atol=atol):
            return "wrong only where z = 0: check the tie (< against <=)"
    if got.ndim == 2 and got.shape[0] == got.shape[1] and got.shape[0] > 1 \
            and np.allclose(got, expected.T, rtol=rtol, atol=atol):
        return "the result is transposed"
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
