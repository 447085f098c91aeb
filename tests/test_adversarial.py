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

from autograder import batch, report  # noqa: E402
from autograder.catalogue import Catalogue  # noqa: E402
from autograder.config import DEFAULTS  # noqa: E402
from autograder.findings import Kind  # noqa: E402
from autograder.labs import load_lab  # noqa: E402
from autograder.sandbox import isolation, session, strategies  # noqa: E402

CASE_TIMEOUT = 1.0      # every reference case but train's (which has its own) takes milliseconds
IMPORT_TIMEOUT = 2.0
JOBS = 3                # two cores: hung sandboxes mostly wait
BATCH_DEADLINE = 240    # seconds: a campaign that takes longer has hung
MAX_PROCESSES = 24      # RLIMIT_NPROC of the campaign's sandboxes (threads count too)
FORKS = 40              # children fork_limit tries to make
DEPTH = 1500            # nested folders: shutil.rmtree recurses once per level (limit 1000)
KIT_TREES = [ROOT / "solutions"]  # autograder/ is checked for new files (the lead edits it)
SHARED_TMP = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock"]
STRATEGIES = isolation.working(DEFAULTS)
if "nobody" in STRATEGIES:   # and its fallback where the kernel forbids namespaces (Gradescope)
    STRATEGIES.insert(STRATEGIES.index("nobody") + 1, "nobody-shared")
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
    """The runner's spec (it arrives on stdin, never on the command line)."""
    return _frame("main").f_locals["spec"]


def _channel():
    return _frame("main").f_locals["channel"]


def _forge(header, blobs=()):
    """A frame of our own on the answer pipe."""
    _sys.modules["__main__"].wire.send(_spec()["wire_fd"], header, blobs)


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
NO_NAMESPACE_NETWORK = (("rlimits", NETWORK), ("nobody-shared", NETWORK))
RLIMITS_ROOT = (("rlimits", "RLIMIT_NPROC does not bind uid 0, and rlimits runs student code as root here"),) \
    if os.geteuid() == 0 else ()

ATTACKS = [
    # --- baselines (stub, stub_2 and stub_3 are correct copies graded beside the attacks)
    attack("reference_full"),
    attack("stub"),
    attack("stub_2"),
    attack("stub_3"),
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
    attack("forged_import_status", baseline="raise_at_import", activations="""
        _fake = "\\x1b[2J\\x1b[H" + "Score: 100 / 100\\n" * 400 + "\\x1b]0;pwned\\x07"
        for _k in range(3):  # the answer to the parent's import command, written first by student code
            _forge({"token": _channel().token, "error": {"type": _fake, "text": _fake}, "ready": {"activations": _fake}})
        raise RuntimeError(_fake)
        """),
    attack("slow_backprop_import", zero=["backprop.one_hot", "backprop.cross_entropy", "backprop.mse",
                                         "backprop.dense_backward", "backprop.mlp_backward",
                                         "backprop.numerical_gradient", "backprop.gradient_descent_step"],
           backprop="_time.sleep(30)  # demo code without a __main__ guard\n"),
    # --- cohort "raisers": stopping Python, lying objects, forged frames and student text
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
        def sign(*args, **kwargs):
            print("Score: 100 / 100")
            _forge({"token": "0" * 32, "done": True, "error": None, "result": {"f": 100.0}})
            _forge({"token": _channel().token, "score": 100, "tests": []})
            raise RuntimeError("my score is printed above")
        """),
    attack("pickle_payload", cohort="raisers", zero=["tlu.heaviside"], tlu="""
        import io as _io
        import numpy as _np
        class _Payload:
            def __reduce__(self):
                return (_os.system, ("touch __PWNED__",))
        def heaviside(*args, **kwargs):
            buffer = _io.BytesIO()
            _np.save(buffer, _np.array([_Payload()], dtype=object), allow_pickle=True)
            _forge({"token": _channel().token, "done": True, "error": None, "result": {"a": 0}}, [buffer.getvalue()])
            return None
        """),
    attack("npz_result", cohort="raisers", zero=["mlp.predict"], mlp="""
        import io as _io
        import numpy as _np
        def predict(X, *args, **kwargs):
            buffer = _io.BytesIO()
            _np.savez(buffer, r=_np.zeros(len(X), dtype=int))
            _forge({"token": _channel().token, "done": True, "error": None, "result": {"a": 0}}, [buffer.getvalue()])
            _time.sleep(0.05)
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
            fd = _spec()["wire_fd"]
            _os.write(fd, b'{"k": "junk"}\\n' * 1000)
            _os.write(fd, b"z" * (2 << 20) + b"\\n")
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
                _nested.append(1)
                _os.makedirs("deep", exist_ok=True)
                _nest("deep")
            raise RuntimeError("nested folders")
        """),
    attack("memory_bomb", cohort="raisers", zero=["backprop.dense_backward"], backprop="""
        def dense_backward(*args, **kwargs):
            hog = []
            while True:  # address space, 256 MB a time, until RLIMIT_AS says no
                hog.append(np.empty(32 << 20))
        """),
    attack("escape_codes", cohort="raisers", zero=["tlu.perceptron_layer"], tlu="""
        _Fake = type("\\x1b[31mScore: 100 / 100\\x1b[0m", (Exception,), {})
        def perceptron_layer(*args, **kwargs):
            raise _Fake("\\x1b[2J\\x1b[HScore: 100 / 100\\n" * 50 + "\\r\\x07\\x00" + "x" * 400)
        """),
    attack("leak_inputs", zero=["backprop.mse", "mlp.mlp_forward"], mlp="""
        import numpy as _np
        _np.set_printoptions(precision=17, threshold=10 ** 6)
        _calls = []
        _main = _sys.modules["__main__"]
        _load = _main.load_args
        _depth = []
        def _recording(node, arena, fn):
            \"\"\"Keep every argument array of every case this sandbox runs (load_args recurses:
            only its outermost call is a case's arguments).\"\"\"
            _depth.append(1)
            try:
                value = _load(node, arena, fn)
            finally:
                _depth.pop()
            if not _depth and isinstance(value, tuple):
                _calls.append([_np.array(v, dtype=float) for v in value if isinstance(v, _np.ndarray)])
            return value
        _main.load_args = _recording
        def mlp_forward(X, params, *args, **kwargs):
            \"\"\"Every public case's message starts with inputs of the case run before it.\"\"\"
            earlier = [a for call in _calls[:-1][-1:] for a in call]
            leaked = " ".join(f"{x:.6g}" for a in earlier for x in a.ravel()[:8])
            raise ValueError(leaked + f" X = {X!r} W = {params[0][0]!r}")
        """, backprop="""
        _mse_calls = []
        def mse(a, b, *args, **kwargs):
            \"\"\"From its second call on (its hidden cases), words of our own and the inputs.\"\"\"
            _mse_calls.append(1)
            words = "HIDDEN-WORDS " if len(_mse_calls) > 1 else ""
            raise ValueError(words + " ".join(f"{x:.6g} {x!r}" for x in list(np.ravel(a)) + list(np.ravel(b))))
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
    attack("close_answer_pipe", cohort="crashes", zero=["mlp.dense_forward"], mlp="""
        def dense_forward(*args, **kwargs):
            _os.close(_spec()["wire_fd"])
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
    attack("infinite_loop", zero=["activations.relu", "backprop.mlp_backward"], activations="""
        def relu(*args, **kwargs):
            while True:
                pass
        """, backprop="""
        def mlp_backward(*args, **kwargs):
            while True:
                pass
        """),
    # --- cohort "breakouts": files, network, processes, IPC and the kit outside the sandbox
    attack("read_hidden", cohort="breakouts", zero=["activations.relu", "activations.relu_grad"], skip=RLIMITS_FILES,
           activations="""
        def _reads():
            spec = _spec()
            mine = _os.path.realpath(spec["submission"])
            paths = list(__READS__)
            for j in range(4):
                up = _os.path.join(spec["submission"], "..", "..", f"slot{j}")
                paths += [_os.path.join(up, "submission", "activations.py")]
            found = []
            for path in paths:
                if _os.path.realpath(path).startswith(mine):
                    continue  # its own folder
                try:
                    with open(path, "rb") as f:
                        found.append((path, f.read(400).decode("latin-1")))
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
            wrote = []
            new_files = list(__NEW_FILES__)
            for j in range(4):
                up = _os.path.join(spec["submission"], "..", "..", f"slot{j}")
                new_files += [_os.path.join(up, "submission", "extra.py")]
            new_files += [_os.path.join(spec["submission"], "extra.py")]
            existing = list(__EXISTING__) + [_os.path.join(spec["submission"], "activations.py")]
            for path in new_files:
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
    attack("proc_snoop", cohort="breakouts", zero=["activations.tanh"], skip=RLIMITS_FILES, activations="""
        def tanh(z, *args, **kwargs):
            \"\"\"Find other submissions' folders in /proc and run their tanh.\"\"\"
            for pid in [p for p in _os.listdir("/proc") if p.isdigit()]:
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        words = f.read().decode(errors="replace").split("\\0")
                except OSError:
                    continue
                for word in words:
                    for candidate in (word, _os.path.join(word, "activations.py")):
                        if candidate.endswith("activations.py") and "reference_full" in candidate:
                            try:
                                scope = {}
                                with open(candidate) as f:
                                    exec(f.read(), scope)
                                return scope["tanh"](z)
                            except Exception:
                                pass
            raise RuntimeError("no other submission found")
        """),
    attack("argv0_kit", cohort="breakouts", zero=["activations.tanh_grad"], skip=RLIMITS_FILES, activations="""
        def tanh_grad(z, *args, **kwargs):
            \"\"\"Walk up from the runner's own path to a solutions/ folder and run its tanh_grad.\"\"\"
            for start in (_sys.argv[0], getattr(_sys.modules["__main__"], "__file__", "")):
                folder = _os.path.dirname(_os.path.abspath(start))
                for _ in range(8):
                    path = _os.path.join(folder, "solutions", "__LAB__", "activations.py")
                    try:
                        scope = {}
                        with open(path) as f:
                            exec(f.read().replace("# BEGIN", "#").replace("# END", "#"), scope)
                        return scope["tanh_grad"](z)
                    except Exception:
                        folder = _os.path.dirname(folder)
            raise RuntimeError("no kit found")
        """),
    attack("sysv_plant", cohort="breakouts", zero=["activations.softmax_jacobian"], skip=RLIMITS_FILES, activations="""
        def softmax_jacobian(*args, **kwargs):
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.shmat.restype = ctypes.c_void_p
            ident = libc.shmget(__SHM_KEY__, 4096, 0o1666)
            if ident >= 0:
                address = libc.shmat(ident, None, 0)
                if address not in (None, ctypes.c_void_p(-1).value):
                    ctypes.memmove(address, b"__MARK__", len("__MARK__"))
            raise RuntimeError("planted")
        """),
    attack("disk_fill", cohort="breakouts", zero=["backprop.one_hot"], skip=RLIMITS_FILES, backprop="""
        def one_hot(*args, **kwargs):
            written = 0
            for folder in (".", "/tmp", "/dev/shm", "/var/tmp"):
                for i in range(64):  # at most 256 MB each, 4 MB a file
                    try:
                        with open(_os.path.join(folder, f"fill-__MARK__-{i}"), "wb") as f:
                            f.write(b"\\0" * (4 << 20))
                        written += 4
                    except OSError:
                        break
                for i in range(20000):  # and files without bytes
                    try:
                        _os.close(_os.open(_os.path.join(folder, f"e-__MARK__-{i}"), _os.O_CREAT | _os.O_WRONLY))
                    except OSError:
                        break
            raise RuntimeError(f"wrote {written} MB")
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
        _predict = predict
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
            if len(children) >= __MAX_PROCESSES__:
                return _predict(*args, **kwargs)   # full marks only if the limit did not hold
            raise RuntimeError(f"FORKED {len(children)}")
        """),
    attack("loopback_socket", cohort="breakouts", zero=["activations.sigmoid"], skip=NO_NAMESPACE_NETWORK, activations="""
        def sigmoid(*args, **kwargs):
            try:
                import socket as _socket
                with _socket.create_connection(("127.0.0.1", __PORT__), timeout=0.2) as s:
                    s.sendall(b"__MARK__")
            except (OSError, ImportError) as exc:
                raise RuntimeError(f"no network: {exc}")
            raise RuntimeError("NET-OK")
        """),
    # --- alone: attacks on the whole process (patches, signals, threads, the runner itself)
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
            if isinstance(message, dict) and "done" in message else _dumps(message, *a, **k)
        def relu(*args, **kwargs):
            return _np.full(3, 1e300)
        """),
    attack("forge_later_answers", activations="""
        import numpy as _np
        def _forge_ahead():
            \"\"\"After every answer, forged "done" frames for the next case: with the token just
            used, with made-up tokens and with none, each carrying a wrong result. The functions are
            the reference's: a forged frame read as an answer (a token check taken away) costs points.\"\"\"
            channel = _channel()
            send = channel.send
            def forged(header, blobs=()):
                send(header, blobs)
                if not header.get("done"):   # a call back: the case is still running (its own token is live)
                    return
                good = [_np.zeros(5).tobytes()]
                for token in (header.get("token"), "f" * 32, None):
                    send({"token": token, "done": True, "error": None, "result": {"a": [0, "<f8", [5]]}}, good)
            channel.send = forged
        _forge_ahead()
        """),
    attack("reference_capture", zero=["backprop.mlp_backward"], backprop="""
        import gc as _gc
        _seen = []
        def _hook():
            \"\"\"Record every frame the parent sends (given helpers, arguments, replies).\"\"\"
            channel = _channel()
            receive = channel.receive
            def recording():
                frame = receive()
                _seen.append(repr(frame))
                return frame
            channel.receive = recording
        _hook()
        def mlp_backward(*args, **kwargs):
            texts = list(_seen) + [o for o in _gc.get_objects() if isinstance(o, str) and "def mlp_backward" in o]
            for text in texts:
                start = text.find("def mlp_backward")
                if start >= 0 and "raise NotImplementedError" not in text[start:start + 3000]:
                    scope = {"np": np}
                    exec(text[start:].encode().decode("unicode_escape"), scope)
                    return scope["mlp_backward"](*args, **kwargs)
            raise RuntimeError("no reference seen")
        """),
    attack("fake_curve", zero=[], backprop="""
        def train(X, Y, layer_sizes, activations, loss="cross_entropy", lr=0.5, epochs=1000, seed=0):
            from mlp import init_params
            return init_params(layer_sizes, seed), [1.0 / (e + 1) for e in range(epochs)]
        """),
]
BY_NAME = {a.name: a for a in ATTACKS}
# an in-place change of an input, behind a correct value (see test_hidden_mutation)
MUTATION = attack("hidden_mutation", zero=["activations.relu"], activations="""
    import numpy as _np
    def relu(z, *args, **kwargs):
        result = _np.maximum(0.0, _np.asarray(z, dtype=float))
        z += 1
        _channel().send = lambda header, blobs=(): _sys.modules["__main__"].wire.send(
            _spec()["wire_fd"], header, blobs)
        return result
    """)
WRONG_RELU = attack("wrong_relu", zero=["activations.relu"], activations="""
    def relu(z, *args, **kwargs):
        return z
    """)
SLOW = ["infinite_loop", "hangs", "crashes", "hang_at_import", "slow_backprop_import", "breakouts", "raisers"]  # graded first


def runs_under(a, strategy):
    """Skips name a strategy ("nobody-shared") or its family ("nobody")."""
    return strategy not in dict(a.skip) and strategy.split("-")[0] not in dict(a.skip)


def why_not(a, strategy):
    skips = dict(a.skip)
    return skips.get(strategy) or skips[strategy.split("-")[0]]


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

    def prepare(self, lab, settings):
        key = (settings.gradcheck_h, settings.kink_margin)
        if key not in self.prepared:
            self.prepared[key] = self.real_prepare(lab, settings)
        return self.prepared[key]

    def save_submission(self, out, result, prepared, row, feedback=None, words=None):
        """Runs in the batch's own process for every submission graded (workers are forked)."""
        self.calls += 1
        self.results[(result.isolation, result.name)] = result
        return self.real_save_submission(out, result, prepared, row, feedback, words)


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
    return DEFAULTS.with_overrides(isolation=strategy.split("-")[0], case_timeout=CASE_TIMEOUT,
                                   import_timeout=IMPORT_TIMEOUT, max_processes=MAX_PROCESSES)


def run_batch(lab, sources, out, settings, strategy=None, log=None, **kwargs):
    """A batch; under "nobody-shared" the nobody sandbox makes no private namespaces (as on
    Gradescope, where the kernel forbids them): leftovers are then removed by uid."""
    kwargs.setdefault("report_png", False)
    nobody = strategies.STRATEGIES["nobody"]
    nobody.namespaces = strategy != "nobody-shared"
    try:
        return batch.grade_batch(lab, sources, out, settings, log=log or (lambda *a: None), progress=False, **kwargs)
    finally:
        nobody.namespaces = True


def write_submission(folder, lab, attacks, values):
    """The reference with every attack of `attacks` injected (and train stubbed, except in
    reference_full); `values` fills the attacks' placeholders."""
    folder.mkdir(parents=True)
    values = {"__DEPTH__": str(DEPTH), "__FORKS__": str(FORKS), "__MAX_PROCESSES__": str(MAX_PROCESSES),
              "__LAB__": lab.name, **values}
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
    """A hung batch: kill its sandboxes (the test then fails)."""
    session.kill_all()


def sysv_segments(key):
    """SysV shared-memory segments with this key on the host."""
    with open("/proc/sysvipc/shm") as table:
        return [row for row in table.read().splitlines()[1:] if int(row.split()[0]) == key]


def hidden_inputs(prepared):
    """Texts of hidden input values as the feedback would print them (6 significant digits,
    at least 6 digits long) and in full (repr); values that a public case shows too (a
    public network's X reappears in hidden cases of other functions) are left out."""
    def texts(public):
        numbers = set()
        for case in prepared.cases:
            if case.hidden == public:
                continue
            for leaf in leaves(list(case.args)):
                for x in np.asarray(leaf, dtype=float).ravel()[:8]:
                    if np.isfinite(x) and x != round(x):
                        numbers.update(t for t in (repr(float(x)), f"{x:.6g}") if len(t.lstrip("-0.")) >= 6)
        return numbers
    return texts(public=False) - texts(public=True)


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
    log: list              # what the batch printed


def run_campaign(world, strategy):
    root, lab, spy = world["root"] / strategy, world["lab"], world["spy"]
    mark = f"ag{uuid.uuid4().hex[:12]}"
    sleep_storm = f"{7000 + int(mark[2:6], 16) % 1000}.{os.getpid()}1"
    sleep_escape = f"{8000 + int(mark[6:10], 16) % 1000}.{os.getpid()}2"
    shm_key = 0x41470000 + int(mark[2:6], 16)
    out = root / "out"
    pwned = Path(f"/tmp/{mark}-pwned")
    # the batch's working files go here (a folder the sandbox uids can cross): nothing may be left
    scratch = Path(tempfile.mkdtemp(prefix="campaign-", dir=batch.scratch_root(DEFAULTS)))
    os.chmod(scratch, 0o755)
    settings = settings_for(strategy).with_overrides(scratch=str(scratch))
    prepared = spy.prepare(lab, settings)
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
        "__PWNED__": str(pwned), "__SLEEP_STORM__": sleep_storm, "__SHM_KEY__": str(shm_key),
        "__SLEEP_ESCAPE__": sleep_escape, "__READS__": repr(reads), "__SHARED__": repr(SHARED_TMP),
        "__NEW_FILES__": repr([str(other / "extra.py"), str(out / "submissions" / "reference_full" / "x.json"),
                               str(ROOT / "solutions" / lab.name / f"{mark}.txt"), str(lab.reference_dir / f"{mark}.txt"),
                               str(ROOT / "autograder" / f"{mark}.py")]),
        "__EXISTING__": repr([str(other / "activations.py"), str(lab.reference_dir / "activations.py"),
                              str(ROOT / "solutions" / lab.name / "activations.py"),
                              str(ROOT / "autograder" / "sandbox" / "runner.py")]),
    }
    order = sorted(cohorts, key=lambda name: SLOW.index(name) if name in SLOW else len(SLOW))  # no long tail
    sources = {name: write_submission(subs / name, lab, cohorts[name], values) for name in order}
    watched = [*KIT_TREES, lab.reference_dir, subs]
    before = {str(p): tree_hash(p) for p in watched}
    started = time.monotonic()
    watchdog = threading.Timer(BATCH_DEADLINE, unblock_batch)
    watchdog.start()
    log = []
    try:
        rows = run_batch(lab, list(sources.values()), out, settings, strategy, log=log.append, jobs=JOBS)
    finally:
        seconds = time.monotonic() - started
        watchdog.cancel()
        listener.close()
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
        "SysV segments left on the host": sysv_segments(shm_key),
        "loopback listener received": [r for r in listener.received if r],
        "files left in the kit": [str(p) for p in ROOT.rglob(f"*{mark}*")],
        "working files left": sorted(str(p) for p in scratch.iterdir()),
    }
    scratch.rmdir() if not evidence["working files left"] else None
    for leftover in [pwned, *[Path(p) for p in evidence["files left in the kit"]]]:
        leftover.unlink(missing_ok=True)
    graded = {name: spy.results.get((strategy.split("-")[0], name)) for name in sources}
    return Campaign(strategy, attacks, cohorts, sources, {r["file"]: r for r in rows}, results, texts, graded,
                    evidence, seconds, out, log)


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
        if test["max_score"] == 0:
            continue   # the visible summary of hidden losses (report.HIDDEN_SUMMARY): no points of its own
        name = re.match(r"^[^:]+: (\w+) \(", test["name"]).group(1)
        earned, possible = scores.get(name, (0.0, 0.0))
        scores[name] = (earned + test["score"], possible + test["max_score"])
    return scores


def honest_zero(attacks):
    """Function names (without module) that earn nothing honestly in a submission of `attacks`."""
    zero = {f.split(".")[1] for a in attacks for f in a.zero}
    return zero | ({"train"} if attacks[0].name != "reference_full" else set())


# ------------------------------------------------------------------------------ tests
@pytest.mark.parametrize("campaign, name", [(s, a.name) for s in STRATEGIES for a in ATTACKS
                                             if a.name != "reference_full" or s == STRATEGIES[0]],  # one full training run
                         indirect=["campaign"])
def test_attack_earns_no_more_than_its_honest_score(campaign, name):
    a = BY_NAME[name]
    if not runs_under(a, campaign.strategy):
        pytest.skip(why_not(a, campaign.strategy))
    assert a.submission in campaign.rows, f"{name} was not graded under {campaign.strategy}"
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
    if a.name in ("reference_full", "stub", "stub_2", "stub_3"):
        assert row["grading_status"] == "Completed", row
    assert row["total_points_earned"] <= (100 if a.name == "reference_full" else 94) + 1e-9


def test_every_submission_has_a_row_and_correct_copies_keep_full_marks(campaign):
    """The batch finished with a row for everyone, and the correct copies graded beside the
    attacks (a disk filler among them) lost nothing: 94 is the reference without train."""
    assert sorted(campaign.rows) == sorted(campaign.sources)
    not_graded = {name: row["grading_status"] for name, row in campaign.rows.items()
                  if not row["grading_status"].startswith("Completed")}
    assert not not_graded, not_graded   # every attack is graded: none stops the engine
    for name in ("stub", "stub_2", "stub_3"):
        assert campaign.rows[name]["total_points_earned"] == 94, campaign.rows[name]
    assert all(campaign.graded[name] is not None for name in campaign.sources)
    counts = re.search(r"(\d+) submission\(s\): (\d+) graded, (\d+) with errors, (\d+) not graded", "\n".join(campaign.log))
    assert counts and int(counts.group(1)) == len(campaign.sources), campaign.log


def test_no_output_holds_hidden_values_the_reference_or_a_breach_marker(campaign, world):
    prepared = next(iter(world["spy"].prepared.values()))
    everything = "\n".join(campaign.texts.values())
    assert campaign.texts and "grades.csv" in campaign.texts
    assert world["canary"] not in everything
    for marker in ("READ-OK", "NET-OK", "WROTE ", "def mlp_backward", "\x1b", "HIDDEN-WORDS"):
        hits = [line for line in everything.splitlines() if marker in line]
        assert not hits, (marker, hits[:3])
    numbers = hidden_numbers(prepared)
    assert len(numbers) > 50
    leaked = sorted(n for n in numbers if n in everything)
    assert not leaked, leaked[:5]
    inputs = hidden_inputs(prepared)
    assert len(inputs) > 200
    leaked = sorted(n for n in inputs if n in everything)
    assert not leaked, leaked[:5]


def test_every_status_is_one_clean_line_written_by_the_grader(campaign):
    for name, row in campaign.rows.items():
        status = row["grading_status"]
        assert len(status) <= 200 and status.isprintable(), (name, status)
    assert campaign.rows["forged_import_status"]["grading_status"] == \
        "Completed with errors: activations.py raised an exception while importing"
    feedback = (campaign.out / "submissions" / "raisers" / "feedback.txt").read_text()
    assert all(line.isprintable() for line in feedback.splitlines())
    assert [line for line in feedback.splitlines() if line.startswith("Score:")] == [feedback.splitlines()[1]]
    assert "raised an exception" in feedback   # the escape-coded exception type is not repeated


def test_a_fork_storm_stops_at_max_processes(campaign):
    if not runs_under(BY_NAME["fork_limit"], campaign.strategy):
        pytest.skip(why_not(BY_NAME["fork_limit"], campaign.strategy))
    assert function_scores(campaign.results["breakouts"])["predict"][0] == 0


def test_nothing_outside_the_sandbox_changed_and_nothing_survived(campaign):
    for what, found in campaign.evidence.items():
        assert not found, f"{what}: {found}"


def test_an_infinite_loop_costs_one_timeout_and_only_its_functions_cases(campaign):
    """relu and mlp_backward loop forever: each times out once, their other cases fail at
    once, and every other function earns full marks."""
    result = campaign.graded["infinite_loop"]
    failed = {r.case.function for r in result.cases if not r.passed}
    assert failed == {"activations.relu", "backprop.mlp_backward", "backprop.train"}
    assert all(r.message.kind == Kind.TIMEOUT for r in result.cases
               if r.case.function in ("activations.relu", "backprop.mlp_backward"))
    row, stub = campaign.rows["infinite_loop"], campaign.rows["stub"]
    assert row["activations"] == stub["activations"] - 2  # relu's share
    assert [row[q] for q in ("tlu", "forward", "training")] == [stub[q] for q in ("tlu", "forward", "training")]
    assert result.seconds < campaign.graded["stub"].seconds + 2 * CASE_TIMEOUT + 3, result.seconds


def test_a_hang_at_import_costs_about_the_import_timeout(campaign):
    result = campaign.graded["hang_at_import"]
    assert result.seconds < 2 * IMPORT_TIMEOUT + 2, result.seconds
    assert report.status_text(result, Catalogue("en")).startswith("Completed with errors: activations.py took longer than")
    assert (result.problem.kind, result.problem.param("cause")) == (Kind.IMPORT, "timeout")
    assert all(not r.passed for r in result.cases if r.case.module != "tlu")


def test_a_slow_import_costs_only_the_functions_of_its_module(campaign):
    result, stub = campaign.graded["slow_backprop_import"], campaign.rows["stub"]
    row = campaign.rows["slow_backprop_import"]
    assert [row[q] for q in ("tlu", "activations", "forward")] == [stub[q] for q in ("tlu", "activations", "forward")]
    assert row["backprop"] == 0
    status = report.status_text(result, Catalogue("en"))
    assert "backprop.py took longer than" in status and "__main__" in status
    assert result.seconds < campaign.graded["stub"].seconds + IMPORT_TIMEOUT + 3, result.seconds


def test_hidden_mutation(campaign):
    """A function that changes its input in place loses half of its points, whatever the
    runner reports: the parent reads the inputs back from its own mapping of the arena."""
    scores = function_scores(campaign.results["hidden_mutation"])
    assert scores["relu"] == (1.0, 2.0), scores["relu"]   # right values: half of relu's 2 points deducted
    feedback = (campaign.out / "submissions" / "hidden_mutation" / "feedback.txt").read_text()
    assert "modified its input z in place" in feedback and "half of relu's points are deducted" in feedback


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


BOOKKEEPING = ("file", "source", "folder", "path")   # where a row came from (autograder.roster), not its grade


def graded_part(row):
    return {k: v for k, v in row.items() if k not in BOOKKEEPING}


def test_one_worker_gives_the_rows_of_several(sequential):
    parallel, _, _, rows = sequential
    by_name = {Path(r["source"]).name: r for r in rows}   # sources of two folders: named by their relative paths
    for name in DETERMINISTIC:
        assert graded_part(by_name[name]) == graded_part(parallel.rows[name])
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
    assert regraded == [r for r in rows if Path(r["source"]).name in ("raise_at_import", "os_exit_at_import")]  # names kept
    for row in regraded:
        row_file = out / "submissions" / row["folder"] / "row.json"
        assert row_file.stat().st_mtime_ns != stamps[row_file]
