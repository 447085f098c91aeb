"""Shared fixtures: the lab, its prepared cases and settings sized for tests."""
import pytest

from autograder.config import DEFAULTS
from autograder.labs import load_lab


@pytest.fixture(scope="session")
def lab():
    return load_lab("lab17_backprop")


@pytest.fixture(scope="session")
def settings():
    return DEFAULTS
