"""The trusted parent's side of one sandbox: start it, import, send cases, time them, kill it.

A Session runs the runner (runner.py) under an isolation strategy, in its own process group,
with rlimits. Three channels connect them, none of them a folder either side writes:
- commands: a pipe to the runner's stdin (frames of the wire format, wire.py);
- answers: a pipe from the runner (frames; read with a deadline and byte limits);
- the arena: a sealed memfd (it cannot grow or shrink) holding the current case's input
  arrays, mapped by both sides. The runner's arguments are views of it, so the parent reads
  what the call did to its inputs from its own mapping, whatever student code reports.
Every wait has a deadline: when it passes, the whole sandbox is killed and the next start
makes a fresh one. An answer counts only when it echoes the fresh random token of the
command it answers (a frame forged in advance cannot know it); anything else is ignored.
"""
import fcntl
import mmap
import os
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import cgroups, cleanup, slots, strategies, wire

TOKEN_BYTES = 16
ACTIVE = set()   # running sessions, so that Ctrl-C can kill every sandbox


def kill_all():
    for session in list(ACTIVE):
        session.close()


@dataclass
class Outcome:
    """What happened to one call in the sandbox (not whether it was right). Everything but
    `status` and `seconds` is the runner's claim, to be checked before any of it is used."""
    status: str                       # ok, error (raised), timeout, crash (the sandbox died)
    error_type: str = ""
    error_text: str = ""
    warnings: list = field(default_factory=list)    # [[category, text]] as the runner sent them
    seconds: float = 0.0
    result: dict = field(default_factory=lambda: {"n": 0})
    blobs: list = field(default_factory=list)
    changed: list = field(default_factory=list)     # argument indices whose lists or tuples the call changed


def copy_runner(folder):
    """The runner's files in `folder` (world-readable): no path into the kit reaches the sandbox."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in strategies.RUNNER_FILES:
        shutil.copyfile(strategies.HERE / name, folder / name)
        os.chmod(folder / name, 0o644)
    os.chmod(folder, 0o755)
    return folder


def limits_of(settings):
    return strategies.Limits(settings.cpu_seconds, settings.memory_bytes, settings.output_bytes,
                             settings.max_processes, settings.sandbox_disk_bytes, settings.sandbox_files)


class Arena:
    """The shared memory of one session's case inputs (see the module docstring)."""

    def __init__(self, size):
        self.size = max(mmap.PAGESIZE, -(-size // mmap.PAGESIZE) * mmap.PAGESIZE)
        self.fd = os.memfd_create("case-inputs", os.MFD_ALLOW_SEALING)
        os.ftruncate(self.fd, self.size)
        fcntl.fcntl(self.fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL)
        self.memory = mmap.mmap(self.fd, self.size)

    def close(self):
        try:
            self.memory.close()
        except BufferError:  # a view of it is still alive (a test's): the mapping goes with it
            pass
        os.close(self.fd)


class Session:
    def __init__(self, strategy, settings, submission, scratch, runner, slot=0, arena_bytes=1 << 20):
        self.strategy, self.settings, self.slot = strategy, settings, slot
        self.scratch = Path(scratch)
        self.paths = strategies.Paths(Path(submission), Path(runner), self.scratch / "work")
        self.arena = Arena(arena_bytes)
        self.process = self.commands = self.answers = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self):
        """Start a fresh sandbox (no module imported yet)."""
        self.close()
        self.paths.work.mkdir(mode=0o700, exist_ok=True)
        if self.strategy.uses_slot_uid:
            slots.restrict_to_slot(self.paths.submission, self.slot)
            os.chown(self.paths.work, slots.slot_uid(self.slot), slots.slot_uid(self.slot))
        command_read, command_write = os.pipe()
        answer_read, answer_write = os.pipe()
        limits = limits_of(self.settings)
        program = self.strategy.filter_fd()   # bwrap reads its seccomp filter from it (None elsewhere)
        try:
            self.process = subprocess.Popen(
                self.strategy.argv(self.paths, limits, program), stdin=command_read, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, pass_fds=(answer_write, self.arena.fd, *(() if program is None else (program,))),
                start_new_session=True, env=strategies.base_env(),
                preexec_fn=cgroups.bounded(self.slot, limits, self.strategy.preexec(self.paths, limits)),
                close_fds=True)
        finally:
            if program is not None:
                os.close(program)
        os.close(command_read)
        os.close(answer_write)
        os.set_blocking(command_write, False)
        ACTIVE.add(self)
        self.commands, self.answers = command_write, wire.Reader(answer_read, self.settings.max_result_bytes)
        spec = dict(self.strategy.runner_spec(self.paths, self.slot), wire_fd=answer_write,
                    arena_fd=self.arena.fd, arena_size=self.arena.size)
        return self.send(spec, (), time.monotonic() + self.settings.import_timeout)

    def close(self):
        """Kill the sandbox and everything it started; remove what it left (never raises)."""
        ACTIVE.discard(self)
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if self.strategy.shares_host:
                slots.kill_slot(self.slot)
                slots.remove_slot_leftovers(self.slot)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            if self.strategy.uses_slot_uid and not self.strategy.shares_host:
                slots.remove_slot_keys(self.slot)   # bwrap as root: keys outlive its namespaces
            self.process = None
        cgroups.release(self.slot)   # kills what is left in the sandbox's cgroup, removes it
        for fd in (self.commands, self.answers and self.answers.fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.commands = self.answers = None
        cleanup.remove_tree(self.paths.work)

    def dispose(self):
        self.close()
        self.arena.close()

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    # -- commands ------------------------------------------------------------------------
    def import_module(self, module, timeout, broken=()):
        """Import one student module (the `broken` ones refused): an Outcome with status ok,
        error, timeout or crash."""
        return self.exchange({"op": "import", "module": module, "broken": sorted(broken)}, (), timeout)

    def run(self, command, timeout, serve=None):
        """Run one case (command: target, args, kwargs, plan; its inputs already in the
        arena). serve(header, blobs) -> (reply header, blobs) answers the runner's calls of
        given helpers while the case runs."""
        bounds = wire.CaseBounds.of(command.get("args"), command.get("kwargs"))
        return self.exchange(dict(command, op="case"), (), timeout, serve, bounds)

    def exchange(self, command, blobs, timeout, serve=None, bounds=None):
        """Send one command and wait for its answer, serving the given helpers' calls on the
        way. Everything the sandbox sends is checked before use (wire.py); a frame that breaks
        the format, a call outside the case's bounds or a helper result over the limit ends
        the exchange: the sandbox is killed and the case fails in the parent's own words
        (status "crash", error_text a fixed phrase)."""
        started = time.monotonic()
        deadline = started + timeout
        token = secrets.token_hex(TOKEN_BYTES)
        if not self.send(dict(command, token=token), blobs, deadline):
            return self.lost(started, deadline)
        while True:
            try:
                frame = self.answers.read(deadline)
                if frame is None:
                    return self.lost(started, deadline)
                header, parts = frame
                if header.get("token") != token:
                    continue   # noise, or a forgery written by student code
                if "call" in header and serve is not None:
                    reply, reply_blobs = self.serve_call(header, parts, serve, bounds)
                    if not self.send(dict(reply, reply=token), reply_blobs, deadline):
                        return self.lost(started, deadline)
                    continue
                answer = wire.answer_fields(header)
            except EOFError:
                return self.lost(started, deadline)
            except wire.WireError as exc:
                self.close()
                return Outcome("crash", error_text=str(exc), seconds=time.monotonic() - started)
            seconds = time.monotonic() - started
            error = answer["error"]
            if error is None:
                return Outcome("ok", seconds=seconds, warnings=answer["warnings"], result=answer["result"],
                               blobs=parts, changed=answer["changed"])
            return Outcome("error", error["type"], error["text"], answer["warnings"], seconds)

    def serve_call(self, header, parts, serve, bounds):
        """The reply to one call of a given helper: its arguments checked against the case's
        bounds before `serve` runs it, its result against the size limit after (WireError)."""
        _, args = wire.call_fields(header)
        if bounds is not None:
            bounds.check(args, parts)
        reply, reply_blobs = serve(header, parts)
        if sum(len(b) for b in reply_blobs) > self.settings.max_result_bytes:
            raise wire.WireError(wire.HELPER_RESULT)
        return reply, reply_blobs

    def lost(self, started, deadline):
        """The answer did not come: a timeout when the sandbox still runs, else a crash."""
        timed_out = self.alive and time.monotonic() >= deadline
        self.close()
        seconds = time.monotonic() - started
        return Outcome("timeout" if timed_out else "crash", seconds=seconds)

    def send(self, header, blobs, deadline):
        """Write one frame without ever blocking past the deadline; False if it cannot."""
        if not self.alive:
            return False
        view = memoryview(wire.frame(header, blobs))
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _, ready, _ = select.select([], [self.commands], [], left)
            if not ready:
                return False
            try:
                view = view[os.write(self.commands, view):]
            except BlockingIOError:
                continue
            except OSError:
                return False
        return True


def probe_session(strategy, settings):
    """True when `strategy` can start the runner and import NumPy on this machine."""
    with tempfile.TemporaryDirectory(prefix="ag-probe-") as scratch:
        scratch = Path(scratch)
        os.chmod(scratch, 0o755)
        (scratch / "submission").mkdir()
        os.chmod(scratch / "submission", 0o755)
        (scratch / "submission" / "probe_module.py").write_text("import numpy\n")
        os.chmod(scratch / "submission" / "probe_module.py", 0o644)
        runner = copy_runner(scratch / "runner")
        session = Session(strategy, settings, scratch / "submission", scratch, runner, slot=0)
        try:
            return session.start() and session.import_module("probe_module", settings.import_timeout).status == "ok"
        except OSError:
            return False
        finally:
            session.dispose()
            cleanup.remove_tree(scratch / "submission")
