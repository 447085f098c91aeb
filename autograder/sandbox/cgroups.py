"""One memory bound for a whole sandbox: a cgroup per slot, where the host lets the kit make one.

RLIMIT_AS (strategies.set_limits) bounds each process of a sandbox on its own: three children
of one sandbox, each under the limit, held 1.2 GB at once. A cgroup bounds the process tree:
the sandbox joins its slot's cgroup in the preexec (before bwrap, the kit's namespaces or the
runner start), so everything it starts is counted together, whatever its uid or process group.

What the host allows is found once per process, in this order:
- cgroup v2: a child of the grader's own cgroup, with memory.max = the settings' memory cap,
  memory.swap.max = 0 and pids.max. Needs the memory and pids controllers enabled below the
  grader's cgroup (already, or enabled here: the kernel refuses that while processes live in
  it, unless it is the root, as in a container that is given its cgroup's subtree);
- cgroup v1 (hosts that still mount the memory controller on its own): a child of the
  grader's memory cgroup, memory.limit_in_bytes (and memsw) = the cap, and a pids cgroup with
  pids.max where that controller is mounted;
- else nothing: each process keeps only its RLIMIT_AS, and `warning()` says so (the
  strategies add it to theirs, shown in the batch log).
In every case RLIMIT_AS stays on as well. Past the cap, the kernel's OOM killer kills a
process of that sandbox only (the case fails, or the sandbox dies and the case is a crash).

When a slot's sandbox closes (`release`), whatever is left in its cgroup is killed
(cgroup.kill on v2; SIGKILL to each listed process on v1) and the cgroup is removed. Cgroups
left by a grader that was killed (named after its PID namespace and pid) are removed the
next time a grader of the same PID namespace starts.

AUTOGRADER_CGROUP=off (or `enabled = False`) turns the bound off, as on a host without
cgroups: the way to see the whole-sandbox defence fail without it.
"""
import atexit
import os
import signal
import time

enabled = os.environ.get("AUTOGRADER_CGROUP", "on") != "off"
PREFIX = "autograder-sandbox"
SPARE_PIDS = 8   # bwrap's own processes (and the runner) on top of the settings' max_processes
_state = {}      # "found": (version, {controller: folder}) or (None, reason); per process
_made = {}       # (pid, slot) -> Group


def _tag():
    """This process in a cgroup's name: its PID namespace (graders in other containers may
    share the hierarchy, and their pids mean nothing here) and its pid."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{PREFIX}-{namespace}-{os.getpid()}"


class Group:
    """The cgroup folders of one slot's sandbox (one on v2; memory and pids on v1)."""

    def __init__(self, version, folders):
        self.version, self.folders = version, folders

    def join(self):
        """preexec: move the calling process into the cgroup (its children follow)."""
        pid = str(os.getpid()).encode()
        for folder in self.folders:
            fd = os.open(os.path.join(folder, "cgroup.procs"), os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)

    def pids(self):
        found = set()
        for folder in self.folders:
            try:
                with open(os.path.join(folder, "cgroup.procs")) as procs:
                    found.update(int(line) for line in procs if line.strip())
            except (OSError, ValueError):
                pass
        return found

    def kill(self, wait=5.0):
        """Kill every process in the cgroup; True once none is left."""
        deadline = time.monotonic() + wait
        if self.version == 2 and os.path.exists(os.path.join(self.folders[0], "cgroup.kill")):
            _write(self.folders[0], "cgroup.kill", "1")
        while True:
            left = self.pids()
            if not left:
                return True
            if time.monotonic() > deadline:
                return False
            for pid in left:   # v1, or a kernel without cgroup.kill (listed pids are this cgroup's)
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.01)

    def remove(self):
        self.kill()
        for folder in self.folders:
            for _ in range(100):
                try:
                    os.rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError:   # EBUSY for a moment after the last process died
                    time.sleep(0.01)


def _read(path):
    with open(path) as file:
        return file.read()


def _write(folder, name, value):
    with open(os.path.join(folder, name), "w") as file:
        file.write(value)


def _mounts():
    """(mount point, root of the mount, fs type, super options) of /proc/self/mountinfo."""
    with open("/proc/self/mountinfo") as table:
        for line in table:
            left, right = line.split(" - ", 1)
            fields, after = left.split(), right.split()
            yield fields[4], fields[3], after[0], after[2] if len(after) > 2 else ""


def _own_cgroups():
    """{controller (or "" for v2): path} from /proc/self/cgroup."""
    own = {}
    with open("/proc/self/cgroup") as table:
        for line in table:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                own[controller] = path
    return own


def _folder(point, root, path):
    """The folder of cgroup `path` below a mount of the hierarchy's `root` at `point`."""
    if root != "/" and (path == root or path.startswith(root + "/")):
        path = path[len(root):]
    return os.path.join(point, path.lstrip("/"))


def _v2(own):
    if "" not in own:
        return None, "no cgroup v2 hierarchy"
    for point, root, fstype, _ in _mounts():
        if fstype != "cgroup2":
            continue
        folder = _folder(point, root, own[""])
        if not os.path.isdir(folder):
            continue
        enabled_here = set(_read(os.path.join(folder, "cgroup.subtree_control")).split())
        if not {"memory", "pids"} <= enabled_here:
            if not {"memory", "pids"} <= set(_read(os.path.join(folder, "cgroup.controllers")).split()):
                return None, f"cgroup v2 at {folder} has no memory and pids controllers"
            try:
                _write(folder, "cgroup.subtree_control", "+memory +pids")
            except OSError as exc:
                return None, f"cannot enable memory and pids below {folder} ({exc.strerror})"
        return {"": folder}, ""
    return None, "no cgroup v2 mount of the grader's cgroup"


def _v1(own):
    folders = {}
    for point, root, fstype, options in _mounts():
        if fstype != "cgroup":
            continue
        for controller in ("memory", "pids"):
            if controller in options.split(",") and controller in own and controller not in folders:
                folder = _folder(point, root, own[controller])
                if os.path.isdir(folder):
                    folders[controller] = folder
    if "memory" not in folders:
        return None, "no cgroup v1 memory controller"
    return folders, ""


def found():
    """(version, {controller: folder of the grader's cgroup}) or (None, why not), probed once
    per process: a child cgroup is made, limited and removed."""
    if "found" not in _state:
        _state["found"] = _probe()
    return _state["found"]


def _probe():
    if not enabled:
        return None, "turned off (AUTOGRADER_CGROUP=off)"
    try:
        own = _own_cgroups()
    except OSError as exc:
        return None, f"no /proc/self/cgroup ({exc.strerror})"
    reasons = []
    for version, find in ((2, _v2), (1, _v1)):
        try:
            folders, reason = find(own)
        except (OSError, ValueError, IndexError) as exc:
            folders, reason = None, f"cgroup v{version}: {exc}"
        if folders is None:
            reasons.append(reason)
            continue
        _remove_stale(version, folders)
        try:
            group = _make(version, folders, f"{_tag()}-probe", 1 << 30, 8)
        except OSError as exc:
            reasons.append(f"cgroup v{version}: cannot make a child cgroup ({exc.strerror})")
            continue
        group.remove()
        return version, folders
    return None, "; ".join(reasons)


def _remove_stale(version, folders):
    """Remove the cgroups of graders that died before they closed their sandboxes."""
    namespace = _tag().split("-")[2]
    for folder in folders.values():
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            parts = name.split("-")
            if not name.startswith(PREFIX + "-") or len(parts) != 5 or parts[2] != namespace or not parts[3].isdigit():
                continue   # not ours, or a grader's of another PID namespace
            try:
                os.kill(int(parts[3]), 0)
                continue   # its grader still runs
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
            Group(version, [os.path.join(folder, name)]).remove()


def _make(version, folders, name, memory_bytes, max_pids):
    made = []
    try:
        if version == 2:
            folder = os.path.join(folders[""], name)
            os.makedirs(folder, exist_ok=True)
            made.append(folder)
            _write(folder, "memory.max", str(memory_bytes))
            if os.path.exists(os.path.join(folder, "memory.swap.max")):
                _write(folder, "memory.swap.max", "0")
            _write(folder, "pids.max", str(max_pids))
        else:
            folder = os.path.join(folders["memory"], name)
            os.makedirs(folder, exist_ok=True)
            made.append(folder)
            _write(folder, "memory.limit_in_bytes", str(memory_bytes))
            try:   # memory and swap together, where swap is accounted
                _write(folder, "memory.memsw.limit_in_bytes", str(memory_bytes))
            except OSError:
                pass
            if "pids" in folders:
                folder = os.path.join(folders["pids"], name)
                os.makedirs(folder, exist_ok=True)
                made.append(folder)
                _write(folder, "pids.max", str(max_pids))
    except OSError:
        Group(version, made).remove()
        raise
    return Group(version, made)


def mechanism():
    """How a whole sandbox's memory is bounded here, in words."""
    version, folders = found()
    if version == 2:
        return "cgroup v2 (memory.max, pids.max)"
    if version == 1:
        return "cgroup v1 (memory.limit_in_bytes" + (", pids.max)" if "pids" in folders else "; no pids controller)")
    return "RLIMIT_AS per process"


def warning():
    """The one-line note a strategy adds to its warning when there is no cgroup."""
    version, reason = found()
    if version is not None:
        return ""
    return (f"memory is bounded per process only (RLIMIT_AS), not for the whole sandbox: no cgroup ({reason}); "
            "a sandbox's processes together may hold a multiple of the cap")


def bounded(slot, limits, preexec):
    """`preexec`, run after the child joined the cgroup of `slot` limited to the settings'
    memory cap and process count; `preexec` itself where there is no cgroup. A slot keeps its
    cgroup from one sandbox to the next (emptied by `release`), and `release_all` removes them:
    making and removing one per sandbox cost about a tenth of a submission's time."""
    version, folders = found()
    if version is None:
        return preexec
    key, wanted = (os.getpid(), slot), (limits.memory_bytes, limits.max_processes + SPARE_PIDS)
    group = _made.get(key)
    if group is None or getattr(group, "limits", None) != wanted or not all(os.path.isdir(f) for f in group.folders):
        release(slot, remove=True)
        group = _make(version, folders, f"{_tag()}-{slot}", *wanted)
        group.limits = wanted
        _made[key] = group

    def run():
        group.join()
        preexec()
    return run


def release(slot, remove=False):
    """Kill whatever is left in the slot's cgroup; with `remove`, remove the cgroup too
    (never raises)."""
    key = (os.getpid(), slot)
    group = _made.pop(key, None) if remove else _made.get(key)
    if group is not None:
        try:
            group.remove() if remove else group.kill()
        except OSError:
            pass


def release_all():
    """Remove every cgroup this process made (the end of a batch, or of a worker)."""
    for pid, slot in [k for k in _made if k[0] == os.getpid()]:
        release(slot, remove=True)


atexit.register(release_all)
