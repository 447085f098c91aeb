"""Fuzzing the parent's side of the wall (issue 17, item 5) with hypothesis: whatever bytes
and trees the sandbox sends, the parent answers with a clean, typed refusal (WireError, a
helper reply {"error": ...}, or an Outcome that fails the case), never an exception of its
own, and never holds more than the budget.

Targets: the value decoder (wire.decode), the result-tree decoder (values.result_value over
wire.load_blob), the frame reader (wire.Reader), the header checks, the helper-call bounds
(wire.CaseBounds), the helper-call server (grading.serve), and the whole exchange of one case
(Session.exchange with a scripted stream in place of a sandbox: every frame, call, reply and
answer on the parent's side). The example counts are bounded so that the file runs in a few
seconds.
"""
import json
import math
import os
import threading
import time
import tracemalloc
import types
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import grading, labs, values
from autograder.config import DEFAULTS
from autograder.sandbox import session, wire

FUZZ = settings(max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BIG = 1 << 15                  # float64 elements of the big blob (256 KiB), named by many nodes
TOKEN = "T" * 32

LAB = labs.load_lab("lab17_backprop")
REFERENCE = LAB.reference()
HELPERS = {"mlp.dense_forward": REFERENCE["mlp"].dense_forward, "backprop.one_hot": REFERENCE["backprop"].one_hot,
           "activations.softmax": REFERENCE["activations"].softmax, "mlp.mlp_forward": REFERENCE["mlp"].mlp_forward}
CASE = next(c for c in LAB.make_cases(DEFAULTS, REFERENCE) if c.function == "mlp.mlp_forward")
PLACED = values.place(bytearray(1 << 16), CASE.args, CASE.kwargs)
BOUNDS = wire.CaseBounds.of(PLACED.args, PLACED.kwargs)

# ------------------------------------------------------------------------------ strategies
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(), st.text(max_size=8))
dtypes = st.one_of(st.sampled_from(sorted(wire.DTYPES) + ["<f3", "<f2", "|O", ">f8", "<u1", "<c16", "=f8", "f8", ""]),
                   json_scalars, st.lists(st.text(max_size=3), max_size=2))
dims = st.sampled_from([0, 1, 2, 3, 4, 5, 8, 7000, BIG, 2 ** 24, 2 ** 40, -1])
shapes = st.one_of(st.lists(dims, max_size=4), st.lists(st.sampled_from([0, 1, 2]), min_size=5, max_size=10),
                   st.just([BIG]), st.just([128, 256]), st.just([7000, 0]), st.just([2, 4]), json_scalars)
indices = st.one_of(st.integers(-1, 4), json_scalars)


def single(kind, values_):
    return values_.map(lambda v: {kind: v})


aliases = st.sampled_from([{"a": [0, "<f8", [BIG]]}, {"a": [1, "<f8", [BIG]]}])   # the big blobs, again and again
arrays = st.one_of(st.builds(lambda i, d, s: {"a": [i, d, s]}, st.integers(0, 5), dtypes, shapes),
                   st.builds(lambda i, d: {"g": [i, d]}, st.integers(0, 5), dtypes), aliases)
numbers = st.one_of(single("f", st.floats()), single("i", st.integers(-2 ** 64, 2 ** 64)), single("b", st.booleans()),
                    single("s", st.text(max_size=12)), st.just({"n": 0}), st.just({"o": 0}))
# well-formed trees (every node of a known kind; arrays of any dtype and shape) reach deep
# into the decoders; garbage trees (any JSON anywhere) test the refusals
wellformed = st.recursive(st.one_of(aliases, numbers, arrays), lambda children: st.one_of(
    single("l", st.lists(children, max_size=6)), single("t", st.lists(children, max_size=6)),
    single("d", st.lists(st.tuples(st.text(max_size=4), children).map(list), max_size=4))), max_leaves=40)
leaves = st.one_of(
    st.builds(lambda i, d, s: {"a": [i, d, s]}, indices, dtypes, shapes),
    st.builds(lambda i, d: {"g": [i, d]}, indices, dtypes), arrays, numbers,
    single("n", json_scalars), single("o", json_scalars), single("fn", st.text(max_size=12)),
    st.dictionaries(st.text(max_size=3), json_scalars, max_size=3), json_scalars,
    st.lists(json_scalars, max_size=3))
garbage = st.recursive(leaves, lambda children: st.one_of(
    single("l", st.lists(children, max_size=6)), single("t", st.lists(children, max_size=6)),
    single("d", st.lists(st.tuples(st.text(max_size=4), children).map(list), max_size=4)),
    single("l", children), single("d", st.lists(children, max_size=2)),
    st.lists(children, max_size=3)), max_leaves=40)
trees = st.one_of(wellformed, wellformed, garbage)


@st.composite
def tables(draw):
    """A received frame's blobs: two big blobs (indices 0 and 1), a few small random ones, some empty."""
    parts = [bytes(8 * BIG), bytes(8 * BIG)] + draw(st.lists(st.one_of(st.binary(max_size=40), st.just(bytes(64)), st.just(b"")),
                                             max_size=4))
    return wire.blob_table([len(p) for p in parts], bytearray(b"".join(parts)))


def traced(function, refusals=(wire.WireError,)):
    """(result or the refusal raised, peak bytes Python allocated meanwhile)."""
    tracemalloc.start()
    try:
        try:
            result = function()
        except refusals as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ------------------------------------------------------------------------------ decoders
@FUZZ
@given(trees, tables())
def test_decode_refuses_cleanly_and_stays_within_its_budget(tree, table):
    limits = wire.Limits(max_bytes=12 * BIG)   # one big blob and a little more, never both
    value, peak = traced(lambda: wire.decode(tree, table, limits))
    assert peak < 8 * BIG   # less than one copy of the big blob however often it is named
    if not isinstance(value, wire.WireError):
        assert table.decoded <= limits.max_bytes


@FUZZ
@given(trees, tables())
def test_the_result_tree_decoder_gives_a_value_or_a_clean_refusal(tree, table):
    node, peak = traced(lambda: values.result_value(tree, table), ValueError)   # WireError is one
    assert peak < 8 * BIG
    if isinstance(node, ValueError):
        return
    assert isinstance(node, values.Value)
    for leaf in [node, *node.items]:
        if leaf.tag == "nd":
            assert leaf.data.dtype in wire.DTYPES.values() and leaf.data.size <= wire.MAX_ELEMENTS


@FUZZ
@given(trees, tables())
def test_the_helper_bounds_admit_or_refuse_in_the_parents_words(tree, table):
    try:
        BOUNDS.check(tree, table)
    except wire.WireError as exc:
        assert str(exc) in (wire.HELPER_BOUNDS, wire.MALFORMED_CALL)


headers = st.one_of(
    st.dictionaries(st.sampled_from(["token", "call", "args", "error", "warnings", "result", "changed", "done", "sizes"]),
                    st.one_of(json_scalars, trees, st.lists(st.lists(st.text(max_size=4), max_size=3), max_size=3),
                              st.dictionaries(st.sampled_from(["type", "text", "x"]), json_scalars, max_size=3)),
                    max_size=7),
    st.builds(lambda name, args: {"call": name, "args": {"l": [{"l": args}, {"d": []}]}},
              st.one_of(st.sampled_from(sorted(HELPERS)), json_scalars), st.lists(trees, max_size=3)))


@FUZZ
@given(headers)
def test_the_header_checks_give_fields_or_a_clean_refusal(header):
    for check in (wire.answer_fields, wire.call_fields):
        try:
            check(header)
        except wire.WireError as exc:
            assert str(exc) in (wire.MALFORMED_ANSWER, wire.MALFORMED_CALL)


# ------------------------------------------------------------------------------ the helper server
small_arrays = st.builds(lambda shape, dtype: {"a": [1, dtype, shape]},
                         st.sampled_from([[8], [2, 4], [4, 2], [1, 8], [8, 1]]), st.just("<f8"))


@FUZZ
@given(st.one_of(st.sampled_from(sorted(HELPERS)), json_scalars, st.lists(st.text(max_size=4), max_size=2)),
       st.lists(st.one_of(small_arrays, trees), max_size=4), st.lists(st.tuples(st.text(max_size=5), trees), max_size=2))
def test_the_helper_server_replies_to_anything(name, args, kwargs):
    """Whatever the call (names of any type, trees of any form, arrays the helper cannot
    take), serve replies: the helper's result or {"error": a type name}."""
    parts = [bytes(8 * BIG), np.arange(8.0).tobytes()]
    table = wire.blob_table([len(p) for p in parts], bytearray(b"".join(parts)))
    header = {"call": name, "args": {"l": [{"l": args}, {"d": [list(k) for k in kwargs]}]}}
    reply, out = grading.serve(HELPERS, header, table)
    assert set(reply) <= {"error", "result"} and (reply["error"] is None or isinstance(reply["error"], str))
    assert sum(len(b) for b in out) <= wire.MAX_REPLY_BYTES


# ------------------------------------------------------------------------------ the whole exchange
class Scripted(session.Session):
    """A Session whose sandbox is a scripted stream of bytes (then the end of the stream)."""

    def __init__(self, data):
        self.settings = DEFAULTS
        read, self.write = os.pipe()
        self.writer = threading.Thread(target=self.feed, args=(data,))
        self.writer.start()
        self.answers = wire.Reader(read, DEFAULTS.max_result_bytes)
        self.commands = os.open(os.devnull, os.O_WRONLY)
        self.process = types.SimpleNamespace(poll=lambda: None)

    def feed(self, data):
        for at in range(0, len(data), 65536):
            try:
                os.write(self.write, data[at:at + 65536])
            except OSError:
                break
        os.close(self.write)

    def close(self):
        if self.process is not None:
            self.process = None
            os.close(self.answers.fd)
            os.close(self.commands)
            self.writer.join()


@st.composite
def helper_calls(draw):
    """A well-formed call of one of the case's helpers, of the helper's arity, on arrays of
    hostile sizes (the red team's dense_forward on two (7000, 0) arrays, one_hot asked for a
    million classes), each blob of its shape's size."""
    n = st.sampled_from([0, 5, 7000])
    name = draw(st.sampled_from(["mlp.dense_forward", "backprop.one_hot", "activations.softmax"]))
    rows, k, units = draw(n), draw(st.sampled_from([0, 1, 3])), draw(n)
    shapes = {"mlp.dense_forward": [[rows, k], [units, k], [units]], "backprop.one_hot": [[rows]],
              "activations.softmax": [[rows, units]]}[name]
    nodes, blobs = [], []
    for shape in shapes:
        if 8 * math.prod(shape) > 1 << 20:
            shape[0] = 0
        nodes.append({"a": [len(blobs), "<i8" if name == "backprop.one_hot" else draw(st.sampled_from(["<f8", "<f8", "<f3"])),
                            shape]})
        blobs.append(bytes(8 * math.prod(shape)))
    if name == "backprop.one_hot":
        nodes.append({"i": draw(st.sampled_from([2, 3, 10 ** 6]))})
    header = {"token": TOKEN, "call": name, "args": {"l": [{"l": nodes}, {"d": []}]}, "sizes": [len(b) for b in blobs]}
    return json.dumps(header).encode() + b"\n" + b"".join(blobs)


@st.composite
def frames(draw):
    if draw(st.booleans()):
        return draw(helper_calls())
    header = draw(headers)
    if draw(st.booleans()):
        header["token"] = TOKEN
    payload = draw(st.one_of(st.just(b""), st.binary(max_size=64), st.just(bytes(8 * BIG)), st.just(bytes(64))))
    if draw(st.booleans()):
        header["sizes"] = [len(payload)]
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200)) + b"\n"
    return json.dumps(header).encode() + b"\n" + payload


@settings(FUZZ, max_examples=60)
@given(st.lists(frames(), max_size=5))
def test_any_stream_from_the_sandbox_ends_the_case_cleanly_within_the_budget(stream):
    """Frames of any form (noise, forged tokens, calls of the case's helpers on hostile
    trees, malformed answers, bytes that are not JSON): the exchange returns an Outcome, and
    the parent never holds much more than the stream itself (an alias or a (7000, 0) pair
    would cost hundreds of MB)."""
    fake = Scripted(b"".join(stream))
    with mock.patch.object(session, "secrets", types.SimpleNamespace(token_hex=lambda n: TOKEN)):
        def case():
            outcome = fake.run({"target": {}, "args": PLACED.args, "kwargs": PLACED.kwargs, "plan": {}}, 5,
                               serve=lambda header, blobs: grading.serve(HELPERS, header, blobs))
            node = None
            if outcome.status == "ok":
                try:
                    node = values.result_value(outcome.result, outcome.blobs)
                except ValueError:
                    pass
            return outcome, node
        started = time.monotonic()
        (outcome, node), peak = traced(case, ())
    fake.close()
    assert outcome.status in ("ok", "error", "crash", "timeout") and time.monotonic() - started < 5
    assert peak < 8 * BIG + 2 * len(b"".join(stream)) + (1 << 20), peak
    if outcome.status == "crash":
        assert outcome.error_text in ("", wire.MALFORMED_ANSWER, wire.MALFORMED_CALL, wire.HELPER_BOUNDS,
                                      wire.HELPER_RESULT, "a frame with malformed sizes")
