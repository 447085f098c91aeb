"""How a sandbox is built, chosen at run time: bubblewrap, an unprivileged user, or rlimits.

Each strategy turns the runner's paths into an argv and says what it protects. `choose`
takes the configured name or, for "auto", the first strategy whose probe succeeds here:
- bwrap:   namespaces (no network, private /tmp and PIDs, read-only view of only the Python
           installation, the submission and the case inputs; only the output folder writable),
           plus rlimits; as root, the runner also drops to its slot's uid (see Bubblewrap);
- nobody:  for containers that block namespaces but run as root (Gradescope): the runner drops
           to an unprivileged uid of its own slot after loading Python and NumPy, plus rlimits;
           hidden material must not be world-readable (`hidden_material_problems` checks);
           the submission's copy is readable by its own slot only (`restrict_to_slot`: the
           sandboxes of other slots run at the same time), and what the slot's uid leaves in
           the shared temporary folders is deleted when its sandbox closes (`remove_slot_files`);
- rlimits: limits only, with a warning that files, network and processes are not protected.
"""
import errno
import fcntl
import os
import resource
import shutil
import signal
import stat
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

RUNNER = Path(__file__).with_name("runner.py")
SLOT_UID_BASE = 61000  # unprivileged uids used for sandboxes, one per parallel slot
SHARED_TEMP = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")  # folders every uid may write to
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
    uses_slot_uid = False   # the runner drops to the uid of its slot (slot_uid(slot))
    shares_host = False     # ... and shares the host's processes and /tmp: leftovers are found by uid

    def available(self):
        raise NotImplementedError

    def argv(self, paths, spec):
        raise NotImplementedError

    def runner_spec(self, paths, slot):
        """Paths as the runner sees them, plus the uid it drops to (if any)."""
        return {"submission": str(paths.submission), "cases": str(paths.cases),
                "out": str(paths.out), "workdir": str(paths.out)}


class Bubblewrap(Strategy):
    """As root, bwrap makes no user namespace: the runner keeps only CAP_SETUID/CAP_SETGID and
    drops to its slot's uid like "nobody" does, since RLIMIT_NPROC does not bind uid 0 (a fork
    bomb would not stop at max_processes). Unprivileged, a user namespace maps it to 65534.
    Either way its processes die with its PID namespace and its /tmp is its own, so nothing is
    killed or deleted by uid (another grader running at the same time may use the same uids)."""
    name = "bwrap"
    warning = ""

    def available(self):
        return shutil.which("bwrap") is not None and probe(self)

    @property
    def uses_slot_uid(self):
        return os.geteuid() == 0

    def runner_spec(self, paths, slot):
        spec = {"submission": str(INSIDE / "submission"), "cases": str(INSIDE / "cases"),
                "out": str(INSIDE / "out"), "workdir": "/tmp"}
        if self.uses_slot_uid:
            spec["drop_to_uid"] = slot_uid(slot)
        return spec

    def argv(self, paths, spec):
        if self.uses_slot_uid:
            identity = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                        "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            identity = ["--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL"]
        argv = ["bwrap", *identity, "--die-with-parent", "--new-session", "--clearenv",
                "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(64 << 20), "--tmpfs", "/tmp"]
        system = [f for f in ("/usr", "/lib", "/lib64", "/bin", "/etc/alternatives") if os.path.exists(f)]
        argv += parent_dirs([*system, *python_roots(), str(INSIDE / "out")])
        for folder in system:
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


def parent_dirs(destinations, made=("/", "/tmp")):
    """bwrap arguments making every missing parent folder of the destinations, top down, with
    mode 0755: as root, bwrap makes them 0700, which a runner that dropped its uid cannot cross."""
    made, argv = set(made), []
    for destination in destinations:
        for parent in reversed(Path(destination).parents):
            if str(parent) not in made:
                made.add(str(parent))
                argv += ["--perms", "0755", "--dir", str(parent)]
    return argv


class Nobody(Strategy):
    name = "nobody"
    warning = "no namespaces: network and world-readable files are reachable by student code"
    uses_slot_uid = True
    shares_host = True

    def available(self):
        return os.geteuid() == 0 and probe(self)

    def runner_spec(self, paths, slot):
        spec = super().runner_spec(paths, slot)
        spec["drop_to_uid"] = slot_uid(slot)
        spec["preimport"] = True
        return spec

    def argv(self, paths, spec):
        return [sys.executable, "-I", str(RUNNER), spec]


class RlimitsOnly(Strategy):
    name = "rlimits"
    warning = ("rlimits only: student code runs as this user and can read the kit's files, "
               "including hidden material, reach the network, and signal or outlive the grader's "
               "processes; install bubblewrap")

    def available(self):
        return True

    def argv(self, paths, spec):
        return [sys.executable, "-I", str(RUNNER), spec]


SLOT_UIDS = 4096       # how many uids from SLOT_UID_BASE on may be claimed
_claimed = {}          # slot -> (uid, lock fd) claimed by this process


def lock_dir():
    return "/run/lock" if os.access("/run/lock", os.W_OK | os.X_OK) else tempfile.gettempdir()


def slot_uid(slot):
    """The unprivileged uid of this process's sandbox slot. It is claimed with an exclusive
    lock file held for the life of the process, so that two graders on one machine (two TAs'
    batches, parallel `otter run`s) never share a uid, and killing "every process of the
    slot's uid" can only reach this grader's own sandbox."""
    if slot not in _claimed:
        for uid in range(SLOT_UID_BASE, SLOT_UID_BASE + SLOT_UIDS):
            fd = os.open(os.path.join(lock_dir(), f"autograder-uid-{uid}.lock"), os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            _claimed[slot] = (uid, fd)
            break
        else:
            raise RuntimeError(f"no free sandbox uid in {SLOT_UID_BASE}..{SLOT_UID_BASE + SLOT_UIDS - 1}")
    return _claimed[slot][0]


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
    uid = slot_uid(slot)
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def restrict_to_slot(folder, slot):
    """Make a root-owned folder and its files readable by the slot's group only (not by the
    sandboxes of the other slots, which run under other uids)."""
    for path in [folder, *Path(folder).iterdir()]:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            continue
        os.chown(path, 0, slot_uid(slot), follow_symlinks=False)
        os.chmod(path, 0o750 if stat.S_ISDIR(info.st_mode) else 0o640)


def remove_slot_files(slot, folders=SHARED_TEMP):
    """Delete everything a slot's uid owns in the shared temporary folders: the entries it
    made there, and in the world-writable folders below them that it does not own (such as
    /tmp/.X11-unix). Its processes are dead by then (kill_slot); links are never followed."""
    uid = slot_uid(slot)
    todo = [f for f in folders if os.path.isdir(f) and not os.path.islink(f)]
    while todo:
        folder = todo.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            is_dir = stat.S_ISDIR(info.st_mode)
            if info.st_uid == uid:
                remove_tree(entry.path)
            elif is_dir and info.st_mode & stat.S_IWOTH:
                todo.append(entry.path)


def remove_tree(path):
    """Delete `path` and everything below it, however deep, without following links.

    shutil.rmtree recurses once per level and raises RecursionError (even with ignore_errors)
    on the folders nested thousands deep that student code makes in a second. Here the
    folders below the top one move up to it a level at a time, and each is emptied there.
    Only for trees no running sandbox can still write to; never raises OSError."""
    try:
        top = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    except OSError:  # a file, a link or a FIFO
        try:
            os.unlink(path)
        except OSError:
            pass
        return
    moved = 0
    try:
        while os.listdir(top):
            for name in os.listdir(top):
                moved = flatten_one(top, name, moved)
        os.rmdir(path)
    except OSError:  # best effort: what cannot be removed stays
        pass
    finally:
        os.close(top)


def flatten_one(top, name, moved):
    """Remove top/name if it is not a folder; else move its sub-folders up into top (as
    .rm<n>), delete its other entries and remove it once empty. Returns the updated n."""
    try:
        folder = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=top)
    except OSError:
        os.unlink(name, dir_fd=top)
        return moved
    try:
        for child in os.listdir(folder):
            if stat.S_ISDIR(os.stat(child, dir_fd=folder, follow_symlinks=False).st_mode):
                while True:
                    moved += 1
                    try:
                        os.rename(child, f".rm{moved}", src_dir_fd=folder, dst_dir_fd=top)
                        break
                    except FileExistsError:
                        continue
                    except OSError as exc:  # ENOTEMPTY: a student folder has that name already
                        if exc.errno != errno.ENOTEMPTY:
                            raise
            else:
                os.unlink(child, dir_fd=folder)
    finally:
        os.close(folder)
    os.rmdir(name, dir_fd=top)
    return moved
