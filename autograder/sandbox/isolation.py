"""Choosing a sandbox at run time: the configured strategy, or for "auto" the first one that
can start the runner and import NumPy on this machine (see strategies.py for what each one
protects)."""
from pathlib import Path

from .session import probe_session
from .strategies import STRATEGIES

_probed = {}


def probe(strategy, settings):
    """Can this strategy start Python with NumPy here? (cached per process)"""
    if strategy.name not in _probed:
        _probed[strategy.name] = strategy.available() and probe_session(strategy, settings)
    return _probed[strategy.name]


def choose(name, settings):
    """The strategy called `name`, or for "auto" the first one that works here."""
    if name == "auto":
        for strategy in STRATEGIES.values():
            if probe(strategy, settings):
                return strategy
    if name not in STRATEGIES:
        raise ValueError(f"unknown isolation {name!r}; use auto or one of {sorted(STRATEGIES)}")
    strategy = STRATEGIES[name]
    if not probe(strategy, settings):
        raise RuntimeError(f"isolation {name!r} does not work on this machine")
    return strategy


def working(settings):
    """The names of the strategies that work here."""
    return [name for name, strategy in STRATEGIES.items() if probe(strategy, settings)]


def hidden_material_problems(folders):
    """Hidden folders that another user could read (a problem for the uid sandboxes)."""
    problems = []
    for folder in folders:
        for path in [Path(folder), *Path(folder).parents]:
            if not path.stat().st_mode & 0o001:  # no search permission for others: nothing below is reachable
                break
        else:
            problems.append(str(folder))
    return problems
