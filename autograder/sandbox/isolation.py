"""How a sandbox is built, chosen at run time: bubblewrap, an unprivileged user, or rlimits.

Each strategy turns the runner's paths into an argv and says what it protects. `choose`
takes the configured name or, for "auto", the first strategy whose probe succeeds here:
- bwrap:   namespaces (no network, private /tmp and PIDs, read-only view of only the Python
           installation, the submission and the case inputs; only the output folder writable),
           plus rlimits;
- nobody:  for containers that block namespaces but run as root (Gradescope): the runner drops
           to an unprivileged uid of its own slot after loading Python and NumPy, plus rlimits;
           hidden material must not be world-readable (`hidden_material_problems` checks);
- rlimits: limits only, with a warning that files and network are not protected.
"""
import os
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

RUNNER = Path(__file__).with_name("runner.py")
SLOT_UID_BASE = 61000  # unprivileged uids used for sandboxes, one per parallel slot
INSIDE = Path("/sandbox")


@dataclass(frozen=True)
class Paths:
    """Host paths of one sandbox session."""
    submission: Path   # read-only copy of the student's files
    cases: Path        # read-only case inputs
    out: Path          # the only writable folder


def python_roots():
    """Folders the interpreter and its packages live in (bound read-only into bwrap)."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sysconfig.get_paths()["stdlib"],
             sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    import numpy
    roots.add(str(Path(numpy.__file__).resolve().parents[1]))
    real = sorted({os.path.realpath(r) for r in roots if r and os.path.exists(r)})
    # keep only top-most folders: binding a parent already binds its children
    return [r for r in real if not any(r != o and r.startswith(o + os.sep) for o in real)]


def set_limits(settings):
    """preexec: rlimits for the sandbox process and everything it starts."""
    limits = {
        resource.RLIMIT_CPU: settings.cpu_seconds,
        resource.RLIMIT_AS: settings.memory_bytes,
        resource.RLIMIT_FSIZE: settings.output_bytes,
        resource.RLIMIT_NPROC: settings.max_processes,
        resource.RLIMIT_CORE: 0,
    }
    for which, value in limits.items():
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass


def base_env():
    return {
        "PATH": "/usr/bin:/bin",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg",
        "LANG": "C.UTF-8",
    }


class Strategy:
    name = ""
    warning = ""   # what this strategy does not protect, shown to the TA
    uses_slot_uid = False

    def available(self):
        raise NotImplementedError

    def argv(self, paths, spec):
        raise NotImplementedError

    def runner_spec(self, paths, slot):
        """Paths as the runner sees them, plus the uid it drops to (if any)."""
        return {"submission": str(paths.submission), "cases": str(paths.cases),
                "out": str(paths.out), "workdir": str(paths.out)}


class Bubblewrap(Strategy):
    name = "bwrap"
    warning = ""

    def available(self):
        return shutil.which("bwrap") is not None and probe(self)

    def runner_spec(self, paths, slot):
        return {"submission": str(INSIDE / "submission"), "cases": str(INSIDE / "cases"),
                "out": str(INSIDE / "out"), "workdir": "/tmp"}

    def argv(self, paths, spec):
        argv = ["bwrap", "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
                "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv",
                "--proc", "/proc", "--dev", "/dev", "--size", str(64 << 20), "--tmpfs", "/tmp"]
        for folder in ("/usr", "/lib", "/lib64", "/bin", "/etc/alternatives"):
            if os.path.exists(folder):
                argv += ["--ro-bind", folder, folder] if not os.path.islink(folder) else \
                    ["--symlink", os.readlink(folder), folder]
        for root in python_roots():
            argv += ["--ro-bind", root, root]
        argv += ["--ro-bind", str(paths.submission), str(INSIDE / "submission"),
                 "--ro-bind", str(paths.cases), str(INSIDE / "cases"),
                 "--bind", str(paths.out), str(INSIDE / "out"),
                 "--ro-bind", str(RUNNER), str(INSIDE / "runner.py"),
                 "--chdir", "/tmp"]
        for key, value in base_env().items():
            argv += ["--setenv", key, value]
        return argv + ["--", sys.executable, "-I", str(INSIDE / "runner.py"), spec]


class Nobody(Strategy):
    name = "nobody"
    warning = "no namespaces: network and world-readable files are reachable by student code"
    uses_slot_uid = True

    def available(self):
        return os.geteuid() == 0 and probe(self)

    def runner_spec(self, paths, slot):
        spec = super().runner_spec(paths, slot)
        spec["drop_to_uid"] = SLOT_UID_BASE + slot
        return spec

    def argv(self, paths, spec):
        return [sys.executable, "-I", str(RUNNER), spec]


class RlimitsOnly(Strategy):
    name = "rlimits"
    warning = ("rlimits only: student code runs as this user and can read the kit's files, "
               "including hidden material, and reach the network; install bubblewrap")

    def available(self):
        return True

    def argv(self, paths, spec):
        return [sys.executable, "-I", str(RUNNER), spec]


STRATEGIES = {s.name: s for s in (Bubblewrap(), Nobody(), RlimitsOnly())}
_probed = {}


def probe(strategy):
    """Can this strategy start Python with NumPy here? (cached per process)"""
    if strategy.name not in _probed:
        from .session import probe_session
        _probed[strategy.name] = probe_session(strategy)
    return _probed[strategy.name]


def choose(name="auto"):
    """The strategy called `name`, or for "auto" the first one that works here."""
    if name == "auto":
        for strategy in STRATEGIES.values():
            if strategy.available():
                return strategy
    if name not in STRATEGIES:
        raise ValueError(f"unknown isolation {name!r}; use auto or one of {sorted(STRATEGIES)}")
    strategy = STRATEGIES[name]
    if not strategy.available():
        raise RuntimeError(f"isolation {name!r} does not work on this machine")
    return strategy


def hidden_material_problems(folders):
    """Hidden folders that another user could read (a problem only for the nobody strategy)."""
    problems = []
    for folder in folders:
        for path in [Path(folder), *Path(folder).parents]:
            mode = path.stat().st_mode
            if not mode & 0o001:  # no search permission for others: nothing below is reachable
                break
        else:
            problems.append(str(folder))
    return problems


def kill_slot(slot):
    """Kill every process of a slot's uid (children that left the process group too)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(SLOT_UID_BASE + slot)
            os.setuid(SLOT_UID_BASE + slot)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
