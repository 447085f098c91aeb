"""A seccomp filter for every sandbox: the kernel calls no submission needs fail with EPERM.

Student code is NumPy and the standard library. It never needs the kernel's shared state
(keyrings outlive the process and are shared by every sandbox of one uid, which is how a key
planted by one submission carried hidden inputs into the next), tracing or another process's
memory, new namespaces or mounts, BPF programs or perf counters, modules or kexec. DENIED
names each such call with the reason; a denied call fails with EPERM (it is not killed), so
Python code that probes one gets an OSError and the case goes on. Two calls need more:
- clone3 fails with ENOSYS: its flags live in a struct a filter cannot read, and on ENOSYS
  glibc falls back to clone (threads, fork, posix_spawn all keep working);
- clone fails with EPERM only when its flags ask for a new namespace (CLONE_NEW*), so fork
  and threads go on.
System calls of another ABI (i386's int 0x80, x32) all fail with EPERM: a filter by name for
the native ABI could otherwise be bypassed through them.

The filter is built with libseccomp, never hand-written BPF, through `pyseccomp` (PyPI): a
pure-Python ctypes binding over the system's libseccomp2, API-compatible with libseccomp's
own Python module. It installs with pip into any interpreter, the kit's venv included,
whereas Debian's python3-seccomp is compiled for the system python3 only and cannot be
imported by a venv built on another Python (pyenv's here, Gradescope's conda). Where the
official `seccomp` module is importable it is preferred (same API).

The program is built and exported to BPF once, in the trusted parent (`program`). It then
reaches the sandbox in one of two ways:
- bwrap reads it from a file descriptor (`export_fd` -> `--seccomp FD`) and loads it right
  before it execs the runner, after its own mounts and namespaces;
- under "nobody" and "rlimits", the child loads it itself in the preexec, after the kit's own
  unshare and mounts and before the runner (hence any student code) starts (`installer`).
  That child only makes two prctl calls on memory prepared in the parent: no allocation after
  fork.
PR_SET_NO_NEW_PRIVS is set in every mode, with or without the filter (bwrap sets it itself;
the preexec sets it too): setuid binaries then give the sandbox nothing.

Where libseccomp or the binding is missing, or the kernel refuses the filter, the kit still
grades: `problem()` says why and `warning()` is the one-line note the strategies add to
theirs (shown in the batch log), and only no_new_privs is set.
"""
import ctypes
import ctypes.util
import errno
import os

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2

# syscall -> why no submission needs it (denied with EPERM)
DENIED = {
    "add_key": "keyrings are kernel state shared by every process of a uid and outlive the sandbox",
    "request_key": "keyrings (as add_key); it may also start a host upcall helper",
    "keyctl": "keyrings (read, link, search, change the keys of the uid)",
    "bpf": "BPF programs and maps live in the kernel, beyond the sandbox",
    "perf_event_open": "performance counters: a side channel into other processes and the kernel",
    "userfaultfd": "a tool for kernel exploits (stalls the kernel at a page fault of our choosing)",
    "ptrace": "tracing another process, or being traced by a helper",
    "process_vm_readv": "reading another process's memory",
    "process_vm_writev": "writing another process's memory",
    "pidfd_getfd": "taking a file descriptor out of another process",
    "kcmp": "comparing kernel objects of other processes",
    "mount": "mounts: the sandbox's view of files is fixed by the kit",
    "umount2": "uncovering what the kit's mounts hide",
    "pivot_root": "changing the root of the mount namespace",
    "chroot": "changing the root folder",
    "fsopen": "the new mount API (as mount)",
    "fsconfig": "the new mount API (as mount)",
    "fsmount": "the new mount API (as mount)",
    "fspick": "the new mount API (as mount)",
    "move_mount": "the new mount API (as mount)",
    "open_tree": "the new mount API (as mount)",
    "mount_setattr": "the new mount API (as mount)",
    "unshare": "new namespaces (a user namespace gives root-like powers inside it)",
    "setns": "entering another namespace",
    "kexec_load": "replacing the running kernel",
    "kexec_file_load": "replacing the running kernel",
    "init_module": "loading a kernel module",
    "finit_module": "loading a kernel module",
    "delete_module": "unloading a kernel module",
    "swapon": "the host's swap",
    "swapoff": "the host's swap",
    "reboot": "the host's power",
    "acct": "process accounting of the whole host",
    "iopl": "raw I/O ports",
    "ioperm": "raw I/O ports",
    "open_by_handle_at": "opening files by handle, past every folder's permissions and mounts",
    "name_to_handle_at": "file handles (half of open_by_handle_at)",
    "quotactl": "the host's disk quotas",
    "quotactl_fd": "the host's disk quotas",
    "lookup_dcookie": "kernel profiling paths",
    "syslog": "the kernel's log",
    "io_uring_setup": "io_uring: its operations are not seen by seccomp",
    "io_uring_enter": "io_uring (as io_uring_setup)",
    "io_uring_register": "io_uring (as io_uring_setup)",
    "fanotify_init": "watching the host's file accesses",
    "settimeofday": "the host's clock",
    "clock_settime": "the host's clock",
    "sethostname": "the host's name",
    "setdomainname": "the host's name",
    "vhangup": "hanging up a terminal",
    "uselib": "an obsolete loader call",
}
# flags of clone(2) that make a namespace: such a clone fails with EPERM (CLONE_NEWTIME is
# in clone's exit-signal byte, and reachable only through clone3 and unshare, both denied)
CLONE_NAMESPACES = {"CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000, "CLONE_NEWUTS": 0x04000000,
                    "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
                    "CLONE_NEWNET": 0x40000000}
NO_CLONE3 = errno.ENOSYS   # what clone3 returns: glibc then falls back to clone

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
_state = {}   # built once per process: "program" (bytes or None), "problem", "probed"


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def binding():
    """libseccomp's Python module: the official one if importable, else pyseccomp."""
    try:
        import seccomp
        return seccomp
    except ImportError:
        pass
    import pyseccomp   # raises RuntimeError when the system's libseccomp is missing
    return pyseccomp


def build():
    """The filter as a libseccomp SyscallFilter (raises ImportError/RuntimeError/OSError
    where the binding or libseccomp is missing)."""
    sc = binding()
    eperm = sc.ERRNO(errno.EPERM)
    rules = sc.SyscallFilter(sc.ALLOW)
    rules.set_attr(sc.Attr.ACT_BADARCH, eperm)
    rules.set_attr(sc.Attr.CTL_NNP, 1)
    for name in DENIED:
        try:
            rules.add_rule(eperm, name)
        except (OSError, ValueError, RuntimeError):
            pass   # not a call of this architecture or of this libseccomp (iopl on arm64, say)
    for name, flag in CLONE_NAMESPACES.items():
        rules.add_rule(eperm, "clone", sc.Arg(_clone_flags_arg(), sc.MASKED_EQ, flag, flag))
    try:
        rules.add_rule(sc.ERRNO(NO_CLONE3), "clone3")
    except (OSError, ValueError, RuntimeError):
        pass   # a libseccomp older than clone3: the kernel's clone3 stays allowed
    return rules


def _clone_flags_arg():
    return 1 if os.uname().machine.startswith("s390") else 0   # s390 swaps clone's first two arguments


def program():
    """The filter as a BPF program (bytes), built once per process; None where it cannot be
    built (problem() says why)."""
    if "program" not in _state:
        _state["program"], _state["problem"] = None, ""
        try:
            rules = build()
            fd = os.memfd_create("seccomp-bpf")
            try:
                with os.fdopen(os.dup(fd), "wb") as out:
                    rules.export_bpf(out)
                _state["program"] = os.pread(fd, os.fstat(fd).st_size, 0)
            finally:
                os.close(fd)
        except (ImportError, RuntimeError, OSError, AttributeError, ValueError) as exc:
            _state["problem"] = f"libseccomp unavailable ({type(exc).__name__}: {str(exc)[:80]})"
    return _state["program"]


def problem():
    """Why no filter is installed here ("" when it is)."""
    if not available():
        return _state.get("problem") or "seccomp unavailable"
    return ""


def warning():
    """The one-line note a strategy adds to its warning when the filter is missing."""
    reason = problem()
    return f"no seccomp filter ({reason}): keyrings, bpf, perf_event_open, ptrace and namespace calls are open to student code" \
        if reason else ""


def export_fd():
    """A fresh file descriptor holding the BPF program, at offset 0, for bwrap's `--seccomp FD`
    (bwrap reads it to the end; the caller closes it once bwrap has started). None without a
    filter."""
    if not available():
        return None
    fd = os.memfd_create("seccomp-bpf")
    os.write(fd, program())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def set_no_new_privs():
    """PR_SET_NO_NEW_PRIVS for the calling process and all it execs (raises OSError)."""
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")


def installer(enabled=True):
    """A function for a preexec (it allocates nothing: everything is prepared here, in the
    parent) that sets no_new_privs and, when `enabled` and a filter exists, loads it into the
    calling process. It raises OSError if the kernel refuses either."""
    code = program() if enabled else None
    if code is None:
        return set_no_new_privs
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = _SockFprog(len(code) // 8, ctypes.addressof(buffer))
    pointer = ctypes.cast(ctypes.pointer(fprog), ctypes.c_void_p)
    prctl, get_errno = _libc.prctl, ctypes.get_errno

    def install(_keep=(buffer, fprog)):
        set_no_new_privs()
        if prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, pointer, 0, 0) != 0:
            raise OSError(get_errno(), "prctl(PR_SET_SECCOMP)")
    return install


def available():
    """Is the filter built, and does this kernel load it (and deny add_key with EPERM)?
    Probed once per process in a forked child."""
    if "probed" not in _state:
        _state["probed"] = False
        if program() is not None:
            install = installer()
            pid = os.fork()
            if pid == 0:
                try:
                    install()
                    ok = _libc.syscall(248, None, None, None, 0, 0) == -1 and ctypes.get_errno() == errno.EPERM \
                        if os.uname().machine == "x86_64" else True   # 248: add_key on x86_64
                    os._exit(0 if ok else 2)
                except BaseException:
                    os._exit(1)
            status = os.waitpid(pid, 0)[1]
            _state["probed"] = status == 0
            if not _state["probed"]:
                _state["problem"] = "the kernel refused the seccomp filter"
    return _state["probed"]
