"""4. Dreaming: the batched atlas vs the same targets one at a time, and queries per confirmed maze vs random search.

Speed: maze_dream.dream() on all atlas_targets() at once, against a Python
loop calling dream() on each target alone, same steps and learning rate, with
the reference gradient (spoilers.solutions.wall_locations_gradient). Goal:
batched >= 20x faster.

Queries: network evaluations spent per maze in which the agent is confirmed
to harvest a human. Dreaming costs 2 * steps * dreams (a forward and a
backward per step) plus one rollout per verified maze, counted at
env.MAX_STEPS (an upper bound), as maze_dream.py --random-search counts it.
Random search costs one query per rollout step (dream_maps.random_search),
on random training mazes and on random wall patterns, as maze_dream.py
--random-search compares them. Goal: dreaming needs >= 10x fewer queries
than random search over training mazes (the family the dreams are completed
into); the wall-pattern ratio is printed without a goal.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

import dream_maps
import dream_verify
import maze_dream
import maze_env as env
from model import WeightsError, load_agent, make_q_network
from spoilers.solutions import wall_locations_gradient

from .common import Settings, best_of, goal_word, profile_top, ratio_line, section, table

SPEED_GOAL = 20.0
QUERY_GOAL = 10.0
BASELINES = (("random training mazes", env.make_plain_maze),
             ("random wall patterns", dream_maps.random_wall_maze))
GOAL_BASELINE = "random training mazes"


def choose_net(settings: Settings, trained: nn.Module | None, trained_how: str) -> tuple[nn.Module, str]:
    """The shipped weights if present, else the agent section 3 trained, else a fresh network."""
    if settings.weights.is_file():
        try:
            net, _ = load_agent(settings.weights)
            return net, f"weights from {settings.weights}"
        except WeightsError as err:
            print(f"(could not load {settings.weights}: {err})")
    if trained is not None:
        return trained, f"the agent trained in section 3 ({trained_how}), as {settings.weights.name} is absent"
    torch.manual_seed(settings.seed)
    return make_q_network(), ("a freshly initialised make_q_network() (no weights file, section 3 not run): "
                              "the timings hold, the query counts say nothing about a trained agent")


def single(targets: maze_dream.Targets, b: int) -> maze_dream.Targets:
    return maze_dream.make_targets([(tuple(targets.humans[b].tolist()), tuple(targets.agents[b].tolist()))])


def run(settings: Settings, trained: nn.Module | None = None, trained_how: str = "") -> dict:
    section("4. Dreaming: batched atlas vs one target at a time; queries per confirmed maze vs random search")
    net, where = choose_net(settings, trained, trained_how)
    net.eval().requires_grad_(False)  # the weights stay fixed, as in maze_dream.main
    print(f"network: {where}")
    defaults = maze_dream.parse_args([])
    steps = 10 if settings.quick else defaults.steps
    targets = maze_dream.atlas_targets()
    n = len(targets)

    def batched() -> maze_dream.Dreams:
        return maze_dream.dream(net, targets, wall_locations_gradient, steps, defaults.lr)

    def loop() -> list[maze_dream.Dreams]:
        return [maze_dream.dream(net, single(targets, b), wall_locations_gradient, steps, defaults.lr) for b in range(n)]

    batched()  # warm-up
    t_batched, dreams = best_of(batched, 1 if settings.quick else 3)
    t_loop, singles = best_of(loop, 1)
    diff = max(float((dreams.walls[b] - s.walls[0]).abs().max()) for b, s in enumerate(singles))
    speedup = t_loop / t_batched
    print(table(["method", "dreams", "steps", "seconds", "ms per dream"], [
        ["batched: dream(atlas_targets()) once", n, steps, f"{t_batched:.3f}", f"{t_batched / n * 1e3:.2f}"],
        ["loop: dream(one target) per target", n, steps, f"{t_loop:.3f}", f"{t_loop / n * 1e3:.2f}"],
    ]))
    print(f"same dreams either way: largest wall difference {diff:.1e}")
    line, met = ratio_line("speedup (batched / loop)", speedup, SPEED_GOAL, quick=settings.quick)
    print(line)
    if (met is False and not settings.quick) or settings.profile:
        print("\nWhere the batched dream spends its time:")
        print(profile_top(batched, limit=8))
        print("\nWhere the loop spends its time (first 20 targets):")
        print(profile_top(lambda: [maze_dream.dream(net, single(targets, b), wall_locations_gradient, steps,
                                                    defaults.lr) for b in range(min(20, n))], limit=8))

    # Queries per confirmed human-harvesting maze.
    start = time.perf_counter()
    verdict = dream_verify.verify(net, dreams, settings.seed)
    verify_s = time.perf_counter() - start
    confirmed = sum(verdict.confirmed)
    verified = sum(m is not None for m in verdict.mazes)
    dream_queries = 2 * steps * n + verified * env.MAX_STEPS
    dream_per = dream_queries / confirmed if confirmed else None
    rows = [["dreaming (atlas, verified)", n, f"{dream_queries:,}", confirmed,
             f"{dream_per:,.1f}" if dream_per else f"none found in {n}"]]
    n_random = 500 if settings.quick else 5000
    rng = np.random.default_rng([settings.seed, 4])
    searches = {}
    for name, make in BASELINES:
        r = dream_maps.random_search(net, make, n_random, rng)
        searches[name] = r
        rows.append([f"random search: {name}", n_random, f"{r['queries']:,}", r["found"],
                     f"{r['queries_per_found']:,.1f}" if r["found"] else f"none found in {n_random}"])
    print()
    print(table(["method", "mazes", "queries", "found", "queries/found"], rows))
    print(f"dreaming: {steps} steps, {verified} of {n} dreams completed into valid mazes and rolled out "
          f"(verification took {verify_s:.1f} s).")
    ratios = {}
    for name, _ in BASELINES:
        r = searches[name]
        label = f"queries per confirmed maze (random search / dreaming) vs {name}"
        lower_bound = False
        if dream_per is None:
            value, text = None, f"n/a (dreaming: none found in {n} dreams)"
        elif r["found"] == 0:
            # Had the next random maze been a find, the search would have cost at least this much per find.
            value, lower_bound = r["queries"] / dream_per, True
            text = f">= {value:.1f}x (lower bound: random search found none in {n_random} mazes)"
        else:
            value = r["queries_per_found"] / dream_per
            text = f"{value:.1f}x" if value >= 1 else f"{value:.2g}x"
        ratios[name] = value
        if name == GOAL_BASELINE:
            met = None if value is None else value >= QUERY_GOAL
            if met is False and lower_bound:
                verdict = "inconclusive (the lower bound is below the goal: search more random mazes)"
            else:
                verdict = goal_word(met)
            text += f"   goal >= {QUERY_GOAL:g}x: {verdict}"
            if settings.quick:
                text += " (quick mode: indicative only)"
        else:
            text += "   (no goal: see below)"
        print(f"{label}: {text}")
    print(f"The goal is judged against {GOAL_BASELINE}: valid mazes of the family the dreams are completed into. "
          f"Random wall patterns are open fields unlike any training maze, where an agent gets lost and walks "
          f"into humans often; finding those is not what dreaming is for.")
    return {"batched_s": t_batched, "loop_s": t_loop, "speedup": speedup, "dreams": n, "steps": steps,
            "confirmed": confirmed, "dream_queries": dream_queries, "random_search": searches,
            "query_ratios": ratios, "network": where}
