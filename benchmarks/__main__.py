"""python -m benchmarks [--quick] [--seed N] [--only SECTION ...]: run the benchmarks and print their tables.

Sections: transitions, throughput, time_to_agent, dreaming, memory (in that
order). Each measures its two sides in the same run, since shared machines
are noisy; paste the whole output into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import dreaming, memory, throughput, time_to_agent, transitions
from .common import ROOT, Settings, peak_rss_mib

SECTIONS = ("transitions", "throughput", "time_to_agent", "dreaming", "memory")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes, under a minute: checks that everything runs (figures indicative only)")
    p.add_argument("--seed", type=int, default=0, help="seed for mazes, training and dreams")
    p.add_argument("--only", nargs="+", choices=SECTIONS, metavar="SECTION",
                   help=f"run only these sections: {', '.join(SECTIONS)}")
    p.add_argument("--threads", type=int, default=torch.get_num_threads(),
                   help="torch.set_num_threads for every section (default: torch's choice on this machine, %(default)s)")
    p.add_argument("--weights", type=Path, default=ROOT / "weights" / "agent.pt",
                   help="agent for the dreaming section; if the file is missing, the agent section 3 trained "
                        "(else a fresh network) is used")
    p.add_argument("--profile", action="store_true",
                   help="print a profile for every timed comparison, not only for goals missed in full mode")
    args = p.parse_args(argv)
    if args.threads < 1:
        p.error("--threads must be at least 1")
    return args


def git_revision() -> str:
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"


def load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def busy_warning(cores: int) -> str | None:
    """A warning when other work already keeps the cores busy: the figures will be noisy."""
    try:
        one_minute = os.getloadavg()[0]
    except OSError:
        return None
    if one_minute < cores - 0.5:
        return None
    return (f"WARNING:   load average {one_minute:.1f} with {cores} usable cores: other work shares this machine, so "
            f"the figures are noisy; with more than one torch thread, operations can slow down many times over")


def header(args: argparse.Namespace) -> None:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mode = "quick (tiny sizes: checks that it runs, not figures to quote)" if args.quick else "full"
    print("# Benchmarks\n")
    print(f"date:      {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"command:   {shlex.join(getattr(sys, 'orig_argv', [sys.executable, *sys.argv]))}")
    print(f"mode:      {mode}")
    print(f"machine:   {platform.platform()}, {platform.machine()}, {platform.processor() or 'cpu n/a'}")
    print(f"cores:     os.cpu_count() = {os.cpu_count()}, usable by this process = {affinity}")
    print(f"software:  python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}")
    print(f"threads:   torch.get_num_threads() = {torch.get_num_threads()}")
    print(f"load avg:  {load()} (1, 5, 15 min) at start; high values mean other work shares the cores")
    print(f"revision:  {git_revision()}, seed {args.seed}")
    warning = busy_warning(affinity or 1)
    if warning:
        print(warning)
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = Settings(quick=args.quick, seed=args.seed, threads=args.threads, weights=args.weights,
                        profile=args.profile)
    chosen = [s for s in SECTIONS if args.only is None or s in args.only]
    header(args)

    start = time.perf_counter()
    timings: dict[str, float] = {}
    trained, trained_how = None, ""
    for name in chosen:
        t = time.perf_counter()
        if name == "transitions":
            transitions.run(settings)
        elif name == "throughput":
            throughput.run(settings)
        elif name == "time_to_agent":
            result = time_to_agent.run(settings)
            trained = result["net"]
            trained_how = "main_train " + (" ".join(result["args"]) or "defaults")
        elif name == "dreaming":
            dreaming.run(settings, trained, trained_how)
        elif name == "memory":
            memory.run(settings)
        timings[name] = time.perf_counter() - t
        sys.stdout.flush()

    print("\n## Run\n")
    print("section seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    print(f"total: {time.perf_counter() - start:.0f} s; peak RSS of this process: {peak_rss_mib():.0f} MiB; "
          f"load avg at end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
