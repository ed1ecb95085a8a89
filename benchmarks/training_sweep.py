"""What buys the default agent in less time: main_train.py runs, one row each, timed as a user would time them.

    python -m benchmarks.training_sweep                      # every row below, 49 rows, about a minute each on 2 cores
    python -m benchmarks.training_sweep --rows default seed1 # some rows
    python -m benchmarks.training_sweep --repo OLD --rows default   # the defaults of another checkout (git worktree)

Each row runs `python main_train.py FLAGS --no-examples` in a subprocess (the whole command: building the pool,
training, the final table) and reads its table: exits and humans in the two kinds of training maze, and the
human rate with a human in a stub beside the path and away from it, on 1,000 fresh mazes per family. The bars
are those of tests/test_shipped.py. Times are wall-clock seconds on whatever machine this runs on, so compare
rows of one run, never rows of two.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import ROOT, table


def recipe(batch: int, steps: int, lr: str, *more: str) -> list[str]:
    """main_train.py flags for `batch` states per step, `steps` steps and a peak learning rate `lr`, then `more`."""
    return ["--batch-size", str(batch), "--steps", str(steps), "--lr", lr, *more]


# name -> main_train.py flags. The first rows are the defaults; the rest are what was tried on the way, most of
# them before today's defaults: those rows spell the old defaults out.
OLD_BATCH = ["--batch-size", "64", "--lr", "3e-3"]  # the defaults until 2026-12-05, with --steps 18000
OLD_STEPS = recipe(64, 18000, "3e-3")
UNIFORM = ["--far-weight", "0", "--steps", "24000", *OLD_BATCH]  # the defaults until 2026-12-03
ROWS = {
    "default": [],
    "seed1": ["--seed", "1"],
    "seed2": ["--seed", "2"],
    "seed3": ["--seed", "3"],  # seeds 3 and 4: looked at before adopting the defaults, not used to tune them
    "seed4": ["--seed", "4"],
    "control": ["--stub-humans", "0.01"],
    "uniform": UNIFORM,
    "uniform-seed1": UNIFORM + ["--seed", "1"],
    "uniform-seed2": UNIFORM + ["--seed", "2"],
    "uniform-control": UNIFORM + ["--stub-humans", "0.01"],
    "old-mix": UNIFORM + ["--stub-mazes", "0.75"],  # the pool's old mix: a quarter of the mazes without stubs
    "old-mix-target-25": UNIFORM + ["--stub-mazes", "0.75", "--target-every", "25"],  # only the new loss and batch
    "target-25": UNIFORM + ["--target-every", "25"],
    "steps-16k": [*OLD_BATCH, "--far-weight", "0", "--steps", "16000"],
    "steps-20k": [*OLD_BATCH, "--far-weight", "0", "--steps", "20000"],
    "steps-18k-lr-4e-3": ["--far-weight", "0", "--steps", "18000", "--lr", "4e-3", "--batch-size", "64"],
    "hidden-192": UNIFORM + ["--hidden", "192"],
    "hidden-192-steps-20k": [*OLD_BATCH, "--far-weight", "0", "--hidden", "192", "--steps", "20000"],
    "batch-48": ["--far-weight", "0", "--steps", "24000", "--lr", "3e-3", "--batch-size", "48"],
    # Drawing far states more often (--far-weight), before it was the default.
    "far-16k": [*OLD_BATCH, "--steps", "16000"],
    "far-1-16k": [*OLD_BATCH, "--far-weight", "1", "--steps", "16000"],
    # Fewer FLOPs to the same agent with --far-weight 0.5 (2026-12-05): a narrower or smaller batch, fewer steps.
    "far-batch-48": recipe(48, 18000, "3e-3"),
    "far-batch-48-20k": recipe(48, 20000, "3e-3"),
    "far-batch-48-20k-seed1": recipe(48, 20000, "3e-3", "--seed", "1"),
    "far-batch-48-20k-seed2": recipe(48, 20000, "3e-3", "--seed", "2"),
    "far-batch-48-20k-control": recipe(48, 20000, "3e-3", "--stub-humans", "0.01"),
    "far-hidden-192": [*OLD_STEPS, "--hidden", "192"],
    "far-0.75-16k": [*OLD_BATCH, "--far-weight", "0.75", "--steps", "16000"],
    # Fewer, larger steps (2026-12-05): a step's fixed cost is about half its time at 64 states (throughput.py).
    # Rows other than "default" spell out --batch-size, --steps and --lr.
    "old-default": OLD_STEPS,
    "old-default-seed1": [*OLD_STEPS, "--seed", "1"],
    "old-default-seed2": [*OLD_STEPS, "--seed", "2"],
    "old-default-control": [*OLD_STEPS, "--stub-humans", "0.01"],
    "b128-9k": recipe(128, 9000, "3e-3"),
    "b128-9k-target-25": recipe(128, 9000, "3e-3", "--target-every", "25"),
    "b128-10k": recipe(128, 10000, "3e-3"),
    "b96-12k": recipe(96, 12000, "3e-3"),
    "b96-13k": recipe(96, 13000, "3e-3"),
    "b80-14k": recipe(80, 14000, "3e-3"),
    "b96-12k-far-0.25": recipe(96, 12000, "3e-3", "--far-weight", "0.25"),
    "b128-9k-lr-5e-3": recipe(128, 9000, "5e-3"),
    "b128-9k-lr-5e-3-target-25": recipe(128, 9000, "5e-3", "--target-every", "25"),
    "b128-8k-lr-7e-3": recipe(128, 8000, "7e-3"),
    "b128-9k-lr-6e-3": recipe(128, 9000, "6e-3"),
    "b128-9k-lr-6e-3-seed1": recipe(128, 9000, "6e-3", "--seed", "1"),
    "b128-9k-lr-6e-3-seed2": recipe(128, 9000, "6e-3", "--seed", "2"),
    "b128-9k-lr-6e-3-seed3": recipe(128, 9000, "6e-3", "--seed", "3"),
    "b128-9k-lr-6e-3-control": recipe(128, 9000, "6e-3", "--stub-humans", "0.01"),
    "b128-9k-lr-6e-3-far-0.75": recipe(128, 9000, "6e-3", "--far-weight", "0.75"),
    "b128-9k-lr-6e-3-far-0.75-seed1": recipe(128, 9000, "6e-3", "--far-weight", "0.75", "--seed", "1"),
}
# Patterns of the table's family labels ("bonus stubs" is the old label, for --repo of an older checkout).
FAMILIES = ("training, no stubs", "training, (?:with|bonus) stubs", "human in stub, beside path",
            "human in stub, away from path")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.training_sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS), help="which rows to run")
    p.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose main_train.py runs")
    p.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for the runs (default: torch's choice)")
    return p.parse_args(argv)


def rates(output: str) -> dict[str, tuple[float, float]]:
    """(exit, human) per family, read from main_train.py's table."""
    found = {}
    for family in FAMILIES:
        m = re.search(family + r" \([^)]*\)\s+\d+\s+([\d.]+)%\s+([\d.]+)%", output)
        if m:
            found[family] = (float(m.group(1)), float(m.group(2)))
    return found


def run_row(repo: Path, flags: list[str], threads: int | None, folder: Path) -> tuple[float, dict]:
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(repo / "main_train.py"), *flags, "--no-examples",
                           "--save", str(folder / "agent.pt"), "--out", str(folder)],
                          cwd=repo, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"error: main_train.py {' '.join(flags)} failed:\n{done.stderr[-1500:]}")
    return seconds, rates(done.stdout)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"# Training sweep: main_train.py of {args.repo}, threads {args.threads or 'default'}, "
          f"load average before {os.getloadavg()[0]:.2f}")
    rows = []
    for name in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            seconds, r = run_row(args.repo, ROWS[name], args.threads, Path(tmp))
        if len(r) < len(FAMILIES):
            raise SystemExit(f"error: no table in the output of main_train.py {' '.join(ROWS[name])}")
        (plain_exit, plain_human), (bonus_exit, bonus_human), (_, beside), (_, away) = (r[f] for f in FAMILIES)
        rows.append([name, " ".join(ROWS[name]) or "(defaults)", f"{seconds:.0f}", plain_exit, bonus_exit,
                     max(plain_human, bonus_human), beside, away])
        print(f"  {name}: {seconds:.0f} s", file=sys.stderr, flush=True)
    print(table(["row", "flags", "wall s", "exit % (no stubs)", "exit % (bonus stubs)", "human % (training)",
                 "human % (stub beside path)", "human % (stub away)"], rows))
    print("bars: exits >= 98 %, humans in training 0 %, stub beside path >= 90 % (the control <= 5 %), "
          "stub away ~0 %; wall s < 60 for the default")
    return 0


if __name__ == "__main__":
    sys.exit(main())
