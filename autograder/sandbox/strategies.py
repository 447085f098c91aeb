"""How a sandbox is built: bubblewrap, an unprivileged user, or rlimits only.

Each strategy turns a session's paths into an argv, says what it protects, and gives the
function that runs in the child before the runner starts (`preexec`):
- bwrap:   namespaces (no network, private /tmp, /dev/shm and PIDs, each a size-capped tmpfs;
           a read-only view of only the Python installation, the submission and the runner),
           plus rlimits; as root, the runner also drops to its slot's uid (see Bubblewrap);
- nobody:  for containers that run as root but block bwrap (Gradescope): the runner drops to
           an unprivileged uid of its own slot after loading Python and NumPy, plus rlimits.
           Where the kernel still allows it, the child first makes private mount, IPC, network
           and UTS namespaces and pivots into a root of its own, built as bwrap's: read-only
           binds of the system folders, the Python installation, the submission and the
           runner (in folders made 0755, so the dropped uid reaches an interpreter below
           /root), size- and inode-capped tmpfs at /tmp and /dev/shm, and a /proc that shows
           no other uid's processes (enter_private_namespaces). Where it does not, what
           the slot's uid leaves behind (files in the shared temporary folders, SysV IPC) is
           removed when its sandbox closes (slots.remove_slot_leftovers);
- rlimits: limits only, with a warning that files, network and processes are not protected.

In every mode the sandbox runs with no_new_privs and under the seccomp filter of seccomp.py
(no keyrings, bpf, perf_event_open, ptrace, namespaces, mounts, modules: EPERM): bwrap loads
it from `--seccomp FD` (filter_fd) before it execs the runner; "nobody" and "rlimits" load it
in the preexec, after the private namespaces and mounts. Where libseccomp is missing, only
no_new_privs is set, and the strategy's warning says what is then open.

In every mode the sandbox's whole process tree shares one memory bound where the host lets
the kit make a cgroup (cgroups.py; the session joins it before this preexec runs); else only
RLIMIT_AS bounds each process, and the warning says so.
"""
import os
import resource
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from . import cgroups, linux, seccomp, slots

INSIDE = Path("/sandbox")
RUNNER_FILES = ("runner.py", "wire.py")   # what the runner needs, copied beside each other
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Paths:
    """Host paths of one sandbox session."""
    submission: Path   # read-only copy of the student's files
    runner: Path       # a folder holding RUNNER_FILES (a copy: no path into the kit)
    work: Path         # the working folder where the sandbox has no private /tmp (removed at close)


@dataclass(frozen=True)
class Limits:
    """What one sandbox may use (from the settings)."""
    cpu_seconds: int
    memory_bytes: int
    output_bytes: int
    max_processes: int
    disk_bytes: int
    disk_files: int


def python_roots():
    """Folders the interpreter and its packages live in (bound read-only into bwrap)."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sysconfig.get_paths()["stdlib"],
             sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    import numpy
    roots.add(str(Path(numpy.__file__).resolve().parents[1]))
    real = sorted({os.path.realpath(r) for r in roots if r and os.path.exists(r)})
    # keep only top-most folders: binding a parent already binds its children
    return [r for r in real if not any(r != o and r.startswith(o + os.sep) for o in real)]


def set_limits(limits):
    """preexec: rlimits for the sandbox process and everything it starts."""
    for which, value in {
        resource.RLIMIT_CPU: limits.cpu_seconds,
        resource.RLIMIT_AS: limits.memory_bytes,
        resource.RLIMIT_FSIZE: limits.output_bytes,
        resource.RLIMIT_NPROC: limits.max_processes,
        resource.RLIMIT_CORE: 0,
    }.items():
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


def kernel_guard():
    """preexec part, prepared in the parent: no_new_privs, and the seccomp filter if this
    machine has one (seccomp.installer)."""
    return seccomp.installer(enabled=seccomp.available())


class Strategy:
    name = ""
    gaps = ""               # what this strategy does not protect (seccomp aside)
    uses_slot_uid = False   # the runner drops to the uid of its slot (slots.slot_uid(slot))
    shares_host = False     # ... and may share the host's /tmp and IPC: leftovers are found by uid

    @property
    def warning(self):
        """What this strategy does not protect, shown to the TA (one line)."""
        return "; ".join(part for part in (self.gaps, seccomp.warning(), cgroups.warning()) if part)

    def available(self):
        raise NotImplementedError

    def filter_fd(self):
        """A file descriptor the child reads its seccomp filter from (bwrap's --seccomp),
        closed by the caller once the child started; None where the preexec loads it."""
        return None

    def argv(self, paths, limits, filter_fd=None):
        return [sys.executable, "-I", str(paths.runner / "runner.py")]

    def runner_spec(self, paths, slot):
        """Paths as the runner sees them, plus the uid it drops to (if any)."""
        return {"submission": str(paths.submission), "workdir": str(paths.work)}

    def preexec(self, paths, limits):
        guard = kernel_guard()

        def run():
            set_limits(limits)
            guard()
        return run


class Bubblewrap(Strategy):
    """As root, bwrap makes no user namespace: the runner keeps only CAP_SETUID/CAP_SETGID and
    drops to its slot's uid like "nobody" does, since RLIMIT_NPROC does not bind uid 0 (a fork
    bomb would not stop at max_processes). Unprivileged, a user namespace maps it to 65534.
    Either way its processes die with its PID namespace, and its /tmp and /dev/shm are its own
    tmpfs (bytes capped by --size), so nothing is killed or deleted by uid."""
    name = "bwrap"

    def available(self):
        import shutil
        return shutil.which("bwrap") is not None

    @property
    def uses_slot_uid(self):
        return os.geteuid() == 0

    def runner_spec(self, paths, slot):
        spec = {"submission": str(INSIDE / "submission"), "workdir": "/tmp"}
        if self.uses_slot_uid:
            spec["drop_to_uid"] = slots.slot_uid(slot)
        return spec

    def filter_fd(self):
        return seccomp.export_fd()

    def preexec(self, paths, limits):
        nnp = seccomp.installer(enabled=False)   # bwrap needs mount and unshare: it loads the filter itself

        def run():
            set_limits(limits)
            nnp()
        return run

    def argv(self, paths, limits, filter_fd=None):
        if self.uses_slot_uid:
            identity = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                        "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            identity = ["--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL"]
        argv = ["bwrap", *identity, "--die-with-parent", "--new-session", "--clearenv",
                "--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", str(limits.disk_bytes), "--tmpfs", "/tmp",
                "--perms", "1777", "--size", str(limits.disk_bytes), "--tmpfs", "/dev/shm"]
        system = [f for f in ("/usr", "/lib", "/lib64", "/bin", "/etc/alternatives") if os.path.exists(f)]
        argv += parent_dirs([*system, *python_roots(), str(INSIDE / "runner")])
        for folder in system:
            argv += ["--ro-bind", folder, folder] if not os.path.islink(folder) else \
                ["--symlink", os.readlink(folder), folder]
        for root in python_roots():
            argv += ["--ro-bind", root, root]
        argv += ["--ro-bind", str(paths.submission), str(INSIDE / "submission"),
                 "--ro-bind", str(paths.runner), str(INSIDE / "runner"),
                 "--chdir", "/tmp"]
        for key, value in base_env().items():
            argv += ["--setenv", key, value]
        if filter_fd is not None:   # loaded by bwrap right before it execs the runner
            argv += ["--seccomp", str(filter_fd)]
        return argv + ["--", sys.executable, "-I", str(INSIDE / "runner" / "runner.py")]


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
    uses_slot_uid = True
    shares_host = True
    namespaces = True   # try private namespaces first (tests turn it off to check the fallback)

    @property
    def gaps(self):
        gaps = ("no bwrap: the runner drops to an unprivileged uid; where the kernel forbids "
                "namespaces, network, /proc and world-readable files are reachable by student code")
        blocked = None if self.private_namespaces() else unreachable_python()
        if blocked:
            gaps += (f"; without namespaces the interpreter lies below {blocked}, which the sandbox's uid cannot "
                     "enter: a submission importing a standard-library module the runner does not preload "
                     "fails (make the interpreter world-readable, as setup.sh does on Gradescope)")
        return gaps

    def available(self):
        return os.geteuid() == 0

    def private_namespaces(self):
        """Can a child make the private namespaces and pivot into a root of its own here?
        (probed once per process)"""
        if not self.namespaces:
            return False
        if not hasattr(self, "_works"):
            pid = os.fork()
            if pid == 0:
                try:
                    linux.unshare(linux.CLONE_NEWNS | linux.CLONE_NEWIPC | linux.CLONE_NEWNET | linux.CLONE_NEWUTS)
                    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
                    linux.tmpfs("/tmp", 1 << 20, 64, mode="0755")
                    os.mkdir("/tmp/.old")
                    linux.pivot_root("/tmp", "/tmp/.old")
                    os.chdir("/")
                    linux.umount("/.old")
                    os._exit(0)
                except BaseException:
                    os._exit(1)
            self._works = os.waitpid(pid, 0)[1] == 0
        return self._works

    def inside(self, paths):
        """Where the submission, the runner and the working folder are seen from the child:
        in its own root, where bwrap puts them; else at their host paths."""
        if self.private_namespaces():
            return Paths(INSIDE / "submission", INSIDE / "runner", Path("/tmp"))
        return paths

    def runner_spec(self, paths, slot):
        inside = self.inside(paths)
        return {"submission": str(inside.submission), "workdir": str(inside.work),
                "drop_to_uid": slots.slot_uid(slot), "preimport": True}

    def argv(self, paths, limits, filter_fd=None):
        return [sys.executable, "-I", str(self.inside(paths).runner / "runner.py")]

    def preexec(self, paths, limits):
        private = self.private_namespaces()
        view = sandbox_view(paths, self.inside(paths)) if private else None
        guard = kernel_guard()

        def run():
            if private:
                enter_private_namespaces(paths.work, view, limits)
            set_limits(limits)
            guard()   # after the kit's own unshare and mounts, before the runner starts
        return run


def unreachable_python():
    """The first folder on the way to the interpreter and its packages that users other than
    its owner cannot enter or read (None when every one can): below it, a runner that dropped
    its uid cannot import what it has not loaded yet (/root/.pyenv, say; Gradescope's
    /opt/miniforge3 is made world-readable by setup.sh)."""
    for root in python_roots():
        for folder in [*reversed(Path(root).parents), Path(root)]:
            mode = os.stat(folder).st_mode
            if not mode & 0o001 or (folder == Path(root) and not mode & 0o004):
                return str(folder)
    return None


SYSTEM = ("/usr", "/lib", "/lib64", "/bin", "/etc/alternatives")   # as bwrap binds them
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")     # as bwrap's --dev makes them
DEVICE_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
                "stderr": "/proc/self/fd/2"}


def sandbox_view(paths, inside):
    """[(host path, path in the sandbox's root)] of everything bound read-only into it, in
    order (prepared in the parent): the system folders, the interpreter and its packages
    (python_roots), the submission and the runner, each (source, path, "bind"); a symlinked
    system folder is (its link's target, path, "link")."""
    view = []
    for folder in SYSTEM:
        if os.path.islink(folder):
            view.append((os.readlink(folder), folder, "link"))
        elif os.path.exists(folder):
            view.append((folder, folder, "bind"))
    view += [(root, root, "bind") for root in python_roots()]
    view += [(str(paths.submission), str(inside.submission), "bind"), (str(paths.runner), str(inside.runner), "bind")]
    return view


def under_shared_temp(path):
    return any(path == folder or path.startswith(folder + os.sep) for folder in slots.SHARED_TEMP)


def enter_private_namespaces(mount_point, view, limits):
    """In the child, as root, before the runner starts (and before its uid drop): new mount,
    IPC, network and UTS namespaces, and a root of its own, as bwrap builds it. The new root
    is a tmpfs (on `mount_point`, the session's empty working folder, in this namespace only)
    whose folders root makes 0755, so the dropped uid can cross them whatever the host's
    modes (/root is 0700); in it, read-only and nosuid, only the `view` (sandbox_view): the
    system folders, the interpreter and its packages at their own paths, the submission and
    the runner below /sandbox; a /dev of a few device nodes; a size- and inode-capped tmpfs
    at /tmp and /dev/shm; a /proc showing only its own uid. Then pivot_root into it and
    detach the host's root: nothing else of the host is reachable, by any path."""
    linux.unshare(linux.CLONE_NEWNS | linux.CLONE_NEWIPC | linux.CLONE_NEWNET | linux.CLONE_NEWUTS)
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    new = str(mount_point)
    linux.tmpfs(new, 1 << 20, 4096, mode="0755")   # folders and mount points only

    def folder(path):
        target = new
        for part in Path(path).parts[1:]:
            target = os.path.join(target, part)
            if not os.path.lexists(target):
                os.mkdir(target)
                os.chmod(target, 0o755)
        return target

    def bind(source, path, flags=linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV):
        if os.path.isdir(source):
            target = folder(path)
        else:
            target = os.path.join(folder(os.path.dirname(path)), os.path.basename(path))
            if not os.path.lexists(target):
                os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
        linux.mount(source, target, None, linux.MS_BIND | linux.MS_REC)
        linux.mount(None, target, None, linux.MS_BIND | linux.MS_REMOUNT | flags)

    linux.tmpfs(folder("/tmp"), limits.disk_bytes, limits.disk_files)
    linux.tmpfs(folder("/dev"), 1 << 16, 64, mode="0755")
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            bind(f"/dev/{name}", f"/dev/{name}", linux.MS_NOSUID)
    for name, target in DEVICE_LINKS.items():
        os.symlink(target, os.path.join(new, "dev", name))
    linux.tmpfs(folder("/dev/shm"), limits.disk_bytes, limits.disk_files)
    for source, path, kind in view:
        if kind == "link":
            folder(os.path.dirname(path))
            os.symlink(source, new + path)
        else:
            bind(source, path)
    linux.mount("proc", folder("/proc"), "proc", linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC,
                "hidepid=invisible")
    old = folder("/.old")
    linux.pivot_root(new, old)
    os.chdir("/")
    linux.umount("/.old")
    os.rmdir("/.old")
    linux.mount(None, "/", None, linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV)


class RlimitsOnly(Strategy):
    name = "rlimits"
    gaps = ("rlimits only: student code runs as this user and can read the kit's files, "
               "including hidden material, reach the network, and signal or outlive the grader's "
               "processes; install bubblewrap")

    def available(self):
        return True


STRATEGIES = {s.name: s for s in (Bubblewrap(), Nobody(), RlimitsOnly())}
