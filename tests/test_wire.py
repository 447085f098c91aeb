"""The boundary's data path, piece by piece: arguments out through the shared arena, results
and helper calls back as frames of the wire format, read by the parent without trusting them.
The protocol is checked against a stub runner that sends scripted frames (deterministic)."""
import io
import json
import os
import time

import numpy as np
import pytest

from autograder import values
from autograder.config import DEFAULTS
from autograder.sandbox import runner, session, strategies, wire


def result_of(value):
    """What the parent makes of `value` returned by student code."""
    blobs = []
    tree = wire.encode(value, blobs)
    return values.result_value(json.loads(json.dumps(tree)), blobs)


# ------------------------------------------------------------------------------ arguments
def test_arguments_reach_the_runner_as_views_of_the_arena():
    arena = session.Arena(1 << 16)
    try:
        args = (np.arange(6.0).reshape(2, 3), [(np.ones((2, 2)), np.zeros(2))], ["tanh", "softmax"], 0.5, 3, None,
                True, values.Callable("coupled", (np.array([1.0]), np.array([2.0]))), np.array([1, 2, 3]))
        placed = values.place(arena.memory, args, {"lr": 0.1})
        called = []
        got = runner.load_args(json.loads(json.dumps(placed.args)), arena.memory, lambda name: called.append(name) or name)
        assert np.array_equal(got[0], args[0]) and got[0].dtype == np.float64
        assert isinstance(got[1], list) and isinstance(got[1][0], tuple) and np.array_equal(got[1][0][0], np.ones((2, 2)))
        assert got[2:7] == (["tanh", "softmax"], 0.5, 3, None, True)
        assert got[7] == "argument.f0" and placed.callables["argument.f0"] is args[7]
        assert got[8].dtype == np.int64 and list(got[8]) == [1, 2, 3]
        assert runner.load_args(placed.kwargs, arena.memory, None) == {"lr": 0.1}
        got[1][0][0][1, 1] = 5.0     # a change in place, as student code might make it
        after = values.inputs_after(arena.memory, placed)
        assert after["in_1_0_0"][1, 1] == 5.0 and np.array_equal(after["in_0"], args[0])
    finally:
        arena.close()


def test_the_arena_cannot_be_resized_by_the_sandbox():
    arena = session.Arena(4096)
    try:
        with pytest.raises(PermissionError):
            os.ftruncate(arena.fd, 1 << 20)
    finally:
        arena.close()


# ------------------------------------------------------------------------------ results
def test_results_keep_their_form():
    node = result_of((np.ones((2, 3)), 1.5, [1, 2], np.float64(2.0), None, True))
    assert node.tag == "tuple" and [n.tag for n in node.items] == ["nd", "float", "list", "npscalar", "none", "bool"]
    assert node.items[2].items[1].data == 2


def test_object_arrays_and_strange_objects_are_refused():
    class Liar:
        def __eq__(self, other):
            return True
    assert result_of(np.array([Liar()], dtype=object)).tag == "object"
    assert result_of(Liar()).tag == "object"
    assert result_of({"a": 1}).tag == "object" and result_of("text").tag == "object"


def test_an_ndarray_subclass_comes_back_as_a_plain_array():
    class Always(np.ndarray):
        def __eq__(self, other):
            return True
    node = result_of(np.zeros(3).view(Always))
    assert node.tag == "nd" and type(node.data) is np.ndarray


def test_a_pickle_in_a_blob_is_never_loaded(tmp_path):
    flag = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {flag}",))
    buffer = io.BytesIO()
    np.save(buffer, np.array([Payload()], dtype=object), allow_pickle=True)
    blob = buffer.getvalue()
    assert b"system" in blob and b"touch" in blob      # the payload is really in the blob
    for node in ({"a": [0, "|O", [1]]}, {"a": [0, "O", [1]]}, {"a": [0, "<f8", [len(blob) // 8 + 1]]}, {"a": 0}):
        assert values.result_value(node, [blob]).tag == "object"
        with pytest.raises(wire.WireError):
            wire.decode(node, [blob])
    assert not flag.exists()


@pytest.mark.parametrize("dtype", ["|O", "[('a', '<f8')]", "<M8[s]", "|V8", "<U3", "|S8", "f8", 8, None])
def test_only_plain_number_dtypes_are_read(dtype):
    with pytest.raises(wire.WireError):
        wire.load_blob([b"\0" * 8], 0, dtype, [1])


def test_a_blob_of_the_wrong_size_is_refused():
    with pytest.raises(wire.WireError, match="do not match"):
        wire.load_blob([b"\0" * 12], 0, "<f8", [2])
    # a view of the received buffer, never a copy: writable when that buffer is (a frame's payload)
    received = bytearray(np.arange(6.0).tobytes())
    array = wire.load_blob(wire.blob_table([48], received), 0, "<f8", [2, 3])
    assert array.flags.writeable and np.array_equal(array, np.arange(6.0).reshape(2, 3))
    assert np.shares_memory(array, np.frombuffer(received, dtype=np.uint8))


def test_an_npz_archive_is_one_refused_value():
    buffer = io.BytesIO()
    np.savez(buffer, r=np.zeros(3))
    assert values.result_value({"a": [0, "<i8", [3]]}, [buffer.getvalue()]).tag == "object"
    assert values.result_value({"a": 0}, [buffer.getvalue()]).tag == "object"


@pytest.mark.parametrize("tree", [{"a": 3}, {"q": 1}, [1], {"l": {"x": 1}}, {"f": "1.0"}, {"a": 0, "f": 1.0}])
def test_malformed_results_are_refused(tree):
    node = None
    try:
        node = values.result_value(tree, [])
    except ValueError:
        return
    assert node.tag == "object"


def test_a_result_with_too_many_parts_is_refused():
    with pytest.raises(ValueError, match="too many parts"):
        values.result_value({"l": [{"l": [{"f": 1.0}] * 2000}] * 10}, [])


# ------------------------------------------------------------------------------ frames
def test_a_header_or_payload_over_the_limits_is_refused():
    r, w = os.pipe()
    os.write(w, b'{"sizes": [100]}\n' + b"x" * 100)
    with pytest.raises(wire.WireError, match="larger than"):
        wire.Reader(r, max_payload=50).read(time.monotonic() + 1)
    os.close(r), os.close(w)
    r, w = os.pipe()
    os.set_blocking(w, False)
    reader = wire.Reader(r, max_payload=50)
    with pytest.raises(wire.WireError, match="header longer"):
        for _ in range(40):
            try:
                os.write(w, b"z" * 65536)
            except BlockingIOError:
                pass
            reader._fill(time.monotonic() + 0.1)
            reader.read(time.monotonic() + 0.01)
    os.close(r), os.close(w)


def test_a_frame_that_never_comes_returns_at_the_deadline():
    r, w = os.pipe()
    started = time.monotonic()
    assert wire.Reader(r, 100).read(time.monotonic() + 0.2) is None
    assert time.monotonic() - started < 1
    os.close(r), os.close(w)


# ------------------------------------------------------------------------------ protocol (stub runner)
STUB = '''
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire
reader = wire.Reader(0, 1 << 20)
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
        wire.send(out, header)
        if "call" in header:   # wait for the parent's reply and echo it as the result
            reply, blobs = reader.read()
            wire.send(out, {"token": token, "done": True, "error": None, "result": reply.get("result", {"n": 0})}, blobs)
'''


def stub_session(tmp_path, script):
    tmp_path.mkdir(parents=True, exist_ok=True)
    folder = tmp_path / "runner"
    session.copy_runner(folder)
    (folder / "runner.py").write_text(STUB.replace("__SCRIPT__", repr(json.dumps(script))))
    (tmp_path / "submission").mkdir()
    s = session.Session(strategies.STRATEGIES["rlimits"], DEFAULTS, tmp_path / "submission", tmp_path, folder)
    assert s.start()
    return s


def test_only_a_frame_with_the_fresh_token_answers(tmp_path):
    """Frames with another token (forged in advance, or left over) are ignored."""
    s = stub_session(tmp_path, {"case": [
        {"token": "0" * 32, "done": True, "error": None, "result": {"f": 1.0}},
        {"done": True, "error": None, "result": {"f": 2.0}},
        {"token": "TOKEN", "done": True, "error": None, "result": {"f": 3.0}}]})
    try:
        outcome = s.run({"target": {}, "args": {"t": []}, "kwargs": {"d": []}, "plan": {}}, 2)
        assert outcome.status == "ok" and outcome.result == {"f": 3.0}
    finally:
        s.dispose()


def test_a_call_back_is_served_only_for_the_cases_helpers(tmp_path):
    """The same well-formed arguments (z = 0.0) sent to the case's helper and to a name that is
    not one: the first is served (its value comes back), the second is refused, so a serve
    that answered any name with some helper would show here."""
    from autograder.grading import serve
    helpers = {"activations.sigmoid": lambda z: 1 / (1 + np.exp(-z))}
    args = {"l": [{"l": [{"f": 0.0}]}, {"d": []}]}
    got = {}
    for name in ("activations.sigmoid", "mlp.secret"):
        s = stub_session(tmp_path / name, {"case": [{"token": "TOKEN", "call": name, "args": args}]})
        try:
            outcome = s.run({"target": {}, "args": {"t": []}, "kwargs": {"d": []}, "plan": {}}, 2,
                            serve=lambda header, blobs: serve(helpers, header, blobs))
            assert outcome.status == "ok"
            got[name] = values.result_value(outcome.result, outcome.blobs)
        finally:
            s.dispose()
    assert got["activations.sigmoid"].tag in ("float", "npscalar") and float(got["activations.sigmoid"].data) == 0.5
    assert got["mlp.secret"].tag == "none"   # the reply carried no result


def test_a_silent_sandbox_times_out_and_is_killed(tmp_path):
    s = stub_session(tmp_path, {})
    try:
        started = time.monotonic()
        outcome = s.run({"target": {}, "args": {"t": []}, "kwargs": {"d": []}, "plan": {}}, 0.5)
        assert outcome.status == "timeout" and time.monotonic() - started < 2 and not s.alive
    finally:
        s.dispose()


def test_serving_a_helper_never_relays_its_error_text():
    from autograder.grading import serve

    def broken(x):
        raise ValueError("\x1b[31m a secret of the reference")
    blobs = []
    header = {"call": "m.f", "args": wire.encode([[np.zeros(2)], {}], blobs)}
    reply, out = serve({"m.f": broken}, header, blobs)
    assert reply == {"error": "ValueError"} and out == []
    reply, _ = serve({"m.f": broken}, {"call": "m.other", "args": {"l": []}}, [])
    assert reply["error"] == "not a helper of this case"
