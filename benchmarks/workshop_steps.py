"""How long each command of the workshop takes: the machine time behind docs/instructor.md's plan.

    python -m benchmarks.workshop_steps            # every command of the README's steps, once each
    python -m benchmarks.workshop_steps --quick    # the fast ones only (a smoke run)

Each command runs as a participant runs it (a subprocess from the repository's
folder; `--solution` stands in for a finished exercise 1, and outputs go to a
temporary folder). The table gives its wall time. A step's minutes in the
plan are this machine time plus reading, thinking and typing, which no
script measures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import ROOT, table

# step, command (TMP is replaced by a temporary folder)
STEPS = [
    ("0 setup", "main_train.py --play"),
    ("1 fail", "main_train.py --table"),
    ("2 dream", "check.py 1"),
    ("2 dream", "maze_dream.py --solution"),
    ("3 verify", "maze_dream.py --solution --verify --save-mazes TMP/dream.txt"),
    ("3 verify", "main_train.py --evaluate TMP/dream.txt"),
    ("4 atlas", "maze_dream.py --solution --all --png TMP/warning_map.png"),
    ("5 audit", "maze_dream.py --solution --audit --save-mazes TMP/flagged.txt --png TMP/audit.png"),
    ("5 audit", "main_train.py --evaluate TMP/flagged.txt"),
    ("6 why", "main_train.py --inspect"),
    ("6 why", "main_train.py --table --details"),
    ("6 why", "weight_map.py --png TMP/weight_map.png"),
    ("7 swap", "main_train.py --stub-humans 0.5 --blind-cells 3,3 --save TMP/ours.pt --out TMP --no-examples"),
    ("7 swap", "maze_dream.py --solution --audit --json --weights TMP/ours.pt --png TMP/theirs.png"),
    ("7 swap", "main_train.py --reveal --weights TMP/ours.pt"),
    ("8 more", "maze_dream_more.py neurons --layer 2 --unit 150"),
    ("8 more", "maze_dream_more.py neurons --top 5"),
    ("8 more", "maze_dream_more.py regularized"),
    ("8 more", "maze_dream_more.py close-loop --oracle"),
]
QUICK = {"main_train.py --play", "check.py 1", "maze_dream.py --solution", "main_train.py --inspect"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.workshop_steps", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="only the commands that take a few seconds")
    p.add_argument("--seed", type=int, default=0, help="passed to every command that takes one")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = []
    print(f"# Workshop steps on {os.cpu_count()} cores, load average before {os.getloadavg()[0]:.2f}",
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for step, command in STEPS:
            if args.quick and command not in QUICK:
                continue
            argv_ = command.replace("TMP", tmp).split()
            if not argv_[0] == "check.py":
                argv_ += ["--seed", str(args.seed)]
            print(f"running {command}", file=sys.stderr, flush=True)
            start = time.perf_counter()
            done = subprocess.run([sys.executable, *argv_], cwd=ROOT, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            ok = "ok" if done.returncode == 0 else f"exit {done.returncode}"
            if command == "check.py 1":  # exits 1 while the TODO is open: that's the point
                ok = "ok" if done.returncode in (0, 1) else ok
            rows.append([step, command.replace("TMP/", ""), f"{seconds:.1f}", ok])
    print(table(["step", "command", "wall s", "result"], rows))
    return 0 if all(r[3] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
