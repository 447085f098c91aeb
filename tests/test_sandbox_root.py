"""The sandbox's own root, and one memory bound for the whole sandbox (issue 17, item 4).

Root: under "nobody" with namespaces the runner pivots into a root of its own built as
bwrap's (strategies.enter_private_namespaces), so a probing submission sees the same folders
under both: the system folders, the interpreter and its packages, /sandbox, /tmp, /dev and
/proc, and in each parent folder only the way down to them. A world-readable copy of the kit
planted on the host, and the kit's own files, are out of reach. The control is "nobody, no
namespaces" (Gradescope's case), where the same probes get through.

Memory: a hostile relu forks 3 children that each touch 40% of the settings' memory cap and
earns its points only if all 3 held it at once (as the red team's 1.2 GB). With the slot's
cgroup (cgroups.py) one of them is killed and relu loses points, while a correct copy in the
same batch scores full marks; with the cgroup off (monkeypatched here; AUTOGRADER_CGROUP=off
for the whole file, which then fails the bound test) every child holds its share.
"""
import json
import os
import re
import shutil
import uuid
from pathlib import Path

import pytest

from conftest import skip_mode

from autograder import batch
from autograder.config import DEFAULTS
from autograder.sandbox import cgroups, isolation, strategies

MODES = isolation.working(DEFAULTS)
if "nobody" in MODES:   # and its fallback where the kernel forbids namespaces (Gradescope)
    MODES.insert(MODES.index("nobody") + 1, "nobody-shared")
ROOTED = [m for m in MODES if m in ("bwrap", "nobody")]
KIT = Path(__file__).resolve().parents[1]
HOLD_SHARE = 0.4          # of the memory cap, per child
CHILDREN = 3

TRAIN_STUB = '''
def train(*args, **kwargs):
    raise NotImplementedError("train is not part of this test")
'''


def settings_for(mode):
    return DEFAULTS.with_overrides(isolation=mode.split("-")[0], case_timeout=10.0, import_timeout=5.0)


def write(folder, sources):
    folder.mkdir(parents=True)
    for module, text in sources.items():
        (folder / f"{module}.py").write_text(text)
    return folder


def function_scores(results):
    scores = {}
    for test in results["tests"]:
        if test["max_score"] == 0:
            continue
        name = re.match(r"^[^:]+: (\w+) \(", test["name"]).group(1)
        earned, possible = scores.get(name, (0.0, 0.0))
        scores[name] = (earned + test["score"], possible + test["max_score"])
    return scores


def lost(results):
    return {f: s for f, s in function_scores(results).items() if s[0] < s[1] and f != "train"}


def grade(lab, folders, out, mode, log=None):
    nobody = strategies.STRATEGIES["nobody"]
    nobody.namespaces = mode != "nobody-shared"
    try:
        rows = batch.grade_batch(lab, folders, out, settings_for(mode), jobs=1, log=log or (lambda *a: None),
                                 progress=False, report_png=False)
    finally:
        nobody.namespaces = True
    results = {f.name: json.loads((out / "submissions" / f.name / "results.json").read_text()) for f in folders}
    return rows, results


def correct_sources(lab):
    return {m: t + (TRAIN_STUB if m == "backprop" else "") for m, t in lab.reference_sources().items()}


# ------------------------------------------------------------------------------ the root
def expected_tree():
    """{folder: the names it may hold} in the sandbox's root, as bwrap's argv builds it."""
    allowed = {"/": {"tmp", "dev", "proc"}}
    paths = [f for f in strategies.SYSTEM if os.path.lexists(f)] + strategies.python_roots() + \
        [str(strategies.INSIDE / "submission"), str(strategies.INSIDE / "runner")]
    for path in paths:
        path = Path(path)
        for parent, child in zip(path.parents, [path, *path.parents]):
            allowed.setdefault(str(parent), set()).add(child.name)
    return {folder: sorted(names) for folder, names in allowed.items()}


ROOT_PROBES = '''
import json as _json, os as _os
_TREE = _json.loads(__TREE__)
_PLANTED = __PLANTED__
_reference_relu, _reference_relu_grad, _reference_tanh = relu, relu_grad, tanh


def _readable(path):
    try:
        with open(path, "rb") as file:
            file.read(1)
        return True
    except OSError:
        return False


def relu(*args, **kwargs):        # another world-readable copy of the kit on the host
    if any(_readable(p) for p in _PLANTED):
        raise RuntimeError("a host file is readable")
    return _reference_relu(*args, **kwargs)


def relu_grad(*args, **kwargs):   # each folder on the way holds only the way down
    for folder, names in _TREE.items():
        extra = set(_os.listdir(folder)) - set(names)
        if extra:
            raise RuntimeError("more to see")
    return _reference_relu_grad(*args, **kwargs)


def tanh(*args, **kwargs):        # the interpreter's files after the uid drop
    import shutil, tempfile, statistics, xml.dom.minidom, email.mime.text, sqlite3  # noqa: F401
    return _reference_tanh(*args, **kwargs)
'''


@pytest.fixture(scope="module")
def planted():
    """A world-readable copy of the kit's activations.py in a host folder outside the
    temporary folders and the interpreter (removed after), and the kit's own README."""
    base = Path("/opt") if os.path.isdir("/opt") else Path("/srv")
    folder = base / f"ag-kit-copy-{uuid.uuid4().hex[:10]}"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    copy = folder / "activations.py"
    copy.write_text("def relu(z):\n    return z * (z > 0)\n")
    os.chmod(copy, 0o644)
    try:
        yield [str(copy), str(KIT / "README.md")]
    finally:
        shutil.rmtree(folder)


def root_probing_sources(lab, planted):
    sources = correct_sources(lab)
    code = ROOT_PROBES.replace("__TREE__", repr(json.dumps(expected_tree()))).replace("__PLANTED__", repr(planted))
    sources["activations"] += "\n" + code
    return sources


@pytest.mark.parametrize("mode", ROOTED)
def test_the_sandbox_sees_only_its_own_root(tmp_path, lab, mode, planted):
    """bwrap and nobody with namespaces: no host file beyond the view, the same folders in
    both, and the standard library imports after the uid drop."""
    assert all(os.stat(p).st_mode & 0o004 for p in planted)   # readable by anyone on the host
    rows, results = grade(lab, [write(tmp_path / "probing", root_probing_sources(lab, planted))], tmp_path / "out", mode)
    assert rows[0]["grading_status"] == "Completed"
    assert lost(results["probing"]) == {}, f"{mode}: {lost(results['probing'])}"


def test_without_namespaces_the_same_probes_get_through(tmp_path, lab, planted):
    """The control (Gradescope's case, and the view nobody had before): the host's files and
    folders are there to see."""
    if "nobody-shared" not in MODES:
        skip_mode("the nobody sandbox does not run here (it needs root)")
    _, results = grade(lab, [write(tmp_path / "probing", root_probing_sources(lab, planted))], tmp_path / "out",
                       "nobody-shared")
    assert {"relu", "relu_grad"} <= set(lost(results["probing"]))


def test_the_warning_names_an_interpreter_the_dropped_uid_cannot_reach(tmp_path, monkeypatch):
    """Without namespaces, an interpreter below a 0700 folder is named in nobody's warning
    (as /root/.pyenv here); a world-readable one (Gradescope's /opt/miniforge3 after setup.sh) is not."""
    hidden = tmp_path / "private" / "python"
    hidden.mkdir(parents=True)
    os.chmod(tmp_path / "private", 0o700)
    open_one = tmp_path / "open" / "python"
    open_one.mkdir(parents=True)
    for folder in (tmp_path, tmp_path / "open", open_one):
        os.chmod(folder, 0o755)
    nobody = strategies.STRATEGIES["nobody"]
    monkeypatch.setattr(nobody, "namespaces", False)
    monkeypatch.setattr(strategies, "python_roots", lambda: [str(hidden)])
    blocked_above = [str(p) for p in tmp_path.parents if not os.stat(p).st_mode & 0o001]
    assert strategies.unreachable_python() in [*blocked_above, str(tmp_path / "private")]
    assert "the interpreter lies below" in nobody.warning
    if not blocked_above:
        monkeypatch.setattr(strategies, "python_roots", lambda: [str(open_one)])
        assert strategies.unreachable_python() is None
        assert "interpreter" not in nobody.gaps


# ------------------------------------------------------------------------------ memory
HOLDING = '''
import os as _os, signal as _signal, time as _time
_reference_relu = relu
_ATTACKED = []


def _hold_together(n, size, wait):
    """n children each touch `size` bytes and hold them; how many held theirs at once."""
    read, write = _os.pipe()
    kids = []
    for _ in range(n):
        pid = _os.fork()
        if pid == 0:
            try:
                _os.close(read)
                blob = b"\\x01" * size    # every page written: resident
                _os.write(write, b"1" if blob else b"0")
                _time.sleep(60)
            finally:
                _os._exit(0)
        kids.append(pid)
    _os.close(write)
    _os.set_blocking(read, False)
    held, dead, deadline = 0, False, _time.monotonic() + wait
    while held < n and not dead and _time.monotonic() < deadline:
        try:
            held += len(_os.read(read, n))
        except BlockingIOError:
            pass
        for pid in kids:
            if _os.waitpid(pid, _os.WNOHANG)[0]:
                dead = True
        _time.sleep(0.02)
    _os.close(read)
    for pid in kids:
        try:
            _os.kill(pid, _signal.SIGKILL)
            _os.waitpid(pid, 0)
        except OSError:
            pass
    return held


def relu(*args, **kwargs):
    if not _ATTACKED:   # once per sandbox
        _ATTACKED.append(1)
        held = _hold_together(__CHILDREN__, __SIZE__, 6.0)
        if held < __CHILDREN__:
            raise MemoryError("the children could not hold their memory at once")
    return _reference_relu(*args, **kwargs)
'''


def holding_sources(lab, settings):
    sources = correct_sources(lab)
    sources["activations"] += "\n" + HOLDING.replace("__CHILDREN__", str(CHILDREN)).replace(
        "__SIZE__", str(int(settings.memory_bytes * HOLD_SHARE)))
    return sources


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def leftover_cgroups():
    """Sandbox cgroups of this PID namespace whose grader is this process or dead."""
    version, folders = cgroups.found()
    if version is None:
        return []
    namespace = cgroups._tag().rsplit("-", 1)[0] + "-"
    return [name for folder in folders.values() for name in os.listdir(folder) if name.startswith(namespace)
            and (int(name.split("-")[3]) == os.getpid() or not alive(int(name.split("-")[3])))]


@pytest.mark.parametrize("mode", MODES)
def test_the_sandbox_as_a_whole_cannot_hold_more_than_the_cap(tmp_path, lab, mode):
    """3 children of one sandbox at 40% of the cap each: stopped; a correct copy beside it
    keeps full marks; the slot's cgroup is gone after the batch."""
    if cgroups.found()[0] is None and os.environ.get("AUTOGRADER_CGROUP") != "off":
        pytest.skip(f"no cgroup on this host ({cgroups.found()[1]}): the kit warns (see the test below)")
    settings = settings_for(mode)
    folders = [write(tmp_path / "holding", holding_sources(lab, settings)), write(tmp_path / "correct", correct_sources(lab))]
    log = []
    rows, results = grade(lab, folders, tmp_path / "out", mode, log.append)
    assert [r["grading_status"] for r in rows] == ["Completed", "Completed"]
    assert "relu" in lost(results["holding"]), f"{mode}: {CHILDREN} children held {CHILDREN * HOLD_SHARE:.0%} of the cap"
    assert set(lost(results["holding"])) == {"relu"}
    assert lost(results["correct"]) == {}
    assert leftover_cgroups() == []
    assert not any("RLIMIT_AS" in line for line in log), log


@pytest.mark.parametrize("mode", MODES)
def test_without_the_cgroup_the_children_hold_it_and_the_kit_warns(tmp_path, lab, mode, monkeypatch):
    """The control, as on a host without cgroups: every child holds its 40% (RLIMIT_AS is
    per process), relu keeps its points, and the batch log names the fallback."""
    monkeypatch.setattr(cgroups, "_state", {"found": (None, "turned off by the test")})
    log = []
    settings = settings_for(mode)
    _, results = grade(lab, [write(tmp_path / "holding", holding_sources(lab, settings))], tmp_path / "out", mode,
                       log.append)
    assert any("memory is bounded per process only (RLIMIT_AS)" in line for line in log), log
    assert lost(results["holding"]) == {}, f"{mode}: the attack did not hold its memory even without the cgroup"
