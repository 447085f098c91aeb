"""The program that runs student code, inside the sandbox. It is untrusted once it starts.

It imports only the standard library, NumPy and `wire` (copied beside it into the sandbox).
Every message is a frame of the wire format (wire.py); the trusted parent starts every
exchange on stdin, and the runner answers on the `wire_fd` it was given:

- first frame on stdin: the spec {"submission", "wire_fd", "arena_fd", "arena_size",
  "drop_to_uid"?, "preimport"?, "workdir"} (never on the command line, which /proc shows);
- {"op": "import", "module", "broken", "token"}: import one student module (the modules in
  "broken" are refused to any import); answer
  {"token", "error": exception type name or null};
- {"op": "case", "k", "token", "target", "args", "kwargs", "plan"}: call one function.
  Array arguments live in the shared "arena" the parent filled ({"m": [offset, dtype,
  shape]} nodes): they are views of it, so the parent sees any change made to them in place,
  whatever this process reports. "plan" says, for each helper the case is given, where it
  comes from: "own" (the student's, which passed its own cases), "public" (the skeleton's
  given code, sent as text: it is in the student's handout), or "call" (a proxy that asks
  the parent to run the reference and sends the answer back: no byte of the reference ever
  enters the sandbox). While the call runs, the runner may send {"token", "call": name,
  "args"} and read the parent's {"reply": token, "error", "result"}.
  The answer: {"token", "done": true, "error": {"type", "text"} or null, "warnings":
  [[category, text]], "result": value}.
The parent treats every frame as a claim: results are judged, error texts are shown only
as the parent allows, and a frame that does not echo the case's fresh token is ignored.
"""
import json
import mmap
import os
import signal
import sys
import warnings

import numpy as np

if __package__:   # the trusted parent imports this file as autograder.sandbox.runner (for `resolve`)
    from . import wire
else:             # in the sandbox, wire.py lies beside it (python -I does not put that folder on sys.path)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import wire
    del sys.path[0]

# loaded before an unprivileged runner drops its uid when it shares the host's files ("nobody":
# it may not be able to read them after); bwrap's read-only view stays readable
PREIMPORTS = ("numpy.random", "numpy.linalg", "math", "cmath", "itertools", "functools",
              "collections", "random", "copy", "re", "typing", "dataclasses", "numbers",
              "operator", "time", "abc", "enum", "string", "fractions", "decimal")
MAX_TEXT = 300


def short(text):
    try:
        text = " ".join(str(text).split())
    except BaseException:
        return ""
    return text[:MAX_TEXT]


def describe(exc):
    return {"type": type(exc).__name__, "text": short(exc)}


class Channel:
    """Frames to and from the parent."""

    def __init__(self, wire_fd):
        self.out = wire_fd
        self.commands = wire.Reader(0, max_payload=1 << 30)
        self.token = None

    def send(self, header, blobs=()):
        wire.send(self.out, header, blobs)

    def receive(self):
        frame = self.commands.read()
        if frame is None:
            raise EOFError
        return frame

    def call(self, name, args, kwargs):
        """Run the given helper `name` in the parent on these arguments."""
        blobs = []
        tree = wire.encode([list(args), dict(kwargs)], blobs)
        self.send({"token": self.token, "call": name, "args": tree}, blobs)
        while True:
            header, reply_blobs = self.receive()
            if header.get("reply") == self.token:
                break
        if header.get("error"):
            raise RuntimeError(f"the given {name} could not run on these arguments ({header['error']})")
        return wire.decode(header["result"], reply_blobs)


# ---------------------------------------------------------------------------- arguments
def load_args(node, arena, fn):
    """Decode a case's argument tree: arena arrays become views of the shared memory."""
    (kind, value), = node.items()
    if kind == "m":
        offset, dtype, shape = value
        count = int(np.prod(shape)) if shape else 1
        return np.frombuffer(arena, dtype=np.dtype(dtype), count=count, offset=offset).reshape(shape)
    if kind in ("f", "i", "s", "b"):
        return value
    if kind == "n":
        return None
    if kind == "l":
        return [load_args(v, arena, fn) for v in value]
    if kind == "t":
        return tuple(load_args(v, arena, fn) for v in value)
    if kind == "d":
        return {k: load_args(v, arena, fn) for k, v in value}
    if kind == "fn":
        return fn(value)
    raise ValueError(f"unknown argument kind {kind!r}")


def resolve(modules, target):
    """The callable named by {"module", "attr", "items"} among `modules` (the student's, or
    the reference's in the parent)."""
    obj = getattr(modules[target["module"]], target["attr"])
    for item in target.get("items", []):
        obj = obj[item]
    return obj


# ---------------------------------------------------------------------------- given helpers
class Given:
    """The helpers a case is given, built from its plan, and the patches that put them in place
    of the student's own (module globals and registries of tuples)."""

    def __init__(self, modules, channel):
        self.student, self.channel = modules, channel
        self.built = {}   # plan key -> {"module.attr": object}

    def objects(self, plan):
        key = json.dumps(plan, sort_keys=True)
        if key not in self.built:
            self.built[key] = self.build(plan)
        return self.built[key]

    def proxy(self, name):
        channel = self.channel

        def helper(*args, **kwargs):
            return channel.call(name, args, kwargs)
        helper.__name__ = helper.__qualname__ = name.split(".")[1]
        return helper

    def build(self, plan):
        objects = {}
        for name, mode in plan["names"].items():
            module, attr = name.split(".")
            if mode == "call":
                objects[name] = self.proxy(name)
            elif mode == "own":
                objects[name] = getattr(self.student.get(module), attr, None) or self.proxy(name)
        for module, public in plan["public"].items():  # in the lab's module order
            scope = {"__name__": f"given_{module}"}
            for local, name in public["binds"].items():
                owner, attr = name.split(".")
                scope[local] = objects[name] if name in objects else getattr(self.student.get(owner), attr, None)
            for name, obj in list(objects.items()):
                if name.split(".")[0] == module:
                    scope[name.split(".")[1]] = obj
            exec(compile(public["text"], f"<given {module}>", "exec"), scope)
            for name in public["names"]:
                objects[name] = scope[name.split(".")[1]]
        return objects

    def patch(self, plan):
        """Put every helper that is not the student's own in place. Returns the undo list."""
        objects = self.objects(plan)
        undo, swap = [], {}   # swap: id(student's object) -> (that object, given one)
        for name, mode in plan["names"].items():
            if mode == "own":
                continue
            module_name, attr = name.split(".")
            home = self.student.get(module_name)
            if home is None:
                continue
            given = objects[name]
            original = getattr(home, attr, None)
            if isinstance(original, dict) and isinstance(given, dict):
                undo.append(("dict", original, dict(original)))
                original.clear()
                original.update(given)
                continue
            undo.append(("attr", home, attr, original))
            setattr(home, attr, given)
            if original is not None:
                swap[id(original)] = (original, given)
        if not swap:
            return undo
        for module in self.student.values():  # one pass over every global, not one per name
            for key, value in list(vars(module).items()):
                if key.startswith("__"):
                    continue
                hit = swap.get(id(value))
                if hit is not None and hit[0] is value:
                    undo.append(("attr", module, key, value))
                    setattr(module, key, hit[1])
                elif isinstance(value, dict):  # registries such as {name: (f, f')}
                    for item, entry in list(value.items()):
                        if isinstance(entry, tuple) and any(id(e) in swap for e in entry):
                            undo.append(("item", value, item, entry))
                            value[item] = tuple(swap[id(e)][1] if id(e) in swap and swap[id(e)][0] is e else e
                                                for e in entry)
        return undo

    @staticmethod
    def unpatch(undo):
        for entry in reversed(undo):
            if entry[0] == "dict":
                entry[1].clear()
                entry[1].update(entry[2])
            elif entry[0] == "item":
                entry[1][entry[2]] = entry[3]
            elif entry[3] is None:
                entry[1].__dict__.pop(entry[2], None)
            else:
                setattr(entry[1], entry[2], entry[3])


# ---------------------------------------------------------------------------- commands
class Refuse:
    """A meta path finder that refuses the modules the parent found broken (a module that
    hung at import is not imported again by the modules that import it)."""

    def __init__(self):
        self.names = set()

    def find_spec(self, name, path=None, target=None):
        if name in self.names:
            raise ImportError(f"{name} could not be imported")
        return None


REFUSE = Refuse()


def import_module(name, modules, broken=()):
    REFUSE.names.update(b for b in broken if isinstance(b, str))
    if REFUSE not in sys.meta_path:
        sys.meta_path.insert(0, REFUSE)
    try:
        modules[name] = __import__(name)
        return None
    except BaseException as exc:  # a student's sys.exit at import is an import failure too
        sys.modules.pop(name, None)
        return describe(exc)


def containers(value):
    """What a call may not change of an argument beyond its arrays (which the parent reads back
    from the arena itself): the objects each list, tuple and dict holds, recursively (held,
    so that none is freed and its id reused)."""
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(value), tuple(containers(v) for v in value))
    if isinstance(value, dict):
        return (dict, tuple(value.items()), tuple(containers(v) for v in value.values()))
    return ()


def same_containers(a, b):
    if len(a) != len(b) or (a and (a[0] is not b[0] or len(a[1]) != len(b[1]))):
        return False
    if not a:
        return True
    items = zip(a[1], b[1]) if a[0] is not dict else ((x[1], y[1]) for x, y in zip(a[1], b[1]))
    keys = a[0] is not dict or [x[0] for x in a[1]] == [y[0] for y in b[1]]
    return keys and all(x is y for x, y in items) and all(same_containers(x, y) for x, y in zip(a[2], b[2]))


def run_case(command, modules, given, channel, arena):
    args = load_args(command["args"], arena, given.proxy)
    kwargs = load_args(command["kwargs"], arena, given.proxy)
    before = [containers(a) for a in args]
    undo, error, caught, blobs, tree = [], None, [], [], {"n": 0}
    try:
        undo = given.patch(command["plan"])
        function = resolve(modules, command["target"])
        np.seterr(divide="warn", over="warn", invalid="warn", under="ignore")  # NumPy's defaults
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = function(*args, **kwargs)
        tree = wire.encode(result, blobs)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt from student code too
        error, blobs, tree = describe(exc), [], {"n": 0}
    finally:
        Given.unpatch(undo)
    notes = [[w.category.__name__, short(w.message)] for w in caught[:5]]
    # a claim that can only cost the student: the parent believes a change, never its absence
    changed = [k for k, (a, b) in enumerate(zip(args, before)) if not same_containers(containers(a), b)]
    return {"done": True, "error": error, "warnings": notes, "result": tree, "changed": changed}, blobs


def main():
    channel = Channel(-1)
    spec, _ = channel.receive()
    channel.out = spec["wire_fd"]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing us
    arena = mmap.mmap(spec["arena_fd"], spec["arena_size"]) if spec["arena_size"] else b""
    if "drop_to_uid" in spec:  # before any student code runs
        for name in PREIMPORTS if spec.get("preimport") else ():
            __import__(name)
        os.setgroups([])
        os.setgid(spec["drop_to_uid"])
        os.setuid(spec["drop_to_uid"])
    sys.path.insert(0, spec["submission"])
    os.chdir(spec["workdir"])
    modules = {}
    given = Given(modules, channel)
    while True:
        try:
            command, _ = channel.receive()
        except EOFError:
            break
        channel.token = command.get("token")
        if command.get("op") == "import":
            error = import_module(command["module"], modules, command.get("broken", []))
            channel.send({"token": channel.token, "error": error})
        elif command.get("op") == "case":
            try:
                answer, blobs = run_case(command, modules, given, channel, arena)
            except BaseException as exc:
                answer, blobs = {"done": True, "error": describe(exc), "warnings": [], "result": {"n": 0}}, []
            channel.send({"token": channel.token, **answer}, blobs)
        else:
            break
    os._exit(0)


if __name__ == "__main__":
    main()
