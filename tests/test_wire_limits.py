"""A parent that student data cannot exhaust (issue 17, item 5): each defence of wire.py,
session.py, grading.serve and Grader.import_problem against a hostile input that beats it
when the defence is taken away.

- dtypes: an exact allow-list (float64, float32, int64, int32, bool); anything else is a
  clean refusal, never a TypeError out of NumPy ("<f3");
- shapes: bounded dimensions and element counts, zero-size arrays included;
- alias bombs: one blob named by many nodes is viewed, never copied per node (results and
  helper calls), within a decoded-byte budget;
- given helpers: a call is held to its case's sizes before the reference runs (a (7000, 0)
  pair cannot ask for a (7000, 7000) product), its result to a size limit after, and the
  bounds are sound: every call a correct submission makes in every case of the lab fits;
- headers: every field the parent uses is checked; a malformed one fails the case;
- import failures: student source is parsed only under a size cap, and a source the compiler
  cannot hold (RecursionError, MemoryError) gets the generic line; SyntaxError reporting
  still works for a normal file.
"""
import json
import os
import threading
import time
import tracemalloc
import types

import numpy as np
import pytest

from autograder import grading, labs, values
from autograder.catalogue import Catalogue
from autograder.config import DEFAULTS
from autograder.given import Planner
from autograder.sandbox import runner, session, strategies, wire

MiB = 1 << 20


def received(header, blobs):
    """(header, Blobs) as the parent's Reader gets them from a pipe."""
    r, w = os.pipe()
    data = wire.frame(header, blobs)
    writer = threading.Thread(target=lambda: [os.write(w, data[i:i + 65536]) for i in range(0, len(data), 65536)])
    writer.start()
    try:
        frame = wire.Reader(r, DEFAULTS.max_result_bytes).read(time.monotonic() + 10)
    finally:
        writer.join()
        os.close(r), os.close(w)
    return frame


def traced_peak(function):
    """(result, peak bytes Python allocated while `function` ran)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        return function(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ------------------------------------------------------------------------------ dtypes and shapes
@pytest.mark.parametrize("dtype", ["<f3", "<f2", "<f16", "<c16", "<u1", "<u8", "<i2", "|i1", ">f8", "=f8",
                                   "<M8[s]", "|V8", "|O", "f8", "", "<f8 ", ["<f8"], 8, None])
def test_only_the_five_dtypes_are_read_and_any_other_is_a_clean_refusal(dtype):
    table = wire.blob_table([8], bytearray(8))
    with pytest.raises(wire.WireError):   # never a TypeError out of np.dtype
        wire.load_blob(table, 0, dtype, [1])
    with pytest.raises(wire.WireError):
        wire.decode({"a": [0, dtype, [1]]}, table)
    assert values.result_value({"a": [0, dtype, [1]]}, table).tag == "object"
    assert values.result_value({"g": [0, dtype]}, table).tag == "object"


@pytest.mark.parametrize("array", [np.arange(3.0), np.arange(3.0, dtype=np.float32), np.arange(3),
                                   np.arange(3, dtype=np.int32), np.array([True, False, True])])
def test_what_a_correct_or_wrong_dtype_submission_returns_still_reaches_the_judge(array):
    """float64, float32, int64, int32 and bool decode with their dtype (so the judge can say
    "dtype int64, expected float64"); a big-endian float64 crosses as little-endian."""
    header, blobs = received({"result": wire.encode((array, array.astype(">f8")), out := [])}, out)
    node = values.result_value(header["result"], blobs)
    assert node.items[0].tag == "nd" and node.items[0].data.dtype == array.dtype
    assert np.array_equal(node.items[0].data, array)
    assert node.items[1].data.dtype == np.float64 and np.array_equal(node.items[1].data, array)
    assert values.result_value(header["result"], blobs).items[0].data.flags.writeable


def test_other_number_dtypes_come_back_as_objects():
    for array in (np.arange(3, dtype=np.uint8), np.arange(3, dtype=np.float16), np.arange(3) * 1j):
        assert wire.encode(array, []) == {"o": 0}
    assert wire.encode(np.float16(1), []) == {"o": 0} and wire.encode(np.int64(3), [])["g"][1] == "<i8"


@pytest.mark.parametrize("shape", [[0, 404478, 2949978], [0] * 9, [1 << 25], [1 << 13] * 2 + [0], [-1], [2.0], "3", [True]])
def test_shapes_have_bounded_dimensions_and_element_counts(shape):
    table = wire.blob_table([0], bytearray())
    with pytest.raises(wire.WireError):
        wire.load_blob(table, 0, "<f8", shape)
    assert values.result_value({"a": [0, "<f8", shape]}, table).tag == "object"


def test_a_zero_size_array_within_the_bounds_still_decodes():
    table = wire.blob_table([0], bytearray())
    assert wire.load_blob(table, 0, "<f8", [0, 3]).shape == (0, 3)


# ------------------------------------------------------------------------------ alias bombs
BLOB = np.zeros(1 << 18).tobytes()   # 2 MiB
ALIAS = {"a": [0, "<f8", [1 << 18]]}


def test_an_alias_bomb_in_a_result_costs_its_blob_once():
    """1,600 nodes naming one 2 MiB blob: 3.2 GB when each node was a copy; views cost nothing."""
    header, blobs = received({"result": {"l": [ALIAS] * 1600}}, [BLOB])
    node, peak = traced_peak(lambda: values.result_value(header["result"], blobs))
    assert len(node.items) == 1600 and all(np.shares_memory(n.data, node.items[0].data) for n in node.items[:3])
    assert peak < 4 * MiB, peak
    assert blobs.decoded == len(BLOB)   # the budget counts the blob once


def test_an_alias_bomb_in_a_helper_call_costs_its_blob_once():
    args = {"l": [{"l": [{"l": [ALIAS] * 1600}]}, {"d": []}]}
    header, blobs = received({"call": "m.f", "args": args}, [BLOB])
    (reply, _), peak = traced_peak(lambda: grading.serve({"m.f": lambda arrays: len(arrays)}, header, blobs))
    assert reply == {"error": None, "result": {"i": 1600}}
    assert peak < 4 * MiB, peak


def test_the_decoded_byte_budget_counts_distinct_blobs_only():
    table = wire.blob_table([MiB, MiB], bytearray(2 * MiB))
    one = {"a": [0, "<f8", [MiB // 8]]}
    assert len(wire.decode({"l": [one] * 500}, table, wire.Limits(max_bytes=MiB))) == 500
    with pytest.raises(wire.WireError, match="more array bytes"):
        wire.decode({"l": [one, {"a": [1, "<f8", [MiB // 8]]}]}, wire.blob_table([MiB, MiB], bytearray(2 * MiB)),
                    wire.Limits(max_bytes=MiB))
    small = wire.blob_table([MiB, MiB], bytearray(2 * MiB), budget=MiB)
    assert values.result_value(one, small).tag == "nd"
    assert values.result_value({"a": [1, "<f8", [MiB // 8]]}, small).tag == "object"   # over the answer's budget


def test_a_frame_with_too_many_blobs_or_a_long_header_is_refused():
    r, w = os.pipe()
    os.write(w, json.dumps({"sizes": [0] * (wire.MAX_BLOBS + 1)}).encode() + b"\n")
    with pytest.raises(wire.WireError, match="malformed sizes"):
        wire.Reader(r, 100).read(time.monotonic() + 1)
    os.close(r), os.close(w)
    r, w = os.pipe()
    line = b'{"x": "' + b"y" * (wire.MAX_HEADER + 10) + b'"}\n'
    writer = threading.Thread(target=lambda: [os.write(w, line[i:i + 65536]) for i in range(0, len(line), 65536)])
    writer.start()
    reader = wire.Reader(r, 100)
    reader.buffer += b"{}"   # the stream already holds part of the line
    with pytest.raises(wire.WireError, match="header longer"):
        reader.read(time.monotonic() + 5)
    os.close(r)
    writer.join(timeout=0.1)
    os.close(w)
    writer.join()
    reader = wire.Reader(r, 100)   # a line that arrives whole in one read, longer than the limit
    reader.buffer += b'{"x": "' + b"y" * wire.MAX_HEADER + b'"}\n'
    with pytest.raises(wire.WireError, match="header longer"):
        reader.read(time.monotonic() + 1)


# ------------------------------------------------------------------------------ given helpers: bounds
@pytest.fixture(scope="module")
def reference(lab):
    return lab.reference()


@pytest.fixture(scope="module")
def lab_cases(lab, reference):
    return lab.make_cases(DEFAULTS, reference)


def bounds_of(case):
    placed = values.place(bytearray(values.input_bytes([case.args, case.kwargs]) + 64), case.args, case.kwargs)
    return wire.CaseBounds.of(placed.args, placed.kwargs), placed


def call_tree(args, kwargs=None):
    blobs = []
    return wire.encode([list(args), dict(kwargs or {})], blobs), blobs


def test_a_helper_call_outside_the_case_sizes_is_refused_before_the_helper_runs(lab_cases, reference):
    """The red team's dense_forward on two (7000, 0) arrays (a 392 MB product from a 56 KB
    request) in an mlp_forward case of (n, 2..5) arrays; a class count, a 0-d array used as
    one and a fan-out of aliased layers likewise."""
    case = next(c for c in lab_cases if c.function == "mlp.mlp_forward")
    bounds, _ = bounds_of(case)
    X, params, activations = case.args
    hostile = [call_tree([np.zeros((7000, 0)), np.zeros((7000, 0)), 0.0]),
               call_tree([np.zeros(3, dtype=np.int64), 10 ** 6]),
               call_tree([np.zeros(3, dtype=np.int64), np.int64(10 ** 6)]),
               call_tree([np.zeros(3, dtype=np.int64), np.array(10 ** 6)]),
               call_tree([X, [params[0]] * 1000, activations * 1000]),
               call_tree([np.zeros((1, 1, 1, 1, 1))])]
    for tree, blobs in hostile:
        with pytest.raises(wire.WireError) as refused:
            bounds.check(tree, blobs)
        assert str(refused.value) == wire.HELPER_BOUNDS
    tree, blobs = call_tree([X, *params[0]])
    assert bounds.check(tree, blobs) is None


def test_the_session_fails_the_case_before_serving_a_call_out_of_bounds(tmp_path, lab_cases, reference):
    """Through the session: the reference's dense_forward never runs (it would make 392 MB
    in the parent), the sandbox is stopped and the case fails with the parent's phrase."""
    case = next(c for c in lab_cases if c.function == "mlp.mlp_forward")
    _, placed = bounds_of(case)
    tree, _ = call_tree([np.zeros((7000, 0)), np.zeros((7000, 0)), 0.0])
    served = []
    s = stub_session(tmp_path, {"case": [{"token": "TOKEN", "call": "mlp.dense_forward", "args": tree,
                                          "_blobs": [[0, 0]]}]})
    helpers = {"mlp.dense_forward": reference["mlp"].dense_forward}
    try:
        started = time.monotonic()
        outcome, peak = traced_peak(lambda: s.run(
            {"target": {}, "args": placed.args, "kwargs": placed.kwargs, "plan": {}}, 10,
            serve=lambda header, blobs: served.append(1) or grading.serve(helpers, header, blobs)))
        assert outcome.status == "crash" and outcome.error_text == wire.HELPER_BOUNDS and not served
        assert peak < 8 * MiB and time.monotonic() - started < 5 and not s.alive
    finally:
        s.dispose()


def test_a_helper_result_over_the_limit_fails_the_case(tmp_path):
    tree, _ = call_tree([1.0])
    s = stub_session(tmp_path, {"case": [{"token": "TOKEN", "call": "m.f", "args": tree}]})
    try:
        big = {"error": None, "result": {"a": [0, "|b1", [DEFAULTS.max_result_bytes + 1]]}}
        outcome = s.run({"target": {}, "args": {"t": [{"f": 1.0}]}, "kwargs": {"d": []}, "plan": {}}, 10,
                        serve=lambda header, blobs: (big, [bytes(DEFAULTS.max_result_bytes + 1)]))
        assert outcome.status == "crash" and outcome.error_text == wire.HELPER_RESULT
    finally:
        s.dispose()


class Checked:
    """The runner's channel, in-process: every call a given proxy makes is encoded as the
    runner encodes it, held to the case's bounds (the test fails if it does not fit), served
    by grading.serve on views of a received buffer, and decoded as the runner decodes it."""

    def __init__(self, bounds, helpers):
        self.bounds, self.helpers, self.calls = bounds, helpers, 0

    def call(self, name, args, kwargs):
        tree, blobs = call_tree(args, kwargs)
        self.bounds.check(tree, blobs)
        self.calls += 1
        reply, out = grading.serve(self.helpers, {"call": name, "args": tree},
                                   wire.blob_table([len(b) for b in blobs], bytearray(b"".join(blobs))))
        assert reply["error"] is None, (name, reply)
        return wire.decode(reply["result"], wire.blob_table([len(b) for b in out], bytearray(b"".join(out))))


def test_the_bounds_admit_every_call_a_correct_submission_makes_in_every_case(lab, lab_cases, reference):
    """Soundness: a correct submission (the reference's own code) in every case that is given
    helpers or a test function, with every helper that is not public text proxied to the
    parent (the most calls a plan can make), through the runner's own patching (runner.Given)."""
    planner = Planner(lab.reference_dir, lab.modules)
    student = labs.exec_modules(lab.reference_sources(), "correct_student")
    checked = calls = 0
    for case in lab_cases:
        bounds, placed = bounds_of(case)
        if not case.given and not placed.callables:   # no call can come from this case
            continue
        plan = planner.plan(case.given, case.function, lambda name: False)
        helpers = {name: runner.resolve(reference, dict(zip(("module", "attr"), name.split("."))))
                   for name, mode in plan["names"].items() if mode == "call"}
        helpers.update(placed.callables)
        channel = Checked(bounds, helpers)
        given = runner.Given(student, channel)
        arena = bytearray(values.input_bytes([case.args, case.kwargs]) + 64)
        placed = values.place(arena, case.args, case.kwargs)
        args = runner.load_args(placed.args, arena, given.proxy)
        kwargs = runner.load_args(placed.kwargs, arena, given.proxy)
        undo = given.patch(plan)
        try:
            with np.errstate(all="ignore"):
                runner.resolve(student, case.call_target())(*args, **kwargs)
        finally:
            runner.Given.unpatch(undo)
        checked += 1
        calls += channel.calls
    assert checked > 50 and calls > 1000, (checked, calls)


# ------------------------------------------------------------------------------ headers and the helper server
@pytest.mark.parametrize("header", [{"call": ["mlp", "dense_forward"], "args": {"l": []}}, {"call": {"x": 1}},
                                    {"call": None}, {"call": "m.f", "args": {"l": [{"a": [0, "<f3", [1]]}, {"d": []}]}},
                                    {"call": "m.f", "args": {"l": [{"l": []}, {"d": []}, {"l": []}]}},
                                    {"call": "m.f", "args": {"l": [{"l": [{"fn": "argument.f0"}]}, {"d": []}]}},
                                    {"call": "m.f", "args": [1, 2]}, {"call": "m.f"}, {"call": "m.f", "args": {"d": [[1, {"n": 0}]]}}])
def test_the_helper_server_answers_anything_with_a_reply_never_an_exception(header):
    reply, out = grading.serve({"m.f": lambda *a, **k: 0.0}, header, wire.blob_table([8], bytearray(8)))
    assert isinstance(reply.get("error"), str) and out == []


@pytest.mark.parametrize("answer", [{"error": ["ValueError"]}, {"error": {"type": 1}}, {"error": "boom"},
                                    {"error": None, "warnings": {"a": 1}}, {"error": None, "warnings": [["a"]]},
                                    {"error": None, "result": [1]}, {"error": None, "changed": "0"},
                                    {"error": {"type": "E", "text": "t", "more": 1}},
                                    {"call": ["m", "f"], "args": {"l": []}}, {"call": "m.f", "args": "x"}])
def test_a_malformed_answer_or_call_fails_the_case_in_the_parents_words(tmp_path, answer):
    s = stub_session(tmp_path, {"case": [dict(answer, token="TOKEN", done=True)]})
    try:
        outcome = s.run({"target": {}, "args": {"t": []}, "kwargs": {"d": []}, "plan": {}}, 5,
                        serve=lambda header, blobs: grading.serve({}, header, blobs))
        assert outcome.status == "crash" and outcome.error_text in (wire.MALFORMED_ANSWER, wire.MALFORMED_CALL)
    finally:
        s.dispose()


def test_a_well_formed_answer_keeps_its_fields(tmp_path):
    s = stub_session(tmp_path, {"case": [{"token": "TOKEN", "done": True, "warnings": [["RuntimeWarning", "x" * 9000]],
                                          "error": {"type": "E" * 500, "text": "t"}}]})
    try:
        outcome = s.run({"target": {}, "args": {"t": []}, "kwargs": {"d": []}, "plan": {}}, 5)
        assert outcome.status == "error" and outcome.error_type == "E" * wire.MAX_NAME and outcome.error_text == "t"
        assert outcome.warnings == [["RuntimeWarning", "x" * wire.MAX_TEXT]]
    finally:
        s.dispose()


# ------------------------------------------------------------------------------ the stub runner
STUB = '''
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire
reader = wire.Reader(0, 1 << 26)
spec, _ = reader.read()
out = spec["wire_fd"]
SCRIPT = json.loads(__SCRIPT__)
while True:
    frame = reader.read()
    if frame is None:
        break
    command, _ = frame
    token = command["token"]
    for header in SCRIPT.get(command["op"], []):
        header = json.loads(json.dumps(header).replace("TOKEN", token))
        blobs = [bytes(n) for n in [s for pair in header.pop("_blobs", []) for s in pair]]
        wire.send(out, header, blobs)
        if "call" in header:
            reply, blobs = reader.read()
            wire.send(out, {"token": token, "done": True, "error": None, "result": reply.get("result", {"n": 0})}, blobs)
'''


def stub_session(tmp_path, script):
    folder = tmp_path / "runner"
    session.copy_runner(folder)
    (folder / "runner.py").write_text(STUB.replace("__SCRIPT__", repr(json.dumps(script))))
    (tmp_path / "submission").mkdir()
    s = session.Session(strategies.STRATEGIES["rlimits"], DEFAULTS, tmp_path / "submission", tmp_path, folder)
    assert s.start()
    return s


# ------------------------------------------------------------------------------ import failures
def problem(tmp_path, source, error_type, broken=(), **kwargs):
    (tmp_path / "m.py").write_bytes(source if isinstance(source, bytes) else source.encode())
    grader = types.SimpleNamespace(settings=DEFAULTS, submission=types.SimpleNamespace(folder=tmp_path),
                                   lab=types.SimpleNamespace(modules=["up", "m"]), broken={b: "x" for b in broken})
    outcome = session.Outcome("error", error_type)
    return Catalogue("en").cause(grading.Grader.import_problem(grader, "m", outcome, **kwargs))   # what the status says


def test_a_syntax_error_in_a_normal_file_is_still_located(tmp_path):
    assert problem(tmp_path, "x = 1\ndef f(:\n", "SyntaxError") == "m.py: SyntaxError: invalid syntax (line 2)"
    assert problem(tmp_path, "import up\nraise ImportError\n", "ImportError", broken=["up"]) == \
        "m.py imports up.py, which could not be imported"


def test_a_large_source_is_not_parsed_in_the_parent(tmp_path):
    """Over the cap the parent does not compile (18 MB took 120 s and 9 GB): the generic line."""
    source = "x = 1\n" * 30000 + "def f(:\n"     # 180 KB with a SyntaxError at the end
    started = time.monotonic()
    assert problem(tmp_path, source, "SyntaxError") == "m.py raised SyntaxError while importing"
    assert time.monotonic() - started < 0.2
    assert problem(tmp_path, source, "SyntaxError", max_parse_bytes=1 << 20).startswith("m.py: SyntaxError")


@pytest.mark.parametrize("source", ["x = " + "a." * 60000 + "b\n", "x = 1" + " + 1" * 30000 + "\n",
                                    "x = " + "-" * 60000 + "1\n"])
def test_a_source_the_compiler_cannot_hold_gets_the_generic_line(tmp_path, source):
    """A deeply nested expression raises RecursionError (or MemoryError) in ast.parse."""
    assert problem(tmp_path, source, "SyntaxError") == "m.py raised SyntaxError while importing"


def test_the_parent_parses_only_for_a_syntax_or_import_error(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(grading.ast, "parse", lambda *a, **k: calls.append(1))
    assert problem(tmp_path, "x = 1\n", "ValueError") == "m.py raised ValueError while importing"
    assert problem(tmp_path, "x = 1\n", "ImportError") == "m.py raised ImportError while importing"
    assert not calls
