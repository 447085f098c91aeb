"""What a hidden case may say: its finding's kind, the contract's names and settings, nothing measured.

A hidden case's inputs are what the grade keeps secret, and everything its result carries
(shapes, sizes, the factor between got and expected, the number of items, the entries of a
list) is chosen by student code that may have read those inputs. So a hidden case's finding
keeps only:
- which output: the contract's item ("result[1]" of a tuple form); never an index that the
  result or the inputs determine (a layer of a list of pairs, the first index that differs);
- what kind of failure: its Kind, rendered by the catalogue's hidden.<kind> sentence;
- the parameters its kind allows (Kind.hidden_params: settings such as a time limit, the
  contract's name of an argument, an allow-listed exception name);
- a likely mistake only when it is named (findings.Mistake.named: one of the lab's known
  mistakes, a factor the case names, a diagnosis of the grader's own), never one that measures
  ("every value is 0.6667 times the correct one").
Public cases that run in a sandbox that has seen hidden inputs are rewritten the same way
(`grading` marks them). The catalogue renders what is left; no text is parsed.
"""
from __future__ import annotations

import re

from .findings import Finding

WHERE = re.compile(r"^(result|[A-Za-z_]\w*)((?:\[\d+\])*)$")


def where_of(where: str, case) -> str:
    """The returned item as the contract's form fixes it: the first index of a tuple form."""
    if not where:
        return ""
    match = WHERE.match(where)
    if not match:
        return "result"
    form = getattr(case.check, "form", None)
    first = re.match(r"\[\d+\]", match.group(2) or "")
    keep = first.group(0) if first and form is not None and form.kind == "tuple" else ""
    return match.group(1) + keep


def rewrite(message: Finding | None, case) -> Finding | None:
    """The finding of a failed case with only what a hidden case may say; the credit is kept."""
    if message is None:
        return None
    kept = message.hidden()
    params = tuple((k, top_name(v) if k == "argument" else v) for k, v in kept.params)
    return Finding(kept.kind, where_of(kept.where, case), params, kept.mistake, kept.credit)


def top_name(argument) -> str:
    """The contract's name of an argument ("params"), without the indices into it that the
    inputs' structure decides ("params[2][0]")."""
    return re.match(r"[^\[]*", str(argument)).group(0) or "an input"
