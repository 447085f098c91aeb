"""Given helpers: what a case of a composite function gets in place of the student's own.

A case may name helpers it is given ("mlp.dense_forward" for a case of mlp_forward), so that a
bug in one function costs points in that function only. No byte of the reference enters the
sandbox; for each helper in the case's closure (the helpers, and what they use from their
module) the plan says where it comes from:
- "public": a definition the skeleton gives complete (identity, ACTIVATIONS, init_params):
  its text, taken from the skeleton the student already has, runs in the sandbox;
- "own":    the student's own function, when every one of its cases judged so far passed
  (it is right as far as grading can tell, and calling it costs nothing; see grading.grade
  for a public case that failed with it and is judged again once the helper failed later);
- "call":   anything else: a proxy in the sandbox asks the parent, which runs the reference
  on the arrays it is sent and sends the result back (a round trip a call). A function of
  the student's that uses such a helper directly is called in the parent too (one round
  trip instead of one per inner call).
"""
import ast
import functools
from dataclasses import dataclass, field

from .skeleton import strip_markers, strip_solutions


def top_name(node):
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    return None


@dataclass
class ModuleText:
    """One module's top-level definitions (reference and skeleton) and its imports."""
    reference: dict        # attr -> ast node (marker-stripped reference)
    skeleton: dict         # attr -> ast node
    imports: list          # non-lab import nodes
    lab_imports: dict      # local name -> "module.attr" (from <lab module> import ...)
    publics: dict = field(default_factory=dict)   # attr -> whether the skeleton gives it complete

    def public(self, attr):
        if attr not in self.publics:
            ref, skel = self.reference.get(attr), self.skeleton.get(attr)
            self.publics[attr] = ref is not None and skel is not None and ast.dump(ref) == ast.dump(skel)
        return self.publics[attr]

    def uses(self, attr):
        node = self.reference.get(attr)
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} if node is not None else set()


class Planner:
    """Plans for one lab (built once per batch from the reference folder)."""

    def __init__(self, reference_dir, modules):
        self.modules = list(modules)
        self.texts = {}
        for module in modules:
            source = (reference_dir / f"{module}.py").read_text()
            reference = ast.parse(strip_markers(source))
            skeleton = ast.parse(strip_solutions(source, f"{module}.py"))
            imports, lab_imports = [], {}
            for node in reference.body:
                if isinstance(node, ast.ImportFrom) and node.module in modules:
                    lab_imports.update({(a.asname or a.name): f"{node.module}.{a.name}" for a in node.names})
                elif isinstance(node, (ast.Import, ast.ImportFrom)):
                    imports.append(node)
            self.texts[module] = ModuleText({top_name(n): n for n in reference.body if top_name(n)},
                                            {top_name(n): n for n in skeleton.body if top_name(n)},
                                            imports, lab_imports)
        self._closures = {}

    def closure(self, names):
        """Every "module.attr" the given `names` need: what they use from their own module,
        and for public definitions (which run in the sandbox) what they import from others."""
        key = tuple(sorted(names))
        if key not in self._closures:
            found, todo = set(), list(names)
            while todo:
                name = todo.pop()
                module, attr = name.split(".")
                text = self.texts.get(module)
                if name in found or text is None or attr not in text.reference:
                    continue
                found.add(name)
                used = text.uses(attr)
                todo += [f"{module}.{u}" for u in used if u in text.reference]
                if text.public(attr):
                    todo += [text.lab_imports[u] for u in used if u in text.lab_imports]
            self._closures[key] = found
        return self._closures[key]

    @functools.lru_cache(maxsize=None)
    def direct_uses(self, name):
        """The "module.attr" names a definition uses directly (its module's, and what its
        module imports from other lab modules)."""
        module, attr = name.split(".")
        text = self.texts[module]
        used = text.uses(attr)
        return frozenset({f"{module}.{u}" for u in used if u in text.reference}
                         | {text.lab_imports[u] for u in used if u in text.lab_imports})

    @functools.lru_cache(maxsize=None)
    def public_source(self, module, attrs):
        """The skeleton's text of the public definitions `attrs` (a tuple), with the module's imports."""
        text = self.texts[module]
        body = list(text.imports) + [n for a, n in text.skeleton.items() if a in attrs]
        return ast.unparse(ast.Module(body=body, type_ignores=[]))

    def plan(self, given, tested, own):
        """The plan of a case given `given` while testing `tested`; own(name) says whether the
        student's function passed every one of its cases."""
        names = {}
        for name in sorted(self.closure(given) - {tested}):
            module, attr = name.split(".")
            names[name] = "public" if self.texts[module].public(attr) else "own" if own(name) else "call"
        # a function of the student's that calls a helper the parent must run is run by the
        # parent too: one round trip for the whole call, not one for each inner call
        changed = True
        while changed:
            changed = False
            for name, mode in names.items():
                if mode == "own" and any(names.get(used) == "call" for used in self.direct_uses(name)):
                    names[name], changed = "call", True
        public = {}
        for module in self.modules:
            attrs = [n.split(".")[1] for n, mode in names.items() if mode == "public" and n.split(".")[0] == module]
            if attrs:
                text = self.texts[module]
                binds = {local: name for local, name in text.lab_imports.items() if name in names}
                public[module] = {"text": self.public_source(module, tuple(attrs)), "binds": binds,
                                  "names": [f"{module}.{a}" for a in attrs]}
        return {"names": names, "public": public}
