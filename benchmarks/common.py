"""What every section shares: settings, timers, tables, ratio lines, memory and profiles."""

from __future__ import annotations

import contextlib
import cProfile
import io
import pstats
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence, TypeVar

import torch

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@dataclass
class Settings:
    """What the command line chose, handed to every section."""

    quick: bool
    seed: int
    threads: int  # torch.get_num_threads() in effect
    weights: Path  # the agent the dreaming section uses, if the file exists
    profile: bool  # profile every timed comparison, not only the goals missed


# --- Timing -------------------------------------------------------------------------
def best_of(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    """The fastest of `repeats` calls, in seconds, and the last result.

    The minimum is the figure least disturbed by other work on a shared machine.
    """
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


class StepClock:
    """Timestamps of every optimizer step of the real training loop, without touching its code.

    A global optimizer post-step hook fires after each optimizer.step(), so the
    time between the first and the last step covers everything the loop does
    per step (sampling, encoding, forward, backward, target sync, periodic
    evaluation) and nothing before it (building the pool) or after it.
    """

    def __init__(self) -> None:
        self.times: list[float] = []
        self._handle = None

    def __enter__(self) -> "StepClock":
        from torch.optim.optimizer import register_optimizer_step_post_hook

        self._handle = register_optimizer_step_post_hook(lambda *_: self.times.append(time.perf_counter()))
        return self

    def __exit__(self, *exc) -> None:
        self._handle.remove()

    def steps_per_second(self) -> float:
        """Steps per second between the first and the last step (n - 1 intervals)."""
        if len(self.times) < 2:
            return float("nan")
        return (len(self.times) - 1) / (self.times[-1] - self.times[0])


@contextlib.contextmanager
def same_global_torch_state() -> Iterator[None]:
    """main_train.train() switches on deterministic algorithms for the whole process; undo it afterwards."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic)


# --- Printing ---------------------------------------------------------------------------
def section(title: str) -> None:
    print(f"\n## {title}\n", flush=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def goal_word(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "not measured"}[met]


def ratio_line(label: str, value: float | None, goal: float, unit: str = "x", quick: bool = False,
               why_none: str = "") -> tuple[str, bool | None]:
    """'label: 123.4x  goal >= 100x: met', and whether the goal was met (None: no value)."""
    if value is None:
        text, met = f"{label}: n/a ({why_none})", None
    else:
        shown = f"{value:.1%}" if unit == "%" else f"{value:.1f}x" if value >= 1 else f"{value:.2g}x"
        text, met = f"{label}: {shown}", value >= goal
    target = f"{goal:.0%}" if unit == "%" else f"{goal:g}x"
    text += f"   goal >= {target}: {goal_word(met)}"
    if quick:
        text += " (quick mode: indicative only)"
    return text, met


# --- Memory and profiles ----------------------------------------------------------------------
def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB.

    On Linux this is VmHWM from /proc/self/status: the high-water mark of this
    process's own memory. ru_maxrss would be wrong for the memory section's
    subprocesses: Linux carries the parent's peak over fork and exec into it.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**10  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def peak_rss_method() -> str:
    if Path("/proc/self/status").is_file():
        return "VmHWM (peak resident set) from /proc/self/status"
    return "resource.getrusage(RUSAGE_SELF).ru_maxrss"


def profile_top(fn: Callable[[], object], limit: int = 10) -> str:
    """Run fn under cProfile; the functions (and torch operations) with the most own time.

    Torch operations called from Python show up as builtins ('method repeat of
    TensorBase', 'built-in method nonzero', ...), so this names what dominates
    both in Python code and in tensor code.
    """
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        fn()
    finally:
        profiler.disable()
    return format_profile(profiler, limit)


def torch_profile_top(fn: Callable[[], object], limit: int = 10) -> str:
    """Run fn under torch.profiler; the tensor operations with the most own CPU time.

    For code that is a handful of tensor expressions (operators such as + and
    [] don't show up in cProfile).
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    out = io.StringIO()
    out.write(f"  profile (torch.profiler, {total / 1e6:.2f} s of CPU time in tensor operations), by own time:\n")
    out.write(f"  {'own ms':>8} {'own %':>6} {'calls':>7}  operation\n")
    for e in events[:limit]:
        out.write(f"  {e.self_cpu_time_total / 1e3:8.1f} {e.self_cpu_time_total / total:6.1%} {e.count:7d}  {e.key}\n")
    return out.getvalue().rstrip("\n")


def format_profile(profiler: cProfile.Profile, limit: int = 10) -> str:
    stats = pstats.Stats(profiler)
    total = stats.total_tt or 1.0
    rows = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
        where = name if filename == "~" else f"{Path(filename).name}:{line}({name})"
        rows.append((own, calls, cumulative, where))
    rows.sort(reverse=True)
    out = io.StringIO()
    out.write(f"  profile (cProfile, {total:.2f} s in total), by own time:\n")
    out.write(f"  {'own s':>7} {'own %':>6} {'calls':>7} {'cum s':>7}  function\n")
    for own, calls, cumulative, where in rows[:limit]:
        out.write(f"  {own:7.3f} {own / total:6.1%} {calls:7d} {cumulative:7.3f}  {where[:90]}\n")
    return out.getvalue().rstrip("\n")
