"""Thin wrappers over the Linux calls the sandbox needs and Python 3.11 lacks (ctypes).

Each raises OSError with the C library's errno, so a caller can fall back when a container
forbids namespaces or mounts (Gradescope's, for instance).
"""
import ctypes
import ctypes.util
import os

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x04000000, 0x08000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND = 0x1, 0x2, 0x4, 0x20, 0x1000
MS_REC, MS_PRIVATE = 0x4000, 0x40000
MNT_DETACH = 0x2
IPC_RMID = 0

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(result):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def unshare(flags):
    _check(_libc.unshare(ctypes.c_int(flags)))


def mount(source, target, fstype, flags=0, data=None):
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                       ctypes.c_ulong(flags), data and data.encode()))


def umount(target):
    _check(_libc.umount2(str(target).encode(), ctypes.c_int(MNT_DETACH)))


def tmpfs(target, size, files, mode="1777"):
    """A tmpfs at target holding at most `size` bytes in at most `files` inodes."""
    mount("tmpfs", str(target), "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},nr_inodes={files},mode={mode}")


def remove_ipc_of(uid):
    """Remove every SysV shared-memory segment, message queue and semaphore set of `uid`
    (what a sandbox without an IPC namespace may leave behind for the next one)."""
    calls = {"shm": _libc.shmctl, "msg": _libc.msgctl}
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                rows = table.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            owner = int(fields[4] if kind == "sem" else fields[7])  # the uid column
            ident = int(fields[1])
            if owner != uid:
                continue
            if kind == "sem":
                _libc.semctl(ctypes.c_int(ident), ctypes.c_int(0), ctypes.c_int(IPC_RMID))
            else:
                calls[kind](ctypes.c_int(ident), ctypes.c_int(IPC_RMID), None)
