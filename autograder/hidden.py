"""What a hidden case may say: fixed phrases and the contract's public facts, nothing measured.

A hidden case's inputs are what the grade keeps secret, and everything its result carries
(shapes, sizes, the factor between got and expected, the number of items, the entries of a
list) is chosen by student code that may have read those inputs. So the message of a hidden
case is rebuilt here, in the parent, from a closed vocabulary:
- which output: the contract's item ("result[1]" of a tuple form); never an index that the
  result or the inputs determine (a layer of a list of pairs, the first index that differs);
- what kind of failure: one phrase of KINDS ("wrong shape", "values differ", ...);
- a likely mistake only when it is a named one: one of the lab's known mistakes, a factor the
  case names ("off by a factor of N"), or a phrase of the grader's without a number (never
  "off by a constant factor of -0.4045", which measures an input).
Public cases that run in a sandbox that has seen hidden inputs are rewritten the same way
(`grading` marks them). The likely mistake travels as the Finding's field, never parsed back
out of text.
"""
from __future__ import annotations

import re

from .compare import Finding

# (test on the parent's own text of a failure, the fixed phrase it becomes), first match wins
KINDS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"^shape |\bof shape\b|\bpairs, expected\b|\bexpected a 0-d result"), "wrong shape"),
    (re.compile(r"not finite|nan or inf"), "values are not finite (nan or inf)"),
    (re.compile(r"gradient check failed"), "fails the gradient check against central differences"),
    (re.compile(r"^dtype |\bexpected an integer\b"), "wrong dtype"),
    (re.compile(r"values differ"), "values differ from the correct ones"),
    (re.compile(r"\bitems, expected\b|\btuple of \d+ items\b|\bexpected a pair\b|\blist of \(W, b\) pairs"),
     "wrong number or kind of items"),
    (re.compile(r"^nothing came back"), "nothing came back"),
    (re.compile(r"^returned an? "), "returned a value of the wrong type"),
]
FALLBACK = "the result is not what a correct function returns"
# messages of the grader's that carry only settings and names: kept as they are
KEPT = re.compile(r"^(not written yet|took longer than [\d.]+ s|module \w+\.py could not be imported|not run: |"
                  r"Python stopped during the call|"
                  r"counts only when)")
ERROR = re.compile(r"^raised ([A-Za-z]+|an exception|a warning)")
FACTOR = re.compile(r"off by a factor of (1/)?[A-Za-z0-9_]+")
WHERE = re.compile(r"^(result|[A-Za-z_]\w*)((?:\[\d+\])*)$")


def where_of(where: str, case) -> str:
    """The returned item as the contract's form fixes it: the first index of a tuple form."""
    match = WHERE.match(where or "")
    if not match:
        return "result"
    form = getattr(case.check, "form", None)
    first = re.match(r"\[\d+\]", match.group(2) or "")
    keep = first.group(0) if first and form is not None and form.kind == "tuple" else ""
    return match.group(1) + keep


def named(mistake: str, case) -> str:
    """`mistake` when it is a named one (see the module docstring), else ""."""
    from . import cases, compare
    if not mistake:
        return ""
    if mistake in getattr(case.check, "known", {}) or mistake in compare.NAMED_GUESSES or mistake in cases.NAMED_DIAGNOSES \
            or FACTOR.fullmatch(mistake):
        return mistake
    return "" if re.search(r"\d", mistake) else mistake   # another phrase of the grader's own, nothing measured


def kind_of(text: str) -> str:
    for pattern, phrase in KINDS:
        if pattern.search(text):
            return phrase
    return FALLBACK


def rewrite(message, case):
    """The message of a failed case, in the closed vocabulary; the credit and the type of
    the message (a Finding, the in-place deduction's) are kept."""
    from .grading import Misformed, Mutated   # the fixed deductions' message types
    if not message:
        return message
    if isinstance(message, Misformed):   # rebuilt without the student's dtype or type
        where = where_of(str(message).split(":")[0], case)
        return Misformed.of(where, case, message.share, f"{where}: right values in the wrong form")
    if isinstance(message, Mutated):
        argument = re.match(r"modified its input (argument \d+|\w+)", str(message))   # the contract's position or name
        name = argument.group(1) if argument else "an input"
        return Mutated(f"modified its input {name} in place (the value it returned is right): half of "
                       f"{case.name}'s points are deducted, once; inputs must stay unchanged")
    text = message.brief if isinstance(message, Finding) else str(message)
    error = ERROR.match(text)
    if error:   # "raised ValueError: <the student's line>" (a public case's), its advice a field
        tail = "; it must stay warning-free" if text.endswith("warning-free") else ""
        return Finding("", f"raised {error.group(1)}{tail}", "", named(getattr(message, "mistake", ""), case))
    if isinstance(message, Finding):
        return Finding(where_of(message.where, case), kind_of(message.brief), "", named(message.mistake, case), message.credit)
    if KEPT.match(text):
        return text
    where, _, rest = text.partition(": ")
    if rest and WHERE.match(where):
        return Finding(where_of(where, case), kind_of(rest))
    head = re.split(r"[:;(]", text)[0].strip()
    return head if head and not re.search(r"\d", head) else FALLBACK
