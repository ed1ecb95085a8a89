"""The benchmarks still run: `python -m benchmarks --quick` finishes and prints every section's ratio.

No timings are asserted (shared machines are too noisy for that); only that
each line is there.
"""

import re
import subprocess
import sys

import pytest

from helpers import ROOT, SUBPROCESS_ENV

EXPECTED = [
    r"^command: .*-m benchmarks --quick",
    r"^speedup \(vectorized / loop\) at [\d,]+ mazes: .*goal >= 100x: (met|MISSED)",
    r"^fraction of ceiling \(real loop / bare matmul loop\): .*goal >= 50%: (met|MISSED)",
    r"^time to a good agent \(quick config\): ",
    r"^speedup \(batched / loop\): .*goal >= 20x: (met|MISSED)",
    r"^queries per confirmed maze \(random search / dreaming\) vs random training mazes: .*goal >= 10x: (met|MISSED|not measured|inconclusive)",
    r"^training: main_train\.train\(\) .*\d+ +[+-]\d+$",
    r"^atlas: dream\(atlas_targets\(\).*\d+ +[+-]\d+$",
    r"^queries per confirmed maze \(random search / dreaming\) vs random wall patterns: ",
    r"^total: \d+ s",
]


@pytest.mark.slow  # 20 s: the default suite stays under 2 minutes
def test_quick_benchmarks_run_and_print_every_ratio():
    # One torch thread: on a shared machine, several threads per process can slow everything down many times over.
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--threads", "1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    for pattern in EXPECTED:
        assert re.search(pattern, out.stdout, re.MULTILINE), f"no line matching {pattern!r} in:\n{out.stdout}"
    assert "Traceback" not in out.stderr


def test_help_lists_the_options():
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0
    for flag in ("--quick", "--seed", "--only", "--threads", "--weights", "--profile"):
        assert flag in out.stdout


@pytest.mark.slow
def test_quick_rediscovery_runs_and_prints_its_verdicts():
    """`python -m benchmarks.rediscovery --quick`: two tiny agents trained in a temporary folder, audited, with the
    baselines; every verdict line is printed (what the tiny agents score means nothing)."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.rediscovery", "--quick"], cwd=ROOT,
                         env=SUBPROCESS_ENV, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    for pattern in (r"^audit recall: .*goal >= 95%: (met|MISSED|not measured)$",
                    r"^false flags: \d+, of them on clean agents: \d+  goal 0: (met|MISSED)$",
                    r"same recall with 10x fewer rollouts: (met|MISSED|not measured)$",
                    r"^tiny-clean .*", r"^tiny-blind .*"):
        assert re.search(pattern, out.stdout, re.MULTILINE), f"no line matching {pattern!r} in:\n{out.stdout}"
    assert "Traceback" not in out.stderr and not (ROOT / "runs" / "zoo" / "tiny-clean.pt").exists()


def test_a_zoo_folder_never_reuses_agents_trained_with_other_flags(tmp_path):
    from benchmarks.rediscovery import check_zoo_flags

    check_zoo_flags(tmp_path, ["--far-weight", "0.5"])  # a new folder takes the flags and records them
    check_zoo_flags(tmp_path, ["--far-weight", "0.5"])
    with pytest.raises(SystemExit, match="trained with the extra flags '--far-weight 0.5'"):
        check_zoo_flags(tmp_path, [])
    old = tmp_path / "old"
    old.mkdir()
    (old / "clean-s1.pt").write_bytes(b"")  # a zoo from before the record existed: trained with no extra flags
    with pytest.raises(SystemExit, match="without the extra flags"):
        check_zoo_flags(old, ["--steps", "18000"])
    check_zoo_flags(old, [])
