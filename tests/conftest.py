import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pytest_terminal_summary(terminalreporter):
    """What the hardening tests tried, counted as they ran (see tests/test_hardening.py)."""
    tally = getattr(sys.modules.get("test_hardening"), "TALLY", None)
    if tally and tally["runs"]:
        counts = ", ".join(f"{key}: {value}" for key, value in sorted(tally.items()))
        terminalreporter.write_line(f"hardening tally: {counts}")
