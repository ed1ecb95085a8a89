import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@pytest.fixture
def one_thread():
    """Train on one torch thread: small nets gain nothing from a second, and on a busy machine two threads
    can be many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_terminal_summary(terminalreporter):
    """What the hardening tests tried, counted as they ran (see tests/test_hardening.py)."""
    tally = getattr(sys.modules.get("test_hardening"), "TALLY", None)
    if tally and tally["runs"]:
        counts = ", ".join(f"{key}: {value}" for key, value in sorted(tally.items()))
        terminalreporter.write_line(f"hardening tally: {counts}")
