"""Sandbox slots that run student code under an unprivileged uid of their own.

A slot is one sandbox running at a time in one grading process. Its uid is claimed with an
exclusive lock file held for the life of the process, so that two graders on one machine (two
TAs' batches, parallel `otter run`s) never share a uid, and killing "every process of the
slot's uid" can only reach this grader's own sandbox. Lock files live in a folder only root
can enter and are opened without following links (student code cannot plant one there).
"""
import fcntl
import os
import signal
import stat
import tempfile
from pathlib import Path

from . import cleanup, linux

SLOT_UID_BASE = 61000  # unprivileged uids used for sandboxes, one per parallel slot
SLOT_UIDS = 4096       # how many uids from SLOT_UID_BASE on may be claimed
SHARED_TEMP = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")  # folders every uid may write to
_claimed = {}          # slot -> (uid, lock fd) claimed by this process
LOCK_BASE = None       # where lock_dir makes its folder (None: /run as root, else the temp folder); tests set it


def lock_dir():
    """A folder of this user's alone (0700, not a link), made if missing; refused otherwise."""
    base = LOCK_BASE or ("/run" if os.geteuid() == 0 and os.access("/run", os.W_OK | os.X_OK) else tempfile.gettempdir())
    folder = os.path.join(base, f"autograder-slots-{os.geteuid()}")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise RuntimeError(f"{folder} is not a private folder of this user: remove it and grade again")
    return folder


def slot_uid(slot):
    """The unprivileged uid of this process's sandbox slot (claimed on first use)."""
    if slot not in _claimed:
        folder = lock_dir()
        for uid in range(SLOT_UID_BASE, SLOT_UID_BASE + SLOT_UIDS):  # pragma: no mutate (a uid of 0 would be root's)
            fd = os.open(os.path.join(folder, f"uid-{uid}.lock"), os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            _claimed[slot] = (uid, fd)
            linux.remove_keys_of(uid)   # left by a grader that was killed before it closed its sandbox
            break
        else:
            raise RuntimeError(f"no free sandbox uid in {SLOT_UID_BASE}..{SLOT_UID_BASE + SLOT_UIDS - 1}")
    return _claimed[slot][0]  # pragma: no mutate


def kill_slot(slot):
    """Kill every process of a slot's uid (children that left the process group too)."""
    # never mutated (tests/mutation.py): without the uid drop, kill(-1) as root kills every process
    uid = slot_uid(slot)  # pragma: no mutate
    pid = os.fork()  # pragma: no mutate
    if pid == 0:  # pragma: no mutate
        try:
            os.setgid(uid)  # pragma: no mutate
            os.setuid(uid)  # pragma: no mutate
            os.kill(-1, signal.SIGKILL)  # pragma: no mutate
        finally:
            os._exit(0)  # pragma: no mutate
    os.waitpid(pid, 0)  # pragma: no mutate


def restrict_to_slot(folder, slot):
    """Make a root-owned folder and its files readable by the slot's group only (not by the
    sandboxes of the other slots, which run under other uids)."""
    for path in [folder, *Path(folder).iterdir()]:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            continue
        os.chown(path, 0, slot_uid(slot), follow_symlinks=False)
        os.chmod(path, 0o750 if stat.S_ISDIR(info.st_mode) else 0o640)


def remove_slot_keys(slot):
    """Free the kernel keys of a slot's uid (keyrings belong to the uid, not to a sandbox's
    namespaces: the next sandbox of the slot would find them). See linux.remove_keys_of."""
    linux.remove_keys_of(slot_uid(slot))


def remove_slot_leftovers(slot, folders=SHARED_TEMP):
    """Delete everything a slot's uid owns in the shared temporary folders (the entries it
    made there, and in the world-writable folders below them that it does not own, such as
    /tmp/.X11-unix), its SysV IPC objects, POSIX message queues and kernel keys. Its
    processes are dead by then (kill_slot); links are never followed. Needed only where the
    sandbox had no private mounts (keys: whatever its namespaces)."""
    # Never mutated (tests/mutation.py): a mutant of the uid or of the ownership test below deletes
    # other users' files in /tmp and /dev/shm, root's included, when mutation testing runs as root.
    uid = slot_uid(slot)  # pragma: no mutate
    linux.remove_ipc_of(uid)
    linux.remove_mqueues_of(uid)
    linux.remove_keys_of(uid)
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
            if info.st_uid == uid:  # pragma: no mutate
                cleanup.remove_tree(entry.path)  # pragma: no mutate
            elif stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_IWOTH:
                todo.append(entry.path)
