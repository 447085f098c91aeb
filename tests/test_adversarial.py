"""An adversarial campaign against the sandbox: every attack earns at most its honest score.

Each attack is the reference modules (marker-stripped) plus injected code: functions
redefined at the end of their module (so `relu` is the attack, the rest is the reference) or
code run at import. `train` is stubbed out (it raises) in every attack submission to keep the
campaign fast, so the honest score of an attack is the reference's minus `train` minus the
functions the attack takes over (those earn nothing honestly: they raise, hang or return
garbage). Attacks confined to different functions share one submission (a "cohort"); attacks
on the whole process are alone. Import-time attacks are bounded by a submission whose module
simply raises at import.

Every isolation strategy this machine can run grades the whole campaign in one batch (-j3,
a module-scoped fixture per strategy). For each attack and for each batch:
- no function earns more than honestly (per function, from results.json), and when every
  attack of a submission is confined to its functions, all other functions earn full marks;
- no output file (grades.csv, results.json, feedback.txt, row.json) holds hidden expected
  values (to 10 digits: the engine itself shows one expected value to 6 digits when a value
  differs), the reference text (a canary line in a private, root-only copy of the reference)
  or a marker that only a successful read, write or connection would produce;
- the batch finishes (a watchdog unblocks and fails it otherwise) with a row for every
  submission; no sandbox process survives it; other submissions' folders, the kit's
  solutions/ and the reference copy are unchanged and nothing new appears in the kit; a
  pickle planted in a result file never runs; nothing is left in shared temporary folders;
  a loopback listener receives nothing; a fork storm stops below max_processes.
"rlimits" protects neither files, network nor the grader's other processes (its warning says
so): attacks aimed at those are not run under it, and "nobody" does not protect the network.
Further: an infinite loop costs only its function's cases, a hang at import costs about
import_timeout, -j1 gives the rows of -j3, and a rerun skips finished work unless told.
An in-place mutation hidden from the engine's copies still fails (test_hidden_mutation).

The test stays bounded: loopback only, a few dozen short-lived forks, 0.5 s case timeouts.
"""
import dataclasses
import hashlib
import inspect
import json
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from autograder import batch  # noqa: E402
from autograder.config import DEFAULTS  # noqa: E402
from autograder.labs import load_lab  # noqa: E402
from autograder.sandbox import isolation, session  # noqa: E402

CASE_TIMEOUT = 0.5      # every reference case but train's (which has its own) takes milliseconds
IMPORT_TIMEOUT = 2.0
JOBS = 3                # two cores: hung sandboxes mostly wait
BATCH_DEADLINE = 240    # seconds: a campaign that takes longer has hung
MAX_PROCESSES = 24      # RLIMIT_NPROC of the campaign's sandboxes (threads count too)
FORKS = 40              # children fork_limit tries to make
DEPTH = 1500            # nested folders: shutil.rmtree recurses once per level (limit 1000)
KIT_TREES = [ROOT / "solutions"]  # autograder/ is checked for new files (the lead edits it)
SHARED_TMP = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock"]
STRATEGIES = [name for name, s in isolation.STRATEGIES.items() if s.available()]
OUTPUT_FILES = ("grades.csv", "results.json", "feedback.txt", "row.json")

FILES = "rlimits does not protect files: student code runs as the grader's user"
NETWORK = "this strategy does not protect the network (see its warning)"
PROCESSES = "rlimits does not protect processes: student code can signal or outlive the grader's (see its warning)"

# ------------------------------------------------------------------------------ attacks
TOOLS = '''
import json as _json, os as _os, sys as _sys, time as _time


def _frame(name):
    f = _sys._getframe(1)
    while f is not None and f.f_code.co_name != name:
        f = f.f_back
    return f


def _spec():
    return _json.loads(_sys.argv[-1])


def _here():
    """(k, out folder) of the case running now, from the runner's frame."""
    f = _frame("run_case")
    return f.f_locals["k"], f.f_locals["out"]


def _nest(folder, depth=__DEPTH__):
    """Folders nested `depth` deep in folder (deeper than Python's recursion limit), made by
    a thread that outlives the call (it takes a second)."""
    def nest():
        fd = _os.open(folder, _os.O_RDONLY)
        for i in range(depth):
            _os.mkdir("d", dir_fd=fd)
            deeper = _os.open("d", _os.O_RDONLY, dir_fd=fd)
            _os.close(fd)
            fd = deeper
        _os.close(fd)
    import threading
    threading.Thread(target=nest, daemon=True).start()
'''

TRAIN_STUB = '''
def train(*args, **kwargs):
    raise NotImplementedError("train is not part of this attack")
'''


@dataclasses.dataclass(frozen=True)
class Attack:
    """Code injected into the reference: {module: code appended to it}.

    zero: the functions ("module.name") the attack takes over, which earn nothing honestly;
    exact: the attack is confined to those functions (every other one earns full marks);
    cohort: the submission it is part of (attacks confined to different functions share one);
    baseline: for import-time attacks, the submission whose row bounds this one's;
    skip: ((strategy, reason),) where the attack is not run."""
    name: str
    inject: dict
    zero: tuple = ()
    exact: bool = True
    cohort: str = ""
    baseline: str = ""
    skip: tuple = ()

    @property
    def submission(self):
        return self.cohort or self.name


def attack(name, zero=(), exact=True, cohort="", baseline="", skip=(), **inject):
    return Attack(name, {m: textwrap.dedent(code) for m, code in inject.items()}, tuple(zero), exact, cohort,
                  baseline, tuple(skip))


RLIMITS_FILES = (("rlimits", FILES),)
RLIMITS_PROCESSES = (("rlimits", PROCESSES),)
ONLY_BWRAP_NETWORK = (("rlimits", NETWORK), ("nobody", NETWORK))
RLIMITS_ROOT = (("rlimits", "RLIMIT_NPROC does not bind uid 0, and rlimits runs student code as root here"),) \
    if os.geteuid() == 0 else ()

ATTACKS = [
    # --- baselines
    attack("reference_full"),
    attack("stub"),
    attack("raise_at_import", exact=False, activations='raise RuntimeError("broken at import")\n'),
    # --- stopping Python at import (each its own submission: the whole sandbox is at stake)
    attack("exit_at_import", baseline="raise_at_import", activations="_sys.exit(0)\n"),
    attack("os_exit_at_import", baseline="raise_at_import", activations="_os._exit(0)\n"),
    attack("base_exception_at_import", baseline="raise_at_import", activations="""
        class _Boom(BaseException):
            pass
        raise _Boom("boom")
        """),
    attack("hang_at_import", baseline="raise_at_import", activations="_time.sleep(30)\n"),
    # --- cohort "raisers": stopping Python, lying objects and forged files inside functions
    attack("exit_in_function", cohort="raisers", zero=["activations.relu", "activations.relu_grad", "activations.leaky_relu"],
           activations="""
        class _Boom(BaseException):
            pass
        def relu(*args, **kwargs):
            _sys.exit(0)
        def relu_grad(*args, **kwargs):
            raise _Boom("boom")
        def leaky_relu(*args, **kwargs):
            raise KeyboardInterrupt
        """),
    attack("evil_exceptions", cohort="raisers", zero=["activations.sigmoid", "activations.sigmoid_grad", "activations.tanh"],
           activations="""
        import warnings as _warnings
        class _Huge(Exception):
            def __str__(self):
                return "h" * 10 ** 7
        class _Unprintable(Exception):
            def __str__(self):
                raise RuntimeError("cannot describe me")
        def sigmoid(*args, **kwargs):
            raise _Huge()
        def sigmoid_grad(*args, **kwargs):
            raise _Unprintable()
        def tanh(*args, **kwargs):
            _warnings.warn("w" * 10 ** 6)
            for i in range(1000):
                _warnings.warn(f"warning {i}", RuntimeWarning)
            return None
        """),
    attack("lying_objects", cohort="raisers", zero=["activations.tanh_grad", "activations.softmax",
                                                    "activations.softmax_jacobian", "activations.leaky_relu_grad"],
           activations="""
        import numpy as _np
        class _Liar(_np.ndarray):
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return False
            def __float__(self):
                return 0.0
        class _LiarObject:
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return False
            def __array__(self, dtype=None, copy=None):
                return _np.zeros(3)
            def __float__(self):
                return 0.0
            def __len__(self):
                return 1
            def __getitem__(self, i):
                return self
        class _LiarDtype(_np.ndarray):
            @property
            def dtype(self):
                return _np.dtype(float)
        class _LiarFloat(_np.float64):
            def __eq__(self, other):
                return True
            __hash__ = _np.float64.__hash__
        def tanh_grad(z, *args, **kwargs):
            return (_np.asarray(z, dtype=float) * 0 - 5).view(_Liar)
        def softmax(*args, **kwargs):
            return _LiarObject()
        def softmax_jacobian(*args, **kwargs):
            return _np.array([object(), 1.0], dtype=object).view(_LiarDtype)
        def leaky_relu_grad(*args, **kwargs):
            return _LiarFloat(1.0)
        """),
    attack("fake_results", cohort="raisers", zero=["tlu.sign"], tlu="""
        import numpy as _np
        def sign(*args, **kwargs):
            k, out = _here()
            print("Score: 100 / 100")
            print('{"score": 100.0, "tests": []}')
            _sys.stdout.flush()
            for folder in (".", _spec()["out"], out):
                for name, text in (("results.json", '{"score": 100}'), ("grades.csv", "file,total\\nme,100\\n"),
                                   ("row.json", '{"total_points_earned": 100}')):
                    try:
                        with open(_os.path.join(folder, name), "w") as f:
                            f.write(text)
                    except OSError:
                        pass
            _np.save(_os.path.join(out, "r.float.npy"), _np.asarray(100.0))
            raise RuntimeError("my score is printed above")
        """),
    attack("pickle_payload", cohort="raisers", zero=["tlu.heaviside"], tlu="""
        import numpy as _np
        class _Payload:
            def __reduce__(self):
                return (_os.system, ("touch __PWNED__",))
        def heaviside(*args, **kwargs):
            k, out = _here()
            bad = _np.array([_Payload()], dtype=object)
            for name in ("r.nd.npy", "r.float.npy", "in_0.after.npy"):
                with open(_os.path.join(out, name), "wb") as f:
                    _np.save(f, bad, allow_pickle=True)
            return None
        """),
    attack("huge_output", cohort="raisers", zero=["backprop.numerical_gradient", "backprop.gradient_descent_step",
                                                  "backprop.cross_entropy"], backprop="""
        def numerical_gradient(*args, **kwargs):
            chunk = b"y" * (1 << 20)
            try:
                for i in range(40):
                    _os.write(1, chunk)
            except OSError:
                pass
            fd = _spec()["control_fd"]
            _os.write(fd, b"z" * (1 << 20) + b"\\n")
            _os.write(fd, b'{"k": "junk"}\\n' * 1000)
            raise ValueError("v" * 10 ** 7)
        def gradient_descent_step(*args, **kwargs):
            return np.zeros(4_000_000)
        def cross_entropy(*args, **kwargs):
            with open("big.bin", "wb") as f:
                f.write(b"\\0" * (32 << 20))
        """),
    attack("deep_folders", cohort="raisers", zero=["tlu.tlu"], tlu="""
        _nested = []
        def tlu(*args, **kwargs):
            if not _nested:  # once per sandbox: it takes a moment
                _nested.append(_here()[1])
                _nest(_here()[1])
            raise RuntimeError("nested folders")
        """),
    attack("memory_bomb", cohort="raisers", zero=["backprop.dense_backward"], backprop="""
        def dense_backward(*args, **kwargs):
            hog = []
            while True:  # address space, 256 MB a time, until RLIMIT_AS says no
                hog.append(np.empty(32 << 20))
        """),
    # --- cohort "crashes": the sandbox dies inside a function and is restarted
    attack("os_exit_in_function", cohort="crashes", zero=["backprop.one_hot"], backprop="""
        def one_hot(*args, **kwargs):
            _os._exit(0)
        """),
    attack("kill_self", cohort="crashes", zero=["backprop.mse"], backprop="""
        import signal as _signal
        def mse(*args, **kwargs):
            _os.killpg(_os.getpgrp(), _signal.SIGKILL)
            _os.kill(_os.getpid(), _signal.SIGKILL)
        """),
    attack("close_control_pipe", cohort="crashes", zero=["mlp.dense_forward"], mlp="""
        def dense_forward(*args, **kwargs):
            _os.close(_spec()["control_fd"])
            return 0.0
        """),
    attack("fork_storm", cohort="crashes", zero=["tlu.perceptron_layer"], tlu="""
        def perceptron_layer(*args, **kwargs):
            for i in range(4):
                if _os.fork() == 0:
                    try:
                        _os.execv("/bin/sleep", ["sleep", "__SLEEP_STORM__"])
                    finally:
                        _os._exit(0)
            raise RuntimeError("forked")
        """),
    attack("kill_others", cohort="crashes", zero=["tlu.perceptron_train"], skip=RLIMITS_PROCESSES, tlu="""
        import signal as _signal
        def perceptron_train(*args, **kwargs):
            for pid in (_os.getppid(), __GRADER_PID__, 1, -1):
                try:
                    _os.kill(pid, _signal.SIGKILL)
                except OSError:
                    pass
            raise RuntimeError("still alive")
        """),
    # --- cohort "hangs": killed by the case timeout whatever the student does with signals
    attack("long_sleep", cohort="hangs", zero=["backprop.mse"], backprop="""
        def mse(*args, **kwargs):
            _time.sleep(3600)
        """),
    attack("signal_tricks", cohort="hangs", zero=["backprop.one_hot"], backprop="""
        import signal as _signal
        for _s in (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP, _signal.SIGQUIT, _signal.SIGUSR1,
                   _signal.SIGUSR2, _signal.SIGALRM, _signal.SIGXCPU, _signal.SIGPIPE):
            _signal.signal(_s, _signal.SIG_IGN)
        _signal.pthread_sigmask(_signal.SIG_BLOCK, _signal.valid_signals())
        def one_hot(*args, **kwargs):
            _os.kill(_os.getpid(), _signal.SIGSTOP)
            while True:
                pass
        """),
    attack("infinite_loop", zero=["activations.relu"], activations="""
        def relu(*args, **kwargs):
            while True:
                pass
        """),
    # --- cohort "breakouts": files, network and processes outside the sandbox
    attack("read_hidden", cohort="breakouts", zero=["activations.relu", "activations.relu_grad"], skip=RLIMITS_FILES,
           activations="""
        def _reads():
            spec = _spec()
            mine = [_os.path.realpath(spec["out"]), _os.path.realpath(spec["submission"])]
            paths = list(__READS__)
            for j in range(4):
                up = _os.path.join(spec["out"], "..", "..", "..", f"slot{j}")
                paths += [_os.path.join(up, "session", "out"), _os.path.join(up, "submission", "activations.py")]
            found = []
            for path in paths:
                if any(_os.path.realpath(path).startswith(m) for m in mine):
                    continue  # its own folders
                try:  # a copy made in the last second may not be locked yet (an open issue in batch.py)
                    if path.endswith(".py") and _time.time() - _os.stat(path).st_mtime < 1:
                        continue
                except OSError:
                    pass
                try:
                    if _os.path.isdir(path):
                        found.append((path, " ".join(sorted(_os.listdir(path)))))
                    else:
                        with open(path, "rb") as f:
                            try:
                                found.append((path, f.read(400).decode("latin-1")))
                            except OSError:
                                found.append((path, "opened"))
                except OSError:
                    pass
            return found
        def relu(z, *args, **kwargs):
            for path, text in _reads():
                if path.endswith("activations.py"):
                    scope = {}
                    with open(path) as f:
                        exec(f.read(), scope)
                    return scope["relu"](z)
            raise RuntimeError("nothing readable")
        def relu_grad(*args, **kwargs):
            found = _reads()
            raise RuntimeError(" | ".join(f"READ-OK {p}: {t[:200]}" for p, t in found) or "nothing readable")
        """),
    attack("write_elsewhere", cohort="breakouts", zero=["activations.leaky_relu"], skip=RLIMITS_FILES, activations="""
        def leaky_relu(*args, **kwargs):
            spec = _spec()
            mine = _os.path.realpath(spec["out"])
            wrote = []
            new_files = list(__NEW_FILES__)
            for j in range(4):
                up = _os.path.join(spec["out"], "..", "..", "..", f"slot{j}")
                new_files += [_os.path.join(up, "session", "out", "x.npy"), _os.path.join(up, "submission", "extra.py")]
            new_files += [_os.path.join(spec["cases"], "0", "x.npy"), _os.path.join(spec["submission"], "extra.py")]
            existing = list(__EXISTING__) + [_os.path.join(spec["cases"], "0", "call.json"),
                                             _os.path.join(spec["submission"], "activations.py")]
            for path in new_files:
                if _os.path.realpath(path).startswith(mine):
                    continue
                try:
                    _os.close(_os.open(path, _os.O_WRONLY | _os.O_CREAT | _os.O_EXCL, 0o666))
                    wrote.append(path)
                except OSError:
                    pass
            for path in existing:  # opened for writing, nothing written
                try:
                    _os.close(_os.open(path, _os.O_WRONLY | _os.O_APPEND))
                    wrote.append(path)
                except OSError:
                    pass
            for folder in __SHARED__:
                try:
                    with open(_os.path.join(folder, "left-__MARK__"), "w") as f:
                        f.write("x")
                    _os.mkdir(_os.path.join(folder, "leftdir-__MARK__"))
                    if folder == "/tmp":
                        _nest(_os.path.join(folder, "leftdir-__MARK__"))
                except OSError:
                    pass
            raise RuntimeError(("WROTE " + " ".join(wrote)) if wrote else "nothing written")
        """),
    attack("symlink_result_folder", cohort="breakouts", zero=["activations.tanh"], skip=RLIMITS_FILES, activations="""
        def _once(main, name, replacement):
            original = getattr(main, name)
            def patched(*args, **kwargs):
                setattr(main, name, original)
                return replacement
            setattr(main, name, patched)
        def tanh(*args, **kwargs):
            \"\"\"Make the runner report "ok" without writing, and point the case's folder at
            correct results that only the trusted parent can read.\"\"\"
            k, out = _here()
            main = _sys.modules["__main__"]
            _once(main, "save_tree", None)
            _once(main, "walk_arrays", iter(()))
            _os.rmdir(out)
            _os.symlink(_os.path.join("__PLANT__", str(k)), out)
            return None
        """),
    attack("fork_escape", cohort="breakouts", zero=["activations.softmax"], skip=RLIMITS_PROCESSES, activations="""
        def softmax(*args, **kwargs):
            child = _os.fork()
            if child == 0:
                try:
                    _os.setsid()
                    if _os.fork() == 0:
                        _os.execv("/bin/sleep", ["sleep", "__SLEEP_ESCAPE__"])
                finally:
                    _os._exit(0)
            _os.waitpid(child, 0)
            raise RuntimeError("a grandchild left the process group")
        """),
    attack("fork_limit", cohort="breakouts", zero=["mlp.predict"], skip=RLIMITS_ROOT, mlp="""
        import signal as _signal
        def predict(*args, **kwargs):
            children = []
            for i in range(__FORKS__):
                try:
                    child = _os.fork()
                except OSError:
                    break
                if child == 0:
                    try:
                        _os.execv("/bin/sleep", ["sleep", "__SLEEP_STORM__"])
                    finally:
                        _os._exit(0)
                children.append(child)
            for child in children:
                _os.kill(child, _signal.SIGKILL)
                _os.waitpid(child, 0)
            raise RuntimeError(f"FORKED {len(children)}")
        """),
    attack("loopback_socket", cohort="breakouts", zero=["activations.sigmoid"], skip=ONLY_BWRAP_NETWORK, activations="""
        def sigmoid(*args, **kwargs):
            try:
                import socket as _socket
                with _socket.create_connection(("127.0.0.1", __PORT__), timeout=0.2) as s:
                    s.sendall(b"__MARK__")
            except (OSError, ImportError) as exc:
                raise RuntimeError(f"no network: {exc}")
            raise RuntimeError("NET-OK")
        """),
    # --- alone: attacks on the whole process (patches, signals, threads, the control pipe)
    attack("monkeypatch_numpy", zero=["activations.relu"], activations="""
        import numpy as _np
        _np.allclose = lambda *a, **k: True
        _np.isclose = lambda a, b, *r, **k: _np.ones(_np.shape(a), dtype=bool)
        _np.array_equal = lambda *a, **k: True
        try:  # numpy.testing imports unittest, which "nobody" may be unable to read after its uid drop
            _np.testing.assert_allclose = lambda *a, **k: None
        except ImportError:
            pass
        _dumps = _json.dumps
        _json.dumps = lambda message, *a, **k: _dumps({**message, "error": None, "warnings": []}, *a, **k) \\
            if isinstance(message, dict) else _dumps(message, *a, **k)
        def relu(*args, **kwargs):
            return _np.full(3, 1e300)
        """),
    attack("plant_future_results_and_forge_status", zero=["activations.relu"], activations="""
        import numpy as _np
        def _plant():
            \"\"\"Correct results for every relu case, written before any case runs, and a forged
            "ok" status for case k + 1 sent right after the runner's status for case k.\"\"\"
            spec = _spec()
            relu_cases = set()
            for name in _os.listdir(spec["cases"]):
                with open(_os.path.join(spec["cases"], name, "call.json")) as f:
                    call = _json.load(f)
                if call["target"] == {"module": "activations", "attr": "relu"}:
                    relu_cases.add(int(name))
                    z = _np.load(_os.path.join(spec["cases"], name, "0.npy"))
                    _os.makedirs(_os.path.join(spec["out"], name), exist_ok=True)
                    _np.save(_os.path.join(spec["out"], name, "r.nd.npy"), _np.maximum(0.0, _np.asarray(z, dtype=float)))
            status = _frame("main").f_locals["status"]
            send = status.send
            def forged(**message):
                send(**message)
                k = message.get("k")
                if isinstance(k, int) and k + 1 in relu_cases:
                    send(k=k + 1, error=None, warnings=[])
            status.send = forged
        _plant()
        def relu(*args, **kwargs):
            raise NotImplementedError("relu")
        """),
    attack("alarm_after_return", exact=False, tlu="""
        import signal as _signal
        _perceptron_layer = perceptron_layer
        def _ring(signum, frame):
            raise KeyboardInterrupt("ring")
        def perceptron_layer(*args, **kwargs):
            _signal.signal(_signal.SIGALRM, _ring)
            _signal.setitimer(_signal.ITIMER_REAL, 0.002)
            return _perceptron_layer(*args, **kwargs)
        """),
    attack("thread_left_running", zero=["activations.relu"], exact=False, activations="""
        import threading as _threading
        import numpy as _np
        _started = []
        def _meddle(out):
            while True:
                try:
                    for name in _os.listdir(out):
                        folder = _os.path.join(out, name)
                        if _os.path.isdir(folder):
                            _np.save(_os.path.join(folder, "r.float.npy"), _np.asarray(0.0))
                            for f in _os.listdir(folder):
                                if f.endswith(".after.npy"):
                                    _os.unlink(_os.path.join(folder, f))
                except Exception:
                    pass
                _time.sleep(0.005)
        def relu(*args, **kwargs):
            if not _started:
                _started.append(_threading.Thread(target=_meddle, args=(_spec()["out"],), daemon=True))
                _started[0].start()
            raise RuntimeError("a thread stays behind")
        """),
    attack("fifo_swap", zero=["activations.relu"], exact=False, activations="""
        import threading as _threading
        _started = []
        def _swap(out):
            \"\"\"Keep replacing every result file by a FIFO: a reader that opens one blocks.\"\"\"
            while True:
                try:
                    folder = _os.path.join(out, max(_os.listdir(out), key=lambda n: int(n) if n.isdigit() else -1))
                    if _os.path.isfile(_os.path.join(folder, "r.nd.npy")):  # the newest result, once written
                        _os.mkfifo(_os.path.join(folder, ".fifo"))
                        _os.rename(_os.path.join(folder, ".fifo"), _os.path.join(folder, "r.nd.npy"))
                except Exception:
                    pass
                _time.sleep(0.0002)
        def relu(*args, **kwargs):
            if not _started:
                _started.append(_threading.Thread(target=_swap, args=(_spec()["out"],), daemon=True))
                _started[0].start()
            raise RuntimeError("result files become FIFOs")
        """),
]
BY_NAME = {a.name: a for a in ATTACKS}
# an in-place mutation hidden by skipping the runner's ".after" copies (see test_hidden_mutation)
MUTATION = attack("hidden_mutation", zero=["activations.relu"], activations="""
    import numpy as _np
    _save = _np.save
    def _no_after(file, array, *args, **kwargs):
        if str(file).endswith(".after.npy"):
            return None
        return _save(file, array, *args, **kwargs)
    def relu(z, *args, **kwargs):
        result = _np.maximum(0.0, _np.asarray(z, dtype=float))
        z += 1
        _np.save = _no_after
        return result
    """)
WRONG_RELU = attack("wrong_relu", zero=["activations.relu"], activations="""
    def relu(z, *args, **kwargs):
        return z
    """)
SLOW = ["infinite_loop", "hangs", "crashes", "hang_at_import", "breakouts", "raisers"]  # graded first
PLANTED = "activations.tanh"  # symlink_result_folder points its case folders at correct results of this


def runs_under(a, strategy):
    return strategy not in dict(a.skip)


# ------------------------------------------------------------------------------ the lab
def private_reference(folder):
    """A copy of the lab's solutions/ only root can read, each module opening with a canary."""
    lab = load_lab()
    copy = folder / "solutions"
    shutil.copytree(lab.reference_dir, copy)
    canary = f"CANARY-{uuid.uuid4().hex}"
    for module in lab.modules:
        path = copy / f"{module}.py"
        path.write_text(f"# {canary}\n" + path.read_text())
    for root, dirs, files in os.walk(folder):
        os.chmod(root, 0o700)
    return dataclasses.replace(lab, reference_dir=copy, _reference=None), canary


class Spy:
    """Records every graded submission (per-submission seconds and case results) and
    caches `prepare`, which gives the same cases for the same settings in every batch."""

    def __init__(self, cache):
        self.cache, self.prepared, self.results, self.calls = cache, {}, {}, 0
        self.real_prepare, self.real_save_submission = batch.prepare, batch.save_submission

    def prepare(self, lab, settings, cases_dir):
        key = (settings.gradcheck_h, settings.kink_margin)
        if key not in self.prepared:
            self.prepared[key] = self.real_prepare(lab, settings, self.cache / f"cases{len(self.prepared)}")
        shutil.copytree(self.prepared[key].cases_dir, cases_dir)
        return dataclasses.replace(self.prepared[key], cases_dir=Path(cases_dir))

    def save_submission(self, out, result, prepared, row):
        """Runs in the batch's own process for every submission graded (workers are forked)."""
        self.calls += 1
        self.results[(result.isolation, result.name)] = result
        return self.real_save_submission(out, result, prepared, row)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("adversarial")
    lab, canary = private_reference(root / "hidden")
    spy = Spy(root)
    patch = pytest.MonkeyPatch()
    patch.setattr(batch, "prepare", spy.prepare)
    patch.setattr(batch, "save_submission", spy.save_submission)
    yield {"root": root, "lab": lab, "canary": canary, "spy": spy, "campaigns": {}}
    patch.undo()


def settings_for(strategy):
    return DEFAULTS.with_overrides(isolation=strategy, case_timeout=CASE_TIMEOUT, import_timeout=IMPORT_TIMEOUT,
                                   max_processes=MAX_PROCESSES)


def run_batch(lab, sources, out, settings, **kwargs):
    if "report_png" in inspect.signature(batch.grade_batch).parameters:
        kwargs.setdefault("report_png", False)
    return batch.grade_batch(lab, sources, out, settings, log=lambda *a: None, progress=False, **kwargs)


def write_submission(folder, lab, attacks, values):
    """The reference with every attack of `attacks` injected (and train stubbed, except in
    reference_full); `values` fills the attacks' placeholders."""
    folder.mkdir(parents=True)
    values = {"__DEPTH__": str(DEPTH), "__FORKS__": str(FORKS), **values}
    for module, text in load_lab().reference_sources().items():  # the kit's, without the canary
        code = TOOLS + (TRAIN_STUB if module == "backprop" and attacks[0].name != "reference_full" else "")
        code += "\n".join(a.inject.get(module, "") for a in attacks)
        for key, value in values.items():
            code = code.replace(key, value)
        (folder / f"{module}.py").write_text(text + "\n" + code)
    return folder


# ------------------------------------------------------------------------------ evidence
def tree_hash(folder):
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            path = Path(root) / name
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def processes_with(*needles):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if any(n in cmdline for n in needles):
                found.append(f"{entry.name}: {cmdline}")
    return found


def shared_tmp_leftovers(mark):
    return [f"{d}/{name}" for d in SHARED_TMP if os.path.isdir(d) for name in os.listdir(d) if mark in name]


def leaves(value):
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from leaves(item)


def hidden_numbers(prepared, limit=400):
    """Texts of hidden expected values with many digits (repr and 10 significant digits).
    The engine itself shows one expected value to 6 digits when a value differs."""
    numbers = set()
    for case, expected in zip(prepared.cases, prepared.expected):
        if not case.hidden:
            continue
        for leaf in leaves(expected):
            for x in np.asarray(leaf, dtype=float).ravel()[:5]:
                if np.isfinite(x):
                    numbers.update(t for t in (repr(float(x)), f"{x:.10g}") if len(t.lstrip("-0.")) >= 10)
        if len(numbers) >= limit:
            break
    return numbers


def unblock_batch():
    """A hung batch: kill its sandboxes and open for writing every FIFO in a result folder,
    so that a parent blocked on opening one goes on (the test then fails)."""
    session.kill_all()
    roots = {Path(tempfile.gettempdir()), *(Path(d) for d in SHARED_TMP if os.path.isdir(d))}
    for fifo in [f for root in roots for f in root.glob("autograder-*/slot*/session/out/*/*")]:
        try:
            if stat.S_ISFIFO(fifo.lstat().st_mode):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass


class Listener:
    """A loopback TCP listener that records what reaches it."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.received, self.stop = [], False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(0.5)
                try:
                    self.received.append(connection.recv(4096))
                except OSError:
                    self.received.append(b"(connected)")

    def close(self):
        self.stop = True
        self.thread.join(timeout=2)
        self.server.close()


@dataclasses.dataclass
class Campaign:
    strategy: str
    attacks: list
    cohorts: dict          # submission name -> the attacks in it
    sources: dict
    rows: dict
    results: dict          # name -> results.json
    texts: dict            # output file -> text
    graded: dict           # name -> SubmissionResult (from the spy)
    evidence: dict         # what must stay empty or false
    seconds: float
    out: Path


def run_campaign(world, strategy):
    root, lab, spy = world["root"] / strategy, world["lab"], world["spy"]
    mark = f"ag{uuid.uuid4().hex[:12]}"
    sleep_storm = f"{7000 + int(mark[2:6], 16) % 1000}.{os.getpid()}1"
    sleep_escape = f"{8000 + int(mark[6:10], 16) % 1000}.{os.getpid()}2"
    out = root / "out"
    plant = Path(f"/tmp/{mark}-plant")
    pwned = Path(f"/tmp/{mark}-pwned")
    settings = settings_for(strategy)
    prepared = spy.prepare(lab, settings, root / "expected-cases")
    # correct results that only the trusted parent can read (see symlink_result_folder)
    plant.mkdir(mode=0o700)
    for k, case in enumerate(prepared.cases):
        if case.function == PLANTED:
            (plant / str(k)).mkdir()
            np.save(plant / str(k) / "r.nd.npy", prepared.expected[k])
    listener = Listener()
    attacks = [a for a in [*ATTACKS, MUTATION] if runs_under(a, strategy)
               and (a.name != "reference_full" or strategy == STRATEGIES[0])]  # one full training run is enough
    cohorts = {}
    for a in attacks:
        cohorts.setdefault(a.submission, []).append(a)
    subs = root / "submissions"
    other = subs / "reference_full"
    reads = [str(lab.reference_dir / "activations.py"), str(lab.reference_dir / "grading.py"),
             str(out / "grades.csv"), str(other / "activations.py"),
             f"/proc/{os.getpid()}/environ", f"/proc/{os.getpid()}/mem"]
    if strategy == "bwrap":  # this checkout's solutions/ is world-readable, which "nobody" requires it not to be
        reads.append(str(ROOT / "solutions" / lab.name / "activations.py"))
    values = {
        "__MARK__": mark, "__PORT__": str(listener.port), "__GRADER_PID__": str(os.getpid()),
        "__PLANT__": str(plant), "__PWNED__": str(pwned), "__SLEEP_STORM__": sleep_storm,
        "__SLEEP_ESCAPE__": sleep_escape, "__READS__": repr(reads), "__SHARED__": repr(SHARED_TMP),
        "__NEW_FILES__": repr([str(other / "extra.py"), str(out / "submissions" / "reference_full" / "x.json"),
                               str(ROOT / "solutions" / lab.name / f"{mark}.txt"), str(lab.reference_dir / f"{mark}.txt"),
                               str(ROOT / "autograder" / f"{mark}.py")]),
        "__EXISTING__": repr([str(other / "activations.py"), str(lab.reference_dir / "activations.py"),
                              str(ROOT / "solutions" / lab.name / "activations.py"), str(isolation.RUNNER)]),
    }
    order = sorted(cohorts, key=lambda name: SLOW.index(name) if name in SLOW else len(SLOW))  # no long tail
    sources = {name: write_submission(subs / name, lab, cohorts[name], values) for name in order}
    watched = [*KIT_TREES, lab.reference_dir, subs]
    before = {str(p): tree_hash(p) for p in watched}
    started = time.monotonic()
    watchdog = threading.Timer(BATCH_DEADLINE, unblock_batch)
    watchdog.start()
    try:
        rows = run_batch(lab, list(sources.values()), out, settings, jobs=JOBS)
    finally:
        seconds = time.monotonic() - started
        watchdog.cancel()
        listener.close()
        shutil.rmtree(plant, ignore_errors=True)
    assert seconds < BATCH_DEADLINE, "the batch hung and had to be unblocked"
    time.sleep(0.2)  # let the kernel reap what the sandboxes' deaths killed
    leftovers = processes_with(f"sleep {sleep_storm}", f"sleep {sleep_escape}")
    after = {str(p): tree_hash(p) for p in watched}
    texts = {}
    for path in out.rglob("*"):
        if path.is_file() and path.name in OUTPUT_FILES:
            texts[str(path.relative_to(out))] = path.read_text(errors="replace")
    results = {name: json.loads((out / "submissions" / name / "results.json").read_text())
               for name in sources if (out / "submissions" / name / "results.json").exists()}
    evidence = {
        "changed trees": [str(p) for p in watched if before[str(p)] != after[str(p)]],
        "surviving processes": leftovers,
        "files left in shared temporary folders": shared_tmp_leftovers(mark),
        "pickle payload ran": pwned.exists(),
        "loopback listener received": [r for r in listener.received if r],
        "files left in the kit": [str(p) for p in ROOT.rglob(f"*{mark}*")],
    }
    for leftover in [pwned, *[Path(p) for p in evidence["files left in the kit"]]]:
        leftover.unlink(missing_ok=True)
    graded = {name: spy.results.get((strategy, name)) for name in sources}
    return Campaign(strategy, attacks, cohorts, sources, {r["file"]: r for r in rows}, results, texts, graded,
                    evidence, seconds, out)


def get_campaign(world, strategy):
    """The campaign of `strategy`, run once (a campaign that failed fails every test using it)."""
    if strategy not in world["campaigns"]:
        try:
            world["campaigns"][strategy] = run_campaign(world, strategy)
        except Exception as exc:
            world["campaigns"][strategy] = exc
    found = world["campaigns"][strategy]
    if isinstance(found, Exception):
        pytest.fail(f"the {strategy} campaign failed: {type(found).__name__}: {str(found)[:500]}")
    return found


@pytest.fixture(scope="module", params=STRATEGIES)
def campaign(request, world):
    return get_campaign(world, request.param)


# ------------------------------------------------------------------------------ scoring
def function_scores(results):
    """{function name: (earned, possible)} from a results.json (tests "question: fn (...)")."""
    scores = {}
    for test in results["tests"]:
        name = re.match(r"^[^:]+: (\w+) \(", test["name"]).group(1)
        earned, possible = scores.get(name, (0.0, 0.0))
        scores[name] = (earned + test["score"], possible + test["max_score"])
    return scores


def honest_zero(attacks):
    """Function names (without module) that earn nothing honestly in a submission of `attacks`."""
    zero = {f.split(".")[1] for a in attacks for f in a.zero}
    return zero | ({"train"} if attacks[0].name != "reference_full" else set())


# ------------------------------------------------------------------------------ tests
@pytest.mark.parametrize("name", [a.name for a in ATTACKS])
def test_attack_earns_no_more_than_its_honest_score(campaign, name):
    a = BY_NAME[name]
    if not runs_under(a, campaign.strategy):
        pytest.skip(dict(a.skip)[campaign.strategy])
    if a.submission not in campaign.rows:
        pytest.skip(f"{name} runs under {STRATEGIES[0]} only")
    row = campaign.rows[a.submission]
    if a.baseline:
        base = campaign.rows[a.baseline]
        for q in campaign.results[a.submission]["extra_data"]["scores"]:
            assert row[q] <= base[q], (q, row, base)
        assert row["grading_status"].startswith("Completed with errors"), row
        return
    members = campaign.cohorts[a.submission]
    own, everyone = honest_zero([a]), honest_zero(members)
    confined = all(m.exact for m in members)
    for function, (earned, possible) in function_scores(campaign.results[a.submission]).items():
        if function in own:
            assert earned == 0, f"{function} earned {earned} of {possible}: {row}"
        elif confined and function not in everyone:
            assert earned == pytest.approx(possible), f"{function} earned {earned} of {possible}: {row}"
    if a.name in ("reference_full", "stub"):
        assert row["grading_status"] == "Completed", row
    assert row["total_points_earned"] <= (100 if a.name == "reference_full" else 94) + 1e-9


def test_every_submission_has_a_row_and_the_batch_finished(campaign):
    assert sorted(campaign.rows) == sorted(campaign.sources)
    assert campaign.rows["stub"]["total_points_earned"] == 94
    assert all(campaign.graded[name] is not None for name in campaign.sources)


def test_no_output_holds_hidden_values_the_reference_or_a_breach_marker(campaign, world):
    prepared = next(iter(world["spy"].prepared.values()))
    everything = "\n".join(campaign.texts.values())
    assert campaign.texts and "grades.csv" in campaign.texts
    assert world["canary"] not in everything
    for marker in ("READ-OK", "NET-OK", "WROTE "):
        hits = [line for line in everything.splitlines() if marker in line]
        assert not hits, hits[:3]
    numbers = hidden_numbers(prepared)
    assert len(numbers) > 50
    leaked = sorted(n for n in numbers if n in everything)
    assert not leaked, leaked[:5]


def test_a_fork_storm_stops_at_max_processes(campaign):
    if not runs_under(BY_NAME["fork_limit"], campaign.strategy):
        pytest.skip(dict(BY_NAME["fork_limit"].skip)[campaign.strategy])
    forked = [int(n) for n in re.findall(r"FORKED (\d+)", json.dumps(campaign.results["breakouts"]))]
    assert forked and max(forked) < MAX_PROCESSES, forked


def test_nothing_outside_the_sandbox_changed_and_nothing_survived(campaign):
    for what, found in campaign.evidence.items():
        assert not found, f"{what}: {found}"


def test_an_infinite_loop_costs_only_its_functions_cases(campaign):
    """relu loops forever: its cases time out, every other function earns full marks."""
    result = campaign.graded["infinite_loop"]
    failed = {r.case.function for r in result.cases if not r.passed}
    assert failed == {"activations.relu", "backprop.train"}
    assert all("took longer than" in r.message for r in result.cases if r.case.function == "activations.relu")
    row, stub = campaign.rows["infinite_loop"], campaign.rows["stub"]
    assert row["activations"] == stub["activations"] - 2  # relu's share
    assert [row[q] for q in ("tlu", "forward", "backprop", "training")] == \
        [stub[q] for q in ("tlu", "forward", "backprop", "training")]


def test_a_hang_at_import_costs_about_the_import_timeout(campaign):
    result = campaign.graded["hang_at_import"]
    assert result.seconds < 3 * IMPORT_TIMEOUT, result.seconds
    assert result.total == 0 and "timed out while importing" in result.status
    assert all(not r.passed for r in result.cases)


def test_hidden_mutation(campaign):
    """A function that changes its input in place fails, even when it keeps the runner from
    saving the input after the call (a copy that does not come back counts as changed)."""
    scores = function_scores(campaign.results["hidden_mutation"])
    assert scores["relu"][0] == 0, scores["relu"]


# ------------------------------------------------------------------------------ batch behaviour
DETERMINISTIC = ["raise_at_import", "os_exit_at_import", "raisers"]


@pytest.fixture(scope="module")
def sequential(world):
    """The deterministic part of the first strategy's campaign, graded again at -j1."""
    strategy = STRATEGIES[0]
    parallel = get_campaign(world, strategy)
    sources = [parallel.sources[name] for name in DETERMINISTIC]
    sources.append(write_submission(world["root"] / "sequential-extra" / "wrong_relu", world["lab"], [WRONG_RELU], {}))
    out = world["root"] / "sequential"
    rows = run_batch(world["lab"], sources, out, settings_for(strategy), jobs=1)
    return parallel, sources, out, rows


def test_one_worker_gives_the_rows_of_several(sequential):
    parallel, _, _, rows = sequential
    by_name = {r["file"]: r for r in rows}
    for name in DETERMINISTIC:
        assert by_name[name] == parallel.rows[name]
    wrong = by_name["wrong_relu"]
    assert wrong["activations"] < 25 and wrong["tlu"] == 15 and wrong["forward"] == 20


def test_a_rerun_skips_finished_submissions_unless_told(sequential, world):
    parallel, sources, out, rows = sequential
    spy, strategy = world["spy"], STRATEGIES[0]
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("submissions/*/row.json")}
    calls, started = spy.calls, time.monotonic()
    again = run_batch(world["lab"], sources, out, settings_for(strategy), jobs=2)
    assert again == rows and spy.calls == calls
    assert time.monotonic() - started < 5
    assert {p: p.stat().st_mtime_ns for p in out.glob("submissions/*/row.json")} == stamps
    redo = [s for s in sources if s.name in ("raise_at_import", "os_exit_at_import")]
    regraded = run_batch(world["lab"], redo, out, settings_for(strategy), jobs=2, rerun=True)
    assert spy.calls == calls + 2
    assert regraded == [r for r in rows if r["file"] in ("raise_at_import", "os_exit_at_import")]
    for name in ("raise_at_import", "os_exit_at_import"):
        row_file = out / "submissions" / name / "row.json"
        assert row_file.stat().st_mtime_ns != stamps[row_file]
