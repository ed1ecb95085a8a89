"""1. Transitions: the vectorized maze_env.transitions vs the per-transition loop (transitions_reference).

Both build the exhaustive set of (maze, position, action, reward, done, next
position) for the same mazes; inputs are encoded on demand, so neither builds
the 210-float vectors. Goal: the vectorized code >= 100x faster.
"""

from __future__ import annotations

import numpy as np
import torch

import maze_env as env
from model import INPUT_SIZE

from .common import Settings, best_of, ratio_line, section, table, torch_profile_top

GOAL = 100.0


def compact_bytes(t: env.Transitions) -> int:
    return sum(x.element_size() * x.nelement() for x in vars(t).values())


def run(settings: Settings) -> list[dict]:
    section("1. Transitions: vectorized vs per-transition loop")
    sizes = [1000] if settings.quick else [1000, 10_000]
    rng = np.random.default_rng([settings.seed, 1])
    rows, results = [], []
    for n in sizes:
        mazes = torch.tensor(np.stack([env.make_plain_maze(rng) for _ in range(n)]))
        env.transitions(mazes)  # warm-up: first calls pay for allocations
        # Interleave the two so that a burst of other work on the machine hits both alike.
        loop_repeats = 1 if n > 2000 or settings.quick else 2
        fast, slow = float("inf"), float("inf")
        for _ in range(loop_repeats):
            t_fast, fast_result = best_of(lambda: env.transitions(mazes), 10)
            t_slow, slow_result = best_of(lambda: env.transitions_reference(mazes), 1)
            fast, slow = min(fast, t_fast), min(slow, t_slow)
        if len(fast_result) != len(slow_result):
            raise AssertionError(f"{n} mazes: {len(fast_result)} vectorized transitions, {len(slow_result)} in the loop")
        speedup = slow / fast
        results.append({"mazes": n, "transitions": len(fast_result), "loop_s": slow, "vectorized_s": fast,
                        "speedup": speedup, "compact_mb": compact_bytes(fast_result) / 1e6})
        rows.append([f"{n:,}", f"{len(fast_result):,}", f"{slow:.3f}", f"{fast * 1e3:.2f}", f"{speedup:.1f}x",
                     f"{compact_bytes(fast_result) / 1e6:.1f}", f"{len(fast_result) * 2 * INPUT_SIZE * 4 / 1e6:,.0f}"])
    print(table(["mazes", "transitions", "loop s", "vectorized ms", "speedup", "compact MB", "as inputs MB"], rows))
    print("loop: best of 1-2 runs; vectorized: best of 10 runs, interleaved with the loop.")
    print("'as inputs MB': what storing the 210-float state and next-state inputs would take instead (computed, not built).")
    met_all = True
    for r in results:
        line, met = ratio_line(f"speedup (vectorized / loop) at {r['mazes']:,} mazes", r["speedup"], GOAL,
                               quick=settings.quick)
        print(line)
        met_all &= bool(met)
    if (not met_all and not settings.quick) or settings.profile:
        largest = mazes  # the last, largest batch
        print(f"\nWhere the vectorized code spends its time at {len(largest):,} mazes (10 calls):")
        print(torch_profile_top(lambda: [env.transitions(largest) for _ in range(10)], limit=8))
    return results
