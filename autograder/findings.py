"""What a judge found, as data: a kind from a closed set, where, parameters, a credit and a
known mistake by key. Never a sentence: every sentence is written from a finding by the
message catalogue (autograder.catalogue), in the reader's language, and nothing reads
rendered text back.

A finding's parameters are numbers, shapes and names the renderer may show for a public case.
For a hidden case the renderer shows only what `Kind.hidden_params` allows (settings and the
contract's names, never a value derived from the case's inputs, its expected value or the
student's result); a mistake is shown there only when it is `named` (see Mistake).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum


class Kind(str, Enum):
    """What went wrong. The value is the catalogue's key ("kind.<value>")."""
    # the returned value
    MISSING = "missing"          # nothing came back
    OBJECT = "object"            # an object that is not a number or an ndarray
    TYPE = "type"                # got: a type tag; wanted: ndarray | array0 | number | sequence | pairs | tuple
    DTYPE = "dtype"              # got: a dtype name; wanted: float | int
    ITEMS = "items"              # got, expected: counts; unit: items | pairs
    PAIR = "pair"                # an item that is not a (W, b) pair
    SHAPE = "shape"              # got, expected: shapes; hint: transposed | reversed | ""
    NOT_FINITE = "not_finite"    # count, index
    VALUES = "values"            # wrong, size, max_abs, max_rel (None: expected 0), index, expected, got
    GRADCHECK = "gradcheck"      # error, tol; of: function | loss; index, numerical, yours (elementwise)
    OUTCOME = "outcome"          # a lab's outcome check: check (the lab's catalogue key) and its parameters
    UNREADABLE = "unreadable"    # a result the parent could not read
    FORM = "form"                # right values in a form the docstring does not allow: got, wanted, share
    # the call
    RAISED = "raised"            # error: an allow-listed exception name; line: the student's line (public only)
    WARNED = "warned"            # warning: an allow-listed name; line (public only)
    NOT_WRITTEN = "not_written"  # raises NotImplementedError
    TIMEOUT = "timeout"          # seconds (a setting)
    CRASHED = "crashed"          # Python stopped during the call
    MUTATED = "mutated"          # argument: the contract's name of the input changed in place
    UNBOUND = "unbound"          # a right outcome from code whose exact cases are wrong
    NOT_RUN = "not_run"          # reason: restarts | no_sandbox | budget | too_early; seconds
    # the module
    IMPORT = "import"            # module; cause: the catalogue's key ("import.<cause>") and its parameters

    @property
    def hidden_params(self) -> frozenset | None:
        """The parameters a hidden case's message may show (settings and the contract's
        names); None: all of them."""
        return HIDDEN_PARAMS.get(self, frozenset())


HIDDEN_PARAMS = {
    Kind.TIMEOUT: frozenset({"seconds"}),
    Kind.NOT_RUN: frozenset({"reason", "seconds"}),
    Kind.MUTATED: frozenset({"argument"}),
    Kind.RAISED: frozenset({"error"}),
    Kind.WARNED: frozenset({"warning"}),
    Kind.DTYPE: frozenset({"wanted"}),
    Kind.TYPE: frozenset({"wanted"}),
    Kind.FORM: frozenset({"wanted", "share"}),
    Kind.IMPORT: None,   # every parameter: the student's own file, judged before any case ran
    Kind.OUTCOME: frozenset({"check"}),
    Kind.GRADCHECK: frozenset({"of"}),
}


@dataclass(frozen=True)
class Mistake:
    """A likely mistake by key: one of the catalogue's ("transposed", "factor", ...) or a lab's
    known mistake (key "known", param text: the lab's wording, its own catalogue key).
    named: the mistake says nothing measured, so a hidden case may show it ("off by a
    factor of N" names the contract's N; "off by a constant factor of 0.6667" measures)."""
    key: str
    params: tuple = ()
    named: bool = True

    def param(self, name, default=None):
        return dict(self.params).get(name, default)

    @property
    def identity(self) -> str:
        """"transposed", "factor:N" or "known:<wording>": the mistake as a lab's bank records it."""
        extra = {"known": "text", "factor": "name"}.get(self.key)
        return f"{self.key}:{self.param(extra)}" if extra else self.key


@dataclass(frozen=True)
class Finding:
    """A failed case's verdict. where: the returned item ("result", "result[1]",
    "result[0][1]") or "" for the call as a whole; params: (name, value) pairs (see Kind);
    credit: the share of the case still earned (the right items of a tuple)."""
    kind: Kind
    where: str = ""
    params: tuple = ()
    mistake: Mistake | None = None
    credit: float = 0.0

    def __post_init__(self):
        if not isinstance(self.kind, Kind):
            raise TypeError(f"a finding's kind is a Kind, not {type(self.kind).__name__}")

    def param(self, name, default=None):
        return dict(self.params).get(name, default)

    def with_mistake(self, mistake: Mistake | None) -> Finding:
        return replace(self, mistake=mistake or self.mistake)

    def with_credit(self, credit: float) -> Finding:
        return replace(self, credit=credit)

    def hidden(self) -> Finding:
        """The same finding with only what a hidden case may show (see the module docstring)."""
        allowed = self.kind.hidden_params
        mistake = self.mistake if self.mistake is not None and self.mistake.named else None
        params = self.params if allowed is None else tuple((k, v) for k, v in self.params if k in allowed)
        return Finding(self.kind, self.where, params, mistake, self.credit)


def finding(kind: Kind, where: str = "", mistake: Mistake | None = None, credit: float = 0.0, **params) -> Finding:
    """Finding(kind, where, params as keywords)."""
    return Finding(kind, where, tuple(params.items()), mistake, credit)


def mistake(key: str, named: bool = True, **params) -> Mistake:
    return Mistake(key, tuple(params.items()), named)


def known(text: str) -> Mistake:
    """A lab's known mistake: its wording is its key in the lab's catalogue."""
    return Mistake("known", (("text", text),))


class Mismatch(Exception):
    """A returned value that is not what the contract asks for; carries its Finding."""

    def __init__(self, found: Finding):
        super().__init__(found.kind.value)
        self.finding = found
