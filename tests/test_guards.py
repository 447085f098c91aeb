"""Every defence has a test of its own (issue 16): each test below fails when the guard it
names is taken away, one plausible edit at a time, and most of them need no whole-bank
grading (a crafted frame, a stub runner, a folder with the wrong mode). The adversarial
campaign (tests/test_adversarial.py) stays the integration proof.

| guard (where) | breakage it catches | tests |
|---|---|---|
| gradient-check tolerance 1e-6 (config, cases) | loosened x10 | *_just_over_the_tolerance_* |
| rtol and atol of `np.isclose` (compare.numbers_differ) | swapped | test_rtol_*, test_atol_* |
| finiteness of a gradient check (cases) | NaN/inf gradients pass | test_a_gradient_check_fails_on_values_that_are_not_finite |
| the lab's kink margin (solutions/.../grading.py) | points no longer moved | tests/test_lab_spec.py, test_the_kink_margin_* |
| the 16-byte session token (session) | cut to 1 byte | test_the_session_token_*, test_a_forger_*|
| the dtype allow-list (wire) | widened to object | test_the_dtype_allow_list_*, test_an_object_array_* |
| the decoders' depth limits (wire.decode, values.result_value) | removed | test_*_depth_* |
| the 160-character cut of a public message (grading.student_line) | removed | test_a_public_message_* |
| the status cleaning (grading.SubmissionResult) | removed | test_a_status_* |
| bwrap's /tmp size cap (strategies) | dropped | test_bwraps_tmp_*, test_a_sandbox_cannot_fill_* |
| lock files opened with O_NOFOLLOW (slots) | flag dropped | test_a_planted_lock_link_* |
| the lock folder's mode check (slots.lock_dir) | `& 0o077` dropped | test_a_lock_folder_* |
| the removal of a slot's leftovers (slots) | not recursive | test_*_leftovers_* |
| /proc with hidepid (strategies.enter_private_namespaces) | plain /proc | test_proc_* |
| resume by row.json (batch.previous_rows) | keyed on the folder | test_resume_* |
| report.png's most common failures (report) | least common first | tests/test_report.py |
"""
import csv
import io
import json
import os
import shutil
import tempfile
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from autograder import batch, compare, gradcheck, grading, intake, report, values
from autograder.catalogue import Catalogue
from autograder.cases import Case, Matches, MatchesCallableGradient, MatchesDerivative, MatchesGradient
from autograder.config import DEFAULTS
from autograder.findings import Kind, finding
from autograder.grading import SubmissionResult, verdict
from autograder.labs import load_lab
from autograder.sandbox import isolation, linux, session, slots, strategies, wire
from autograder.values import Value

from conftest import skip_mode

KIT = Path(__file__).resolve().parents[1]
TOL = 1e-6   # the documented gradient-check tolerance (gradcheck.py): a literal, so loosening the setting is caught


def nd(a):
    return Value("nd", data=np.asarray(a, dtype=float))


def pairs(params):
    return Value("list", items=[Value("tuple", items=[nd(W), nd(b)]) for W, b in params])


def off_by(expected, r):
    """`expected` (all ones) with its first entry moved so that relative_error(got, expected) == r:
    k / ((1 + k) + 1) = r."""
    got = np.array(expected, dtype=float)
    got.flat[0] += 2 * r / (1 - r)
    assert gradcheck.relative_error(got, expected) == pytest.approx(r, rel=1e-6)
    return got


# ============================================================================== judging
@pytest.mark.parametrize("factor, passes", [(0.9, True), (1.1, False)])
def test_a_derivative_just_over_the_tolerance_fails_and_just_under_passes(factor, passes):
    expected = np.ones((2, 3))
    case = Case("activations.tanh_grad", (np.linspace(-1, 1, 6).reshape(2, 3),), MatchesDerivative(forward="activations.tanh"))
    found = case.check.judge(case, nd(off_by(expected, factor * TOL)), expected, DEFAULTS)
    assert (found is None) == passes, found


@pytest.mark.parametrize("factor, passes", [(0.9, True), (1.1, False)])
def test_a_gradient_just_over_the_tolerance_fails_and_just_under_passes(factor, passes):
    expected = [(np.ones((2, 3)), np.ones(2)), (np.ones((1, 2)), np.ones(1))]
    got = [(off_by(expected[0][0], factor * TOL), np.ones(2)), (np.ones((1, 2)), np.ones(1))]
    case = Case("backprop.mlp_backward", (), MatchesGradient(loss=lambda case, params: 0.0))
    found = case.check.judge(case, pairs(got), expected, DEFAULTS)
    assert (found is None) == passes, found


def test_a_gradient_with_an_extra_pair_fails():
    expected = [(np.ones((2, 3)), np.ones(2))]
    case = Case("backprop.mlp_backward", (), MatchesGradient(loss=lambda case, params: 0.0))
    assert case.check.judge(case, pairs(expected), expected, DEFAULTS) is None
    assert case.check.judge(case, pairs(expected + [(np.ones((1, 2)), np.ones(1))]), expected, DEFAULTS) is not None
    assert case.check.judge(case, pairs([]), expected, DEFAULTS) is not None


@pytest.mark.parametrize("factor, passes", [(0.5, True), (2.0, False)])
def test_numerical_gradient_is_held_to_its_documented_tolerance(factor, passes):
    """MatchesCallableGradient: rtol 1e-7 (central differences of the kit's test functions are
    that good); a gradient off by twice that fails, by half of it passes."""
    f = values.Callable("sin_cubic", (np.array([1.0, 2.0]), np.array([0.5, 0.25])))
    x = np.array([0.3, -1.2])
    case = Case("calculus.numerical_gradient", (f, x), MatchesCallableGradient())
    expected = case.check.expect(case, {}, DEFAULTS)
    got = expected * (1 + factor * 1e-7)
    assert (case.check.judge(case, nd(got), expected, DEFAULTS) is None) == passes


# |got - expected| <= atol + rtol |expected|: each tolerance at its own edge, where the other
# one is negligible, so that swapping them moves both edges by orders of magnitude
RTOL, ATOL = 1e-3, 1e-9


@pytest.mark.parametrize("factor, passes", [(0.9, True), (1.1, False)])
def test_rtol_bounds_the_error_relative_to_a_large_expected_value(factor, passes):
    expected = np.array([1000.0, -2000.0])
    got = expected * (1 + factor * RTOL)
    assert (compare.numbers_differ(got, expected, RTOL, ATOL, "result") is None) == passes
    case = Case("activations.tanh", (np.zeros(2),), Matches(rtol=RTOL, atol=ATOL))
    assert (case.check.judge(case, nd(got), expected, DEFAULTS) is None) == passes


@pytest.mark.parametrize("factor, passes", [(0.9, True), (1.1, False)])
def test_atol_bounds_the_error_where_the_expected_value_is_zero(factor, passes):
    expected = np.array([0.0, 0.0])
    got = expected + factor * ATOL
    assert (compare.numbers_differ(got, expected, RTOL, ATOL, "result") is None) == passes
    case = Case("activations.tanh", (np.zeros(2),), Matches(rtol=RTOL, atol=ATOL))
    assert (case.check.judge(case, nd(got), expected, DEFAULTS) is None) == passes


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_gradient_check_fails_on_values_that_are_not_finite(bad):
    expected = [(np.ones((2, 3)), np.ones(2))]
    W = np.ones((2, 3))
    W[1, 2] = bad
    gradient = Case("backprop.mlp_backward", (), MatchesGradient(loss=lambda case, params: 0.0))
    assert gradient.check.judge(gradient, pairs([(W, np.ones(2))]), expected, DEFAULTS) is not None
    everywhere = [(np.full((2, 3), bad), np.full(2, bad))]
    assert gradient.check.judge(gradient, pairs(everywhere), expected, DEFAULTS) is not None
    derivative = Case("activations.tanh_grad", (np.zeros(4),), MatchesDerivative(forward="activations.tanh"))
    got = np.ones(4)
    got[2] = bad
    assert derivative.check.judge(derivative, nd(got), np.ones(4), DEFAULTS) is not None


def test_the_kink_margin_is_far_wider_than_the_step_of_the_central_differences():
    """A relu derivative straddles the kink only within h of it; the margin keeps points 100 h
    away (a margin of 0 would leave the lab's gradient checks to chance)."""
    assert DEFAULTS.kink_margin >= 100 * DEFAULTS.gradcheck_h > 0


# ============================================================================== wire and parent
PROBE_STUB = '''
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire
reader = wire.Reader(0, 1 << 20)
spec, _ = reader.read()
out = spec["wire_fd"]
if "drop_to_uid" in spec:   # as the real runner does (the nobody strategies and bwrap as root)
    os.setgid(spec["drop_to_uid"])
    os.setuid(spec["drop_to_uid"])
os.chdir(spec["workdir"])


def send(header, blobs=()):
    wire.send(out, header, blobs)


while True:
    frame = reader.read()
    if frame is None:
        break
    command, _ = frame
    token = command["token"]
    answer = {}
__PROBE__
    send({"token": token, "done": True, "error": None, "result": {"s": json.dumps(answer)}})
'''
SCRATCH = []
EMPTY_CASE = {"target": {}, "args": {"t": []}, "kwargs": {"d": []}, "plan": {}}


def probe_session(tmp_path, probe, mode="rlimits", settings=DEFAULTS, slot=7):
    """A session whose runner is PROBE_STUB: each case runs `probe` (code that fills `answer`,
    or sends frames of its own) and answers {"s": json of answer} with the fresh token. Its
    folders lie in a scratch folder the sandbox uids can cross (pytest's tmp_path is 0700)."""
    tmp_path = Path(tempfile.mkdtemp(prefix="guards-", dir=batch.scratch_root(DEFAULTS)))
    SCRATCH.append(tmp_path)
    folder = tmp_path / "runner"
    session.copy_runner(folder)
    os.chmod(folder, 0o755)
    (folder / "runner.py").write_text(PROBE_STUB.replace("__PROBE__", textwrap.indent(textwrap.dedent(probe), "    ")))
    os.chmod(folder / "runner.py", 0o644)
    (tmp_path / "submission").mkdir()
    os.chmod(tmp_path, 0o755)
    strategy = strategies.STRATEGIES[mode.split("-")[0]]
    s = session.Session(strategy, settings.with_overrides(isolation=mode.split("-")[0]), tmp_path / "submission", tmp_path,
                        folder, slot=slot)
    assert s.start()
    return s


@pytest.fixture(autouse=True)
def scratch_removed():
    yield
    while SCRATCH:
        shutil.rmtree(SCRATCH.pop(), ignore_errors=True)


def answer_of(outcome):
    assert outcome.status == "ok", outcome
    return json.loads(outcome.result["s"])


def test_the_session_token_is_16_random_bytes():
    assert session.TOKEN_BYTES >= 16


def test_a_forger_who_tries_every_short_token_is_never_believed(tmp_path):
    """The sandbox writes an answer for every 1-byte token before the real one: with a token
    of 16 random bytes none is read as the answer (with 1 byte, one of them is)."""
    s = probe_session(tmp_path, '''
        for guess in range(256):
            send({"token": f"{guess:02x}", "done": True, "error": None, "result": {"s": "forged"}})
        answer["token"] = token
        ''')
    try:
        tokens = [answer_of(s.run(EMPTY_CASE, 5))["token"] for _ in range(3)]
    finally:
        s.dispose()
    assert all(len(t) == 32 and int(t, 16) >= 0 for t in tokens) and len(set(tokens)) == 3


def test_answers_written_ahead_for_the_next_case_are_never_read_as_its_answer(tmp_path):
    """After each answer the sandbox writes forged answers for the next case (the token just
    used, a made-up one, none): the next case still gets its own answer."""
    s = probe_session(tmp_path, '''
        answer["token"] = token
        send({"token": token, "done": True, "error": None, "result": {"s": json.dumps(answer)}})
        for forged in (token, "f" * 32, None):
            send({"token": forged, "done": True, "error": None, "result": {"s": "forged"}})
        continue
        ''')
    try:
        answers = [answer_of(s.run(EMPTY_CASE, 5)) for _ in range(3)]
    finally:
        s.dispose()
    assert len({a["token"] for a in answers}) == 3 and all(len(a["token"]) == 2 * 16 for a in answers)


def test_the_dtype_allow_list_is_exactly_five_plain_number_types():
    assert set(wire.DTYPES) == {"<f8", "<f4", "<i8", "<i4", "|b1"}
    for dtype in (object, [("a", "<f8")], "U3", "S3", "<c16", "<f2", "M8[s]", "V8", ("<f8", (2,))):
        assert wire.wire_dtype(np.dtype(dtype)) is None, dtype
        with pytest.raises(wire.WireError):
            wire.check_dtype(np.dtype(dtype).str)


def test_an_object_array_crosses_the_wall_as_a_refused_value_in_both_directions():
    blobs = []
    assert wire.encode(np.array([1, "text", None], dtype=object), blobs) == {"o": 0} and blobs == []
    assert wire.encode(np.array(None, dtype=object), blobs) == {"o": 0} and blobs == []
    for node in ({"a": [0, "|O", [1]]}, {"g": [0, "|O"]}):
        with pytest.raises(wire.WireError):
            wire.decode(node, [bytes(8)])
        assert values.result_value(node, [bytes(8)]).tag == "object"


def nest(depth, kind="l"):
    node = {"f": 1.0}
    for _ in range(depth):
        node = {kind: [node]}
    return node


@pytest.mark.parametrize("kind", ["l", "t"])
def test_the_wire_decoder_stops_at_its_depth_limit(kind):
    value = wire.decode(nest(32, kind), [])
    for _ in range(32):
        value = value[0]
    assert value == 1.0
    for depth in (33, 5000):   # a refusal, never a RecursionError
        with pytest.raises(wire.WireError):
            wire.decode(nest(depth, kind), [])


def test_a_helper_is_never_called_with_arguments_nested_past_the_depth_limit():
    called = []
    helpers = {"m.f": lambda *args, **kwargs: called.append(args) or 0.0}
    shallow = {"l": [{"l": [nest(20)]}, {"d": []}]}
    assert grading.serve(helpers, {"call": "m.f", "args": shallow}, [])[0]["error"] is None and len(called) == 1
    deep = {"l": [{"l": [nest(40)]}, {"d": []}]}
    reply, _ = grading.serve(helpers, {"call": "m.f", "args": deep}, [])
    assert reply["error"] is not None and len(called) == 1


def test_the_result_decoder_stops_at_its_depth_limit():
    assert values.result_value(nest(16), []).tag == "list"
    for depth in (17, 5000):
        with pytest.raises(ValueError):
            values.result_value(nest(depth), [])


def grader_for(case, expected):
    case.number = 0
    return SimpleNamespace(settings=DEFAULTS, prepared=SimpleNamespace(expected={0: expected}))


def test_a_result_nested_past_the_depth_limit_fails_its_case_in_the_parents_words():
    case = Case("activations.relu", (np.zeros(3),), Matches())
    grader = grader_for(case, np.zeros(3))
    for depth in (17, 3000):   # never a RecursionError out of the parent
        found = verdict(grader, case, session.Outcome("ok", result=nest(depth), blobs=[]))
        assert found is not None


LONG = "\x1b[2J\x1b[H" + " ".join(f"word{i}" for i in range(400)) + "\n\rScore: 100/100\x07"


def test_a_public_message_keeps_one_cleaned_line_of_at_most_160_characters():
    public = Case("activations.relu", (np.zeros(3),), Matches(), hidden=False)
    line = grading.student_line(public, LONG)
    assert len(line) <= 160 and line.isprintable() and "\x1b" not in line
    assert len(line) >= 120    # cut at a word near the limit, not emptied
    assert grading.student_line(Case("activations.relu", (np.zeros(3),), Matches(), hidden=True), LONG) is None


def test_a_public_case_that_raises_shows_at_most_160_characters_of_the_students_text(tmp_path):
    s = probe_session(tmp_path, f'''
        send({{"token": token, "done": True, "error": {{"type": "ValueError", "text": {LONG!r}}}, "warnings": []}})
        continue
        ''')
    try:
        outcome = s.run(EMPTY_CASE, 5)
    finally:
        s.dispose()
    assert outcome.status == "error" and len(outcome.error_text) > 1000   # the wire carries it all
    for hidden in (False, True):
        case = Case("activations.relu", (np.zeros(3),), Matches(), hidden=hidden)
        said = lambda found: report.Namer(SimpleNamespace(lab=None), Catalogue("en")).words.finding(found, hidden)
        message = said(verdict(grader_for(case, np.zeros(3)), case, outcome))
        bare = said(verdict(grader_for(case, np.zeros(3)), case, session.Outcome("error", "ValueError", "", [], 0.0)))
        assert message.isprintable() and "\x1b" not in message
        assert len(message) <= len(bare) + 2 + 160 and (hidden or len(message) > len(bare) + 100)
        assert "word3" not in message if hidden else "word3" in message


FORGED_STATUS = "Completed with errors: " + "\x1b[2J\x1b[HScore: 100 / 100\n\r\x07\x00" * 40


FORGED_PROBLEM = finding(Kind.IMPORT, module="mlp", cause="ambiguous", file="mlp.py", names=FORGED_STATUS)   # file names are theirs


def test_a_status_is_cleaned_whoever_builds_the_result():
    for lang in ("en", "ko"):
        status = report.status_text(SubmissionResult("s", {}, {}, problem=FORGED_PROBLEM), Catalogue(lang))
        assert status.isprintable() and len(status) <= 200 and "\x1b" not in status
        assert status.startswith(("Completed with errors: ", "채점 완료(오류 있음): "))
        syntax = finding(Kind.IMPORT, module="mlp", cause="syntax", error="SyntaxError", message="x\n" * 300, line=3)
        status = report.status_text(SubmissionResult("s", {}, {}, problem=syntax, notes=[intake.Note("litter", "\x1b" * 50, "x\n" * 300)]),
                                    Catalogue(lang))
        assert status.isprintable() and len(status) <= 200


def test_a_forged_status_is_one_cell_of_one_row_in_grades_csv():
    questions = [SimpleNamespace(name="q", points=10)]
    result = SubmissionResult("alice.zip", {"q": 5.0}, {"q": 10}, problem=FORGED_PROBLEM)
    rows = list(csv.reader(io.StringIO(report.grades_csv(questions, [report.csv_row(result)]))))
    assert len(rows) == 3 and len(rows[2]) == len(rows[0])
    status = rows[2][rows[0].index("grading_status")]
    assert status.isprintable() and len(status) <= 200 and "Score: 100" in status


# ============================================================================== isolation
MODES = isolation.working(DEFAULTS)


def need(mode):
    if mode.split("-")[0] not in MODES:
        skip_mode(f"the {mode} sandbox does not work on this machine")
    if mode.startswith("nobody") and (mode == "nobody") != strategies.STRATEGIES["nobody"].private_namespaces():
        skip_mode(f"the {mode} sandbox does not run here (namespaces {'forbidden' if mode == 'nobody' else 'allowed'})")


@pytest.fixture
def nobody_without_namespaces():
    nobody = strategies.STRATEGIES["nobody"]
    nobody.namespaces = False
    yield
    nobody.namespaces = True


def test_bwraps_tmp_and_dev_shm_are_each_a_tmpfs_of_the_disk_cap():
    limits = session.limits_of(DEFAULTS)
    paths = strategies.Paths(Path("/x/submission"), Path("/x/runner"), Path("/x/work"))
    argv = strategies.STRATEGIES["bwrap"].argv(paths, limits)
    for target in ("/tmp", "/dev/shm"):
        at = [i for i in range(len(argv) - 1) if argv[i] == "--tmpfs" and argv[i + 1] == target]
        assert len(at) == 1, target
        assert argv[at[0] - 2:at[0]] == ["--size", str(limits.disk_bytes)], target


FILL = '''
written = 0
chunk = b"x" * (1 << 18)
try:
    with open("/tmp/fill", "wb") as f:
        while written < __MOST__:
            f.write(chunk)
            f.flush()
            written += len(chunk)
except OSError as exc:
    answer["error"] = exc.errno
try:
    written = os.path.getsize("/tmp/fill")
    os.remove("/tmp/fill")
except OSError:
    pass
answer["written"] = written
'''


@pytest.mark.parametrize("mode", ["bwrap", "nobody"])
def test_a_sandbox_cannot_fill_its_tmp_past_the_disk_cap(tmp_path, mode):
    need(mode)
    cap = 4 << 20
    settings = DEFAULTS.with_overrides(sandbox_disk_bytes=cap)
    s = probe_session(tmp_path, FILL.replace("__MOST__", str(4 * cap)), mode, settings)
    try:
        answer = answer_of(s.run(EMPTY_CASE, 20))
    finally:
        s.dispose()
    assert answer["written"] <= cap and answer.get("error") is not None, answer


@pytest.fixture
def lock_folder(tmp_path, monkeypatch):
    """slots with its lock folder below tmp_path, nothing claimed, no kernel keys touched."""
    monkeypatch.setattr(slots, "LOCK_BASE", str(tmp_path))
    monkeypatch.setattr(slots, "_claimed", {})
    monkeypatch.setattr(linux, "remove_keys_of", lambda uid: None)
    folder = tmp_path / f"autograder-slots-{os.geteuid()}"
    folder.mkdir(mode=0o700)
    yield folder
    for _, fd in slots._claimed.values():
        os.close(fd)


def test_a_planted_lock_link_is_never_followed(lock_folder, tmp_path):
    target = tmp_path / "planted-target"
    os.symlink(target, lock_folder / f"uid-{slots.SLOT_UID_BASE}.lock")
    try:
        slots.slot_uid(0)
    except OSError:
        pass
    assert not target.exists()
    assert slots._claimed.get(0, (None,))[0] != slots.SLOT_UID_BASE


def test_a_planted_lock_link_never_locks_the_file_it_names(lock_folder, tmp_path):
    import fcntl
    victim = tmp_path / "victim"
    victim.write_text("kept")
    for k in range(4):
        os.symlink(victim, lock_folder / f"uid-{slots.SLOT_UID_BASE + k}.lock")
    try:
        slots.slot_uid(0)
    except OSError:
        pass
    fd = os.open(victim, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # free: nobody holds it through a link
    finally:
        os.close(fd)
    assert victim.read_text() == "kept"


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o711, 0o701, 0o707, 0o770, 0o777])
def test_a_lock_folder_others_can_enter_is_refused(lock_folder, mode):
    os.chmod(lock_folder, mode)
    with pytest.raises(RuntimeError):
        slots.lock_dir()
    with pytest.raises(RuntimeError):
        slots.slot_uid(0)
    assert not list(lock_folder.iterdir())


def test_a_sandbox_does_not_start_on_a_lock_folder_others_can_enter(lock_folder, tmp_path, monkeypatch):
    if os.geteuid() != 0:
        skip_mode("the uid sandbox needs root")
    os.chmod(lock_folder, 0o755)
    (tmp_path / "submission").mkdir()

    def started(*args, **kwargs):   # never a process (nor, at close, a kill by a uid this test claimed)
        raise AssertionError("a sandbox started on an open lock folder")
    monkeypatch.setattr(session.subprocess, "Popen", started)
    s = session.Session(strategies.STRATEGIES["nobody"], DEFAULTS, tmp_path / "submission", tmp_path, tmp_path / "runner", slot=9)
    try:
        with pytest.raises(RuntimeError):
            s.start()
        assert s.process is None
    finally:
        s.dispose()


def test_a_private_lock_folder_is_used(lock_folder):
    assert slots.lock_dir() == str(lock_folder)
    assert slots.slot_uid(0) >= slots.SLOT_UID_BASE and list(lock_folder.iterdir())


def test_a_claimed_uid_stays_locked_so_no_other_grader_takes_it(lock_folder):
    import fcntl
    uid = slots.slot_uid(0)
    fd = os.open(lock_folder / f"uid-{uid}.lock", os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
    assert slots.slot_uid(1) != uid


def test_as_root_the_lock_folder_is_the_one_every_grader_uses():
    if os.geteuid() != 0 or not os.access("/run", os.W_OK | os.X_OK):
        pytest.skip("the shared lock folder /run/autograder-slots-0 is root's")
    assert slots.LOCK_BASE is None and slots.lock_dir() == "/run/autograder-slots-0"


SLOT_TEST_UID = slots.SLOT_UID_BASE + slots.SLOT_UIDS - 3   # a slot uid no grader claims first


def test_a_slots_leftovers_are_removed_at_any_depth_and_nothing_else(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("files of another uid can be made only as root")
    for name in ("remove_ipc_of", "remove_mqueues_of", "remove_keys_of"):
        monkeypatch.setattr(linux, name, lambda uid: None)
    monkeypatch.setattr(slots, "slot_uid", lambda slot: SLOT_TEST_UID)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    deep = shared / "a" / "b" / "c" / "d"
    deep.mkdir(parents=True)
    (deep / "file").write_text("x")
    (shared / "top").write_text("x")
    x11 = shared / ".X11-unix"          # root's, world-writable: entered, not removed
    x11.mkdir()
    os.chmod(x11, 0o1777)
    (x11 / "mine").mkdir()
    (x11 / "mine" / "inner").write_text("x")
    (x11 / "roots").write_text("kept")
    (shared / "roots").write_text("kept")
    (shared / "nobodys").write_text("kept")    # a higher uid's (another slot's, nobody's): kept
    os.chown(shared / "nobodys", 65534, 65534)
    for path in [shared / "a", *(shared / "a").rglob("*"), shared / "top", x11 / "mine", x11 / "mine" / "inner"]:
        os.chown(path, SLOT_TEST_UID, SLOT_TEST_UID, follow_symlinks=False)
    slots.remove_slot_leftovers(0, folders=(str(shared),))
    assert sorted(p.name for p in shared.iterdir()) == [".X11-unix", "nobodys", "roots"]
    assert [p.name for p in x11.iterdir()] == ["roots"]


def test_the_leftovers_of_a_sandbox_without_private_mounts_are_removed_at_close(tmp_path, nobody_without_namespaces):
    need("nobody-shared")
    mark = f"guards-{os.getpid()}-{time.monotonic_ns()}"
    shared = Path(f"/tmp/{mark}-shared")   # root's and world-writable, like /tmp/.X11-unix: entered, kept
    shared.mkdir()
    os.chmod(shared, 0o1777)
    s = probe_session(tmp_path, f'''
        path = "/tmp/{mark}"
        os.makedirs(path + "/a/b/c/d", exist_ok=True)
        with open(path + "/a/b/c/d/file", "w") as f:
            f.write("left")
        with open("{shared}/mine", "w") as f:
            f.write("left")
        answer["made"] = os.path.exists(path + "/a/b/c/d/file") and os.path.exists("{shared}/mine")
        ''', "nobody-shared")
    try:
        assert answer_of(s.run(EMPTY_CASE, 10))["made"]
        assert Path(f"/tmp/{mark}/a/b/c/d/file").exists()   # the sandbox wrote on the host's /tmp
    finally:
        s.dispose()
    left = Path(f"/tmp/{mark}")
    found = [left.exists(), (shared / "mine").exists(), shared.is_dir()]
    shutil.rmtree(left, ignore_errors=True)
    shutil.rmtree(shared, ignore_errors=True)
    assert found == [False, False, True]


def test_proc_is_mounted_with_hidepid_in_the_private_root(tmp_path, monkeypatch):
    """enter_private_namespaces, its system calls recorded instead of made."""
    mounts = []
    for name in ("unshare", "pivot_root", "umount"):
        monkeypatch.setattr(linux, name, lambda *args: None)
    monkeypatch.setattr(linux, "mount", lambda *args: mounts.append(args))
    monkeypatch.setattr(linux, "tmpfs", lambda *args, **kwargs: None)
    monkeypatch.setattr(strategies.os, "chdir", lambda path: None)
    monkeypatch.setattr(strategies.os, "rmdir", lambda path: None)
    new = tmp_path / "root"
    new.mkdir()
    strategies.enter_private_namespaces(new, [], session.limits_of(DEFAULTS))
    proc = [m for m in mounts if m[2] == "proc"]
    assert len(proc) == 1 and proc[0][1] == str(new / "proc")
    assert "hidepid=invisible" in proc[0][4].split(",") or "hidepid=2" in proc[0][4].split(",")


@pytest.mark.parametrize("mode", ["bwrap", "nobody"])
def test_proc_in_the_sandbox_shows_no_process_of_the_grader(tmp_path, mode):
    """Only the sandbox's own processes are in its /proc: bwrap by a PID namespace, nobody with
    namespaces by hidepid=invisible (it has no PID namespace: without hidepid the grader's
    processes, root's, would be listed)."""
    need(mode)
    s = probe_session(tmp_path, f'''
        answer["self"] = os.path.exists("/proc/self/status")
        answer["pids"] = sorted(int(n) for n in os.listdir("/proc") if n.isdigit())
        answer["grader"] = os.path.exists("/proc/{os.getpid()}")
        ''', mode)
    try:
        answer = answer_of(s.run(EMPTY_CASE, 10))
    finally:
        s.dispose()
    assert answer["self"] and not answer["grader"] and os.getpid() not in answer["pids"], answer
    assert 1 <= len(answer["pids"]) <= 4, answer   # the runner (and bwrap's init): nothing of the host


# ============================================================================== batch
def test_resume_reads_row_files_not_folders(tmp_path):
    subs = tmp_path / "out" / "submissions"
    (subs / "interrupted").mkdir(parents=True)            # the folder exists, its row was never written
    (subs / "interrupted" / "results.json").write_text("{}")
    (subs / "done").mkdir()
    (subs / "done" / "row.json").write_text(json.dumps({"file": "done.zip", "key": "k"}))
    (subs / "broken").mkdir()
    (subs / "broken" / "row.json").write_text("{not json")
    assert batch.previous_rows(tmp_path / "out") == {"done": {"file": "done.zip", "key": "k"}}


def test_resume_grades_a_submission_whose_row_was_never_written(tmp_path):
    lab = load_lab("lab00_neuron", root=KIT / "tests" / "fixtures" / "labs" / "lab00_neuron")
    sub = tmp_path / "alice"
    sub.mkdir()
    for module, source in lab.reference_sources().items():
        (sub / f"{module}.py").write_text(source)
    settings = DEFAULTS.with_overrides(isolation="rlimits" if "rlimits" in MODES else "auto")
    out = tmp_path / "out"
    first = batch.grade_batch(lab, [sub], out, settings, jobs=1, log=lambda *a: None, progress=False, report_png=False)
    folder = out / "submissions" / first[0]["file"].removesuffix(".zip")
    folder = folder if folder.is_dir() else next((out / "submissions").iterdir())
    (folder / "row.json").unlink()                        # killed after results.json, before row.json
    (folder / "results.json").write_text("{}")
    log = []
    again = batch.grade_batch(lab, [sub], out, settings, jobs=1, log=log.append, progress=False, report_png=False)
    assert not any(str(line).startswith("skipping") for line in log), log
    assert (folder / "row.json").exists() and json.loads((folder / "results.json").read_text()).get("tests")
    assert again[0]["total_points_earned"] == first[0]["total_points_earned"] > 0


# ============================================================================== skips that hide nothing
def test_every_mode_this_machine_has_runs_when_ci_requires_it():
    """With KIT_REQUIRE_MODES=1 (the README's test command, so CI) bwrap and the uid sandbox
    with namespaces must work here: a probe that breaks fails the suite instead of dropping
    that mode out of every parametrisation."""
    if os.environ.get("KIT_REQUIRE_MODES") != "1":
        pytest.skip("KIT_REQUIRE_MODES is not 1: the modes this machine lacks are skipped, each naming why")
    assert "bwrap" in MODES and "nobody" in MODES and "rlimits" in MODES, MODES
    assert strategies.STRATEGIES["nobody"].private_namespaces()


def test_ci_runs_exactly_the_readmes_test_command_and_it_requires_every_mode():
    readme = (KIT / "README.md").read_text()
    command = readme.split("Set up and run the kit's own tests", 1)[1].split("```bash\n", 1)[1].split("\n```", 1)[0]
    assert "KIT_REQUIRE_MODES=1 " in command
    assert command in (KIT / ".ci" / "run").read_text().splitlines()


def test_every_skip_in_the_suite_names_why():
    """pytest.skip / skipif / importorskip with a reason, in every test file."""
    import ast
    bare = []
    for path in sorted((KIT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                if name in ("pytest.skip", "skip_mode") and not node.args and not node.keywords:
                    bare.append(f"{path.name}:{node.lineno}")
                if name == "pytest.mark.skipif" and not any(k.arg == "reason" for k in node.keywords):
                    bare.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Attribute) and ast.unparse(node) == "pytest.mark.skip":
                bare.append(f"{path.name}:{node.lineno} (unconditional)")
    assert not bare, bare



def test_the_relative_error_is_scale_free_down_to_its_floor_and_0_for_empty_arrays():
    """max|a - n| / max(1e-8, max|a| + max|n|): small gradients are compared relative to their
    own size (a floor of 1 would let any gradient below 1e-3 through), empty ones are equal."""
    assert gradcheck.relative_error(np.full(3, 1e-3), np.full(3, 1.1e-3)) == pytest.approx(0.1 / 2.1)
    assert gradcheck.relative_error(np.full(2, 1e-10), np.zeros(2)) == pytest.approx(1e-10 / 1e-8)
    assert gradcheck.relative_error(np.zeros(0), np.zeros(0)) == 0.0
    assert gradcheck.relative_error(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0


def test_a_tuple_of_the_wrong_length_is_a_mismatch_not_an_engine_error():
    form = compare.tuple_of(compare.FLOAT_ARRAY, compare.FLOAT_ARRAY, compare.FLOAT_ARRAY)
    for node in (Value("tuple", items=[nd([1.0]), nd([2.0])]), nd([1.0, 2.0, 3.0])):
        with pytest.raises(compare.Mismatch):
            compare.flatten(node, form)


def test_the_test_functions_of_numerical_gradient_have_the_gradients_they_claim():
    """values.Callable: the parent judges numerical_gradient against f.gradient, so each kind's
    gradient must be the derivative of its value (checked by central differences here)."""
    for kind in ("sin_cubic", "coupled"):
        f = values.Callable(kind, (np.array([1.0, 2.0, 0.5]), np.array([0.5, -0.25, 1.0])))
        x = np.array([0.3, -1.2, 0.7])
        assert np.allclose(f.gradient(x), gradcheck.central_difference(f, x, 1e-5), rtol=1e-7, atol=1e-9), kind


def test_every_kind_of_node_decodes_to_its_value():
    table = [bytes(8)]
    assert wire.decode({"b": True}, table) is True and wire.decode({"n": 0}, table) is None
    assert isinstance(wire.decode({"o": 0}, table), wire.Opaque) and wire.decode({"s": "x"}, table) == "x"
    assert wire.decode({"d": [["k", {"f": 1.0}], ["j", {"i": 2}]]}, table) == {"k": 1.0, "j": 2}
    assert wire.decode({"t": [{"l": []}]}, table) == ([],)
    for bad in ({"b": 1}, {"n": 1}, {"s": 1}, {"d": [["k"]]}, {"d": [[1, {"f": 1.0}]]}):
        with pytest.raises(wire.WireError):
            wire.decode(bad, table)


def test_a_helper_call_is_held_to_the_depth_limit_before_it_is_decoded():
    bounds = wire.CaseBounds.of({"t": [{"f": 1.0}]}, {"d": []})
    call = lambda depth: {"l": [{"l": [nest(depth)]}, {"d": [["lr", {"f": 0.1}]]}]}   # the leaf at depth 2 + depth
    assert bounds.check(call(30), []) is None
    with pytest.raises(wire.WireError):
        bounds.check(call(31), [])
