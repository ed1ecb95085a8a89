"""2. Training throughput: the real loop of main_train.train() vs the bare matmul ceiling.

The real loop is timed inside main_train.train() itself (an optimizer hook
stamps every step), at main_train's defaults except the number of steps. The
ceiling is the same network work with no data handling: per step, one
forward and one backward of the batch's states (four Q-values each), two
forwards (online and target net) of the next states of the moves that don't
end the episode (as many as the pool holds on average), one AdamW step, on
fixed random tensors. Goal: the real loop reaches >= 50 % of the ceiling.

Then the cost of a step by batch size, on the real pool with model.td_loss: a
step has a fixed cost (dozens of small operations, each a few microseconds)
besides its cost per state, so fewer states per step at more steps can cost
as much time as the default while doing less arithmetic.
"""

from __future__ import annotations

import argparse
import cProfile
import time

import numpy as np
import torch
import torch.nn.functional as F

import main_train
import maze_env as env
import training_data
from model import INPUT_SIZE, N_ACTIONS, make_q_network, td_loss

from .common import Settings, StepClock, format_profile, ratio_line, same_global_torch_state, section, table

GOAL = 0.5
BATCHES = (32, 48, 64, 96, 128)  # states per step in the step-cost table
OLD_RECIPE = (64, 18000)  # states per step and steps of the default training until 2026-12-05
RECIPES = [(48, 20000), (80, 14000), (96, 12000), (96, 13000), (128, 9000), (128, 10000)]  # tried instead


def real_loop_args(settings: Settings) -> argparse.Namespace:
    """main_train's defaults, with just enough steps to include evaluation at its default cadence."""
    defaults = main_train.parse_args([])
    if settings.quick:
        steps, eval_every, pool = 41, 20, 1000
    else:
        # Steps 1..2E+1 span 2E intervals holding 2 evaluations: one per E steps, as in a full run.
        steps, eval_every, pool = 2 * defaults.eval_every + 1, defaults.eval_every, defaults.train_mazes
    return main_train.parse_args(["--seed", str(settings.seed), "--steps", str(steps), "--eval-every",
                                  str(eval_every), "--train-mazes", str(pool), "--no-examples"])


def make_pool(args: argparse.Namespace) -> tuple[torch.Tensor, env.Transitions]:
    """The training pool main_train.train() builds for these flags."""
    return training_data.make_pool(training_data.pool_config(args), np.random.default_rng(args.seed))


def live_share(trans: env.Transitions) -> float:
    """The share of the pool's moves that don't end the episode: those need a look at the next state."""
    return (~trans.done).float().mean().item()


def step_ms(args: argparse.Namespace, mazes: torch.Tensor, trans: env.Transitions, batch: int, steps: int) -> float:
    """Milliseconds per training step (td_loss, backward, AdamW) on the real pool, `batch` states per step."""
    torch.manual_seed(args.seed)
    net, target_net = make_q_network(args.hidden, args.layers), make_q_network(args.hidden, args.layers)
    optimizer = main_train.adamw(list(net.parameters()), args.lr)
    sampler = torch.Generator().manual_seed(args.seed)

    def step() -> None:
        states = torch.randint(len(trans) // N_ACTIONS, (batch,), generator=sampler)
        loss = td_loss(net, target_net, mazes, trans, states, args.gamma)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    with same_global_torch_state():
        torch.use_deterministic_algorithms(True)
        for _ in range(3):  # warm-up
            step()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        return 1e3 * (time.perf_counter() - start) / steps


def step_cost_table(args: argparse.Namespace, mazes: torch.Tensor, trans: env.Transitions, threads: list[int],
                    steps: int, rounds: int = 2) -> tuple[str, dict]:
    """ms per step for each of BATCHES (best of `rounds`, batches interleaved), and a line fitted through them."""
    best = {(t, b): float("inf") for t in threads for b in BATCHES}
    before = torch.get_num_threads()
    try:
        for _ in range(rounds):
            for t in threads:
                torch.set_num_threads(t)
                for b in BATCHES:
                    best[t, b] = min(best[t, b], step_ms(args, mazes, trans, b, steps))
    finally:
        torch.set_num_threads(before)
    fits = {t: np.polyfit(BATCHES, [best[t, b] for b in BATCHES], 1) for t in threads}  # (ms per state, fixed ms)
    rows = [[f"{t} thread{'s' * (t > 1)}", *(f"{best[t, b]:.2f}" for b in BATCHES), f"{fits[t][1]:.2f}",
             f"{fits[t][0] * 1e3:.1f}"] for t in threads]
    text = table(["torch threads", *(f"batch {b}" for b in BATCHES), "fixed ms", "us per state"], rows)
    return text, {t: (float(fits[t][1]), float(fits[t][0])) for t in threads}


def ceiling_steps_per_second(args: argparse.Namespace, steps: int, live: float) -> float:
    """Forward and backward matmuls of the training step's shapes on random tensors: no data handling."""
    torch.manual_seed(args.seed)
    net = make_q_network(args.hidden, args.layers)
    target_net = make_q_network(args.hidden, args.layers)
    optimizer = main_train.adamw(list(net.parameters()), args.lr)
    b, n_next = args.batch_size, round(N_ACTIONS * args.batch_size * live)
    x, next_x = torch.rand(b, INPUT_SIZE), torch.rand(n_next, INPUT_SIZE)
    reward = torch.rand(b * N_ACTIONS)

    def step() -> None:
        with torch.no_grad():
            best = net(next_x).argmax(dim=1, keepdim=True)
            target = reward.clone()
            target[:n_next] += args.gamma * target_net(next_x).gather(1, best).squeeze(1)
        q = net(x).reshape(-1)
        loss = F.smooth_l1_loss(q, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    with same_global_torch_state():
        torch.use_deterministic_algorithms(True)  # as main_train.train() runs
        for _ in range(3):  # warm-up
            step()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        return steps / (time.perf_counter() - start)


def timed_train(args: argparse.Namespace) -> StepClock:
    with same_global_torch_state(), StepClock() as clock:
        main_train.train(args, log=lambda *a: None)
    return clock


def profile_train(args: argparse.Namespace, first: int, last: int) -> str:
    """cProfile the real loop from step `first` to step `last` (switched on and off by the step hook)."""
    args = argparse.Namespace(**{**vars(args), "steps": last})  # no need to train past the window
    profiler, count = cProfile.Profile(), [0]

    def hook(*_) -> None:
        count[0] += 1
        if count[0] == first:
            profiler.enable()
        elif count[0] == last:
            profiler.disable()

    from torch.optim.optimizer import register_optimizer_step_post_hook

    handle = register_optimizer_step_post_hook(hook)
    try:
        with same_global_torch_state():
            main_train.train(args, log=lambda *a: None)
    finally:
        handle.remove()
    return format_profile(profiler, limit=12)


def run(settings: Settings) -> dict:
    section("2. Training throughput: real loop vs bare matmul ceiling")
    args = real_loop_args(settings)
    ceiling_steps = 20 if settings.quick else 200

    # Ceiling before and after the real loop: the machine's state drifts, the best of the two is the ceiling.
    mazes, trans = make_pool(args)
    live = live_share(trans)
    ceilings = [ceiling_steps_per_second(args, ceiling_steps, live)]
    clock = timed_train(args)
    ceilings.append(ceiling_steps_per_second(args, ceiling_steps, live))
    real, ceiling = clock.steps_per_second(), max(ceilings)
    one_thread = None
    if settings.threads > 1:
        torch.set_num_threads(1)
        try:
            one_thread = ceiling_steps_per_second(args, ceiling_steps, live)
        finally:
            torch.set_num_threads(settings.threads)

    b = args.batch_size
    rows = [
        [f"real loop: main_train.train(), {len(clock.times)} steps, evaluation every {args.eval_every}",
         settings.threads, f"{real:.1f}", f"{real * b * N_ACTIONS:,.0f}", f"{1e3 / real:.1f}"],
        [f"ceiling: forward+backward+AdamW on random tensors (best of {len(ceilings)}, {ceiling_steps} steps)",
         settings.threads, f"{ceiling:.1f}", f"{ceiling * b * N_ACTIONS:,.0f}", f"{1e3 / ceiling:.1f}"],
    ]
    if one_thread is not None:
        rows.append(["ceiling with torch.set_num_threads(1), for comparison", 1, f"{one_thread:.1f}",
                     f"{one_thread * b * N_ACTIONS:,.0f}", f"{1e3 / one_thread:.1f}"])
    print(f"batch size {b} states x {N_ACTIONS} moves (main_train default; {live:.0%} of moves need the next state), network {INPUT_SIZE} -> {args.layers} x {args.hidden} -> {N_ACTIONS}, "
          f"training pool {args.train_mazes:,} mazes")
    print(table(["loop", "threads", "steps/s", "moves/s", "ms/step"], rows))

    # Where the real loop's extra time goes: evaluation (visible as long step intervals) vs everything else.
    gaps = np.diff(clock.times)
    eval_gaps = [gaps[s - 1] for s in range(args.eval_every, len(clock.times), args.eval_every)]
    eval_extra = sum(g - float(np.median(gaps)) for g in eval_gaps)
    loop_time = clock.times[-1] - clock.times[0]
    if eval_gaps:
        print(f"evaluation inside the loop: {len(eval_gaps)} calls, {eval_extra / len(eval_gaps):.2f} s each, "
              f"{eval_extra / loop_time:.1%} of the loop's time")
    per_step_extra = 1 / real - 1 / ceiling
    print(f"real step - ceiling step: {per_step_extra * 1e3:.2f} ms per step "
          f"(data handling, evaluation, Python; {per_step_extra * real:.1%} of a real step)")
    line, met = ratio_line("fraction of ceiling (real loop / bare matmul loop)", real / ceiling, GOAL, unit="%",
                           quick=settings.quick)
    print(line)
    if (met is False and not settings.quick) or settings.profile:
        last = min(len(clock.times), args.eval_every + 2)
        print(f"\nWhere the real loop spends its time, steps 2 to {last} (one evaluation included if in range):")
        print(profile_train(args, 2, last))

    # More or fewer states per step: what the time does, not only the arithmetic.
    print(f"\nms per step by states per step (td_loss, backward, AdamW on this pool; best of 2 rounds of "
          f"{20 if settings.quick else 300} steps; 'fixed' and 'per state' fit a line through the row):")
    threads = sorted({settings.threads, 1}, reverse=True)
    text, fits = step_cost_table(args, mazes, trans, threads, 20 if settings.quick else 300)
    print(text)
    fixed, per_state = fits[settings.threads]
    base = OLD_RECIPE[1] * (fixed + per_state * OLD_RECIPE[0])
    rows = [[f"{batch} x {steps:,}", f"{batch * steps / (OLD_RECIPE[0] * OLD_RECIPE[1]):.2f}",
             f"{steps * (fixed + per_state * batch) / base:.2f}"] for batch, steps in RECIPES]
    print(f"\nstates per step x steps, against {OLD_RECIPE[0]} x {OLD_RECIPE[1]:,} (the defaults until 2026-12-05), "
          f"from the fit at {settings.threads} thread(s):")
    print(table(["recipe", "arithmetic", "time"], rows))
    return {"real_steps_per_s": real, "ceiling_steps_per_s": ceiling, "fraction": real / ceiling,
            "batch_size": b, "one_thread_ceiling": one_thread}
