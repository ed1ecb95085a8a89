"""Beyond the lecture: three small extensions of maze_dream.py.

Do the exercise in maze_dream.py first; this file uses the reference answer.

    python maze_dream_more.py neurons --layer 2 --unit 150  # dream one hidden unit
    python maze_dream_more.py neurons --top 5               # find "stub detector" units, then ablate them
    python maze_dream_more.py regularized                   # penalties that make dreams look like mazes
    python maze_dream_more.py close-loop --oracle           # fine-tune on confirmed dreams, vs controls

1. Neuron dreaming: the same gradient ascent on the wall channel, but the
   objective is one hidden unit's activation instead of a Q-value.
2. Regularized dreaming: L1, total variation, a pull toward 0/1 and random
   restarts with a diversity term, as feature-visualization libraries do.
3. Close the loop: use the dreams that fooled the agent as training data.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import dream_verify
import maze_dream as md
import maze_env as env
import training_data
from evaluation import PLAIN_MAZES, STUB_BESIDE, eval_families, evaluate
from model import (CONTROL_WEIGHTS, ROOT, SHIPPED_WEIGHTS, WeightsError, channels_to_input, check_finite,
                   hidden_activations, load_agent, save_agent, td_loss)
from spoilers.solutions import unit_gradient as reference_unit_gradient
from spoilers.solutions import wall_locations_gradient

RUNS = ROOT / "runs"
GradientFn = Callable[..., torch.Tensor]  # (net, walls, crops, humans, exits, position, action) -> d/d walls


# =====================================================================================
# 1. Neuron dreaming
# =====================================================================================
def n_hidden_layers(net: nn.Sequential) -> int:
    return (len(net) - 1) // 2  # Linear, LeakyReLU per hidden layer, then the output Linear


# --- Exercise 3: dream a neuron ---------------------------------------------------------
# Difficulty 1/3 (once exercise 1 is done), importance 2/3, about 10 minutes.
# You learn: the objective of a dream can be any number the network computes, here one hidden unit,
# and a unit whose dreams all show the same shape is a candidate detector of that shape.
# Check: python check.py 3      Stuck: python check.py 3 --hint 1
# While the TODO is open, `python maze_dream_more.py neurons` dreams with the reference answer.
def unit_gradient(
    net: nn.Sequential,
    layer: int,
    units: torch.Tensor,
    walls: torch.Tensor,
    crops: torch.Tensor,
    humans: torch.Tensor,
    exits: torch.Tensor,
    position: torch.Tensor,
) -> torch.Tensor:
    """The gradient of one hidden unit's activation with respect to the wall channel.

    wall_locations_gradient with a neuron instead of a Q-value: dream b
    raises the activation of unit units[b] of hidden layer `layer`, after
    its LeakyReLU (`hidden_activations(net, layer, x)` gives that layer's
    activations, (B, width)).

    Args:
        net: the trained Q-network. Don't change its weights.
        layer: which hidden layer, 1 for the first.
        units: (B,) long, the unit of that layer each dream raises.
        walls: (B, 7, 7) floats in [0, 1]; crops, humans, exits: (B, 7, 7).
        position: (B, 2) long, the agent's (row, column) in each dream.

    Returns:
        A (B, 7, 7) tensor whose entry [b, r, c] is
        d activation_b(units[b]) / d walls[b, r, c]. The caller's `walls` must
        not change, and each call starts from a fresh gradient.
    """
    # TODO START
    # Return d activation_b(units[b]) / d walls[b] for every dream b. Your
    # wall_locations_gradient did this for a Q-value.
    raise NotImplementedError("fill in the TODO in unit_gradient")
    # TODO END


def unit_gradient_fn(net_layer: int, units: torch.Tensor, gradient=reference_unit_gradient) -> GradientFn:
    """Wrap a unit_gradient so that maze_dream.dream can run it unchanged (it ignores the action)."""

    def fn(net, walls, crops, humans, exits, position, action):
        return gradient(net, net_layer, units, walls, crops, humans, exits, position)

    return fn


def repeat_targets(targets: md.Targets, k: int) -> md.Targets:
    """The targets k times over, target-major within each block: [t0..tB-1, t0..tB-1, ...]."""
    return md.Targets(targets.humans.repeat(k, 1), targets.agents.repeat(k, 1), targets.actions.repeat(k))


def chosen_unit_gradient(log=print):
    """Your unit_gradient if the check finds it right; else the reference, with one line saying why."""
    from spoilers import checks

    mistake = checks.check_unit_gradient(unit_gradient)
    if mistake is None:
        return unit_gradient
    log(f"note: {mistake.message} (python check.py 3); dreaming with the reference answer meanwhile\n")
    return reference_unit_gradient


def dream_units(
    net: nn.Sequential, layer: int, units: list[int], targets: md.Targets, steps: int, lr: float,
    gradient=reference_unit_gradient,
) -> tuple[md.Dreams, torch.Tensor]:
    """Dream every unit for every target in one batch. Returns the dreams and the (U, T) activation after."""
    t = len(targets)
    batch = repeat_targets(targets, len(units))
    unit_of = torch.tensor(units).repeat_interleave(t)
    dreams = md.dream(net, batch, unit_gradient_fn(layer, unit_of, gradient), steps, lr)
    crops, humans, exits, _ = md.fixed_channels(batch)
    with torch.no_grad():
        x = channels_to_input(dreams.walls, crops, humans, exits, batch.agents)
        act = hidden_activations(net, layer, x)[torch.arange(len(unit_of)), unit_of]
    return dreams, act.reshape(len(units), t)


def dream_unit_and_position(
    net: nn.Sequential, layer: int, unit: int, targets: md.Targets, steps: int, lr: float
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Dream the walls and the agent's position together for one unit.

    The position is a softmax over the 7 rows and one over the 7 columns (so it stays a
    probability, like the one-hots the network was trained on), starting at the target's cell.
    Returns the walls (B, 7, 7), the position's (B, 2, 7) row and column probabilities, and the
    final activation of dream 0.
    """
    crops, humans, exits, free = md.fixed_channels(targets)
    free[torch.arange(len(targets)), targets.agents[:, 0], targets.agents[:, 1]] = 1  # the agent may move away
    walls = torch.full(free.shape, 0.5) * free
    logits = 3.0 * F.one_hot(targets.agents, env.SIZE).float()  # about 0.77 on the target's row and column

    def inputs(w: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return channels_to_input(w, crops, humans, exits, z.softmax(dim=-1))  # a soft row and column

    for _ in range(steps):
        w, z = walls.clone().requires_grad_(), logits.clone().requires_grad_()
        gw, gz = torch.autograd.grad(hidden_activations(net, layer, inputs(w, z))[:, unit].sum(), (w, z))
        walls = ((walls + lr * gw).clamp(0, 1) * free).detach()
        logits = (logits + lr * 10 * gz).detach()  # a bigger step: logits move on a wider scale than walls
    with torch.no_grad():
        act = float(hidden_activations(net, layer, inputs(walls, logits))[0, unit])
    return walls, logits.softmax(dim=-1), act


def shows_sure_stub(walls: torch.Tensor, human: tuple[int, int], agent: tuple[int, int], margin: float = 0.25) -> bool:
    """A stub beside a junction that the dream is sure of: the human walled in on its other three sides
    (each wall above 0.5 + margin, or the border), and the agent's cell open on at least two more sides
    (each below 0.5 - margin), so that it is a junction.

    dream_verify.shows_stub thresholds at 0.5, which is not enough here: a unit the dream can't excite
    leaves its walls at about 0.5, and thresholding that noise draws random mazes, some with stubs.
    """
    w = walls.numpy()

    def neighbours(cell: tuple[int, int]) -> list[tuple[int, int] | None]:  # None: the border
        r, c = cell
        return [(r + dr, c + dc) if 0 <= r + dr < env.SIZE and 0 <= c + dc < env.SIZE else None for dr, dc in env.MOVES]

    walled_in = all(n is None or w[n] > 0.5 + margin for n in neighbours(human) if n != agent)
    exits = sum(n is not None and n != human and (n == env.EXIT_POS or w[n] < 0.5 - margin) for n in neighbours(agent))
    return walled_in and exits >= 2


def stub_counts(dreams: md.Dreams, n_units: int) -> torch.Tensor:
    """(U,) how many of each unit's dreams surely show a stub beside a junction next to the human."""
    t = dreams.targets
    hits = [shows_sure_stub(dreams.walls[b], tuple(t.humans[b].tolist()), tuple(t.agents[b].tolist()))
            for b in range(len(t))]
    return torch.tensor(hits).reshape(n_units, -1).sum(dim=1)


def ablated(net: nn.Sequential, layer: int, units: list[int]) -> nn.Sequential:
    """A copy of the net in which the given units of a hidden layer are silenced (outgoing weights zeroed)."""
    net = copy.deepcopy(net)
    with torch.no_grad():
        net[2 * layer].weight[:, units] = 0  # the Linear right after that layer reads the units' output
    return net


def rates(net: nn.Module, families: dict[str, torch.Tensor]) -> list[float]:
    """[train exit, train human, OOD-beside human, OOD-beside exit] rates of greedy rollouts."""
    tr = evaluate(net, families[PLAIN_MAZES])
    ood = evaluate(net, families[STUB_BESIDE])
    return [tr["exit_rate"], tr["human_rate"], ood["human_rate"], ood["exit_rate"]]


def rates_table(nets: dict[str, nn.Module | list[float]], families: dict[str, torch.Tensor]) -> str:
    """One row per net (or per precomputed list of rates): in-distribution and OOD-beside-the-path rates."""
    lines = [f"{'':<36}{'train exit':>11}{'train human':>12}{'OOD beside: human':>19}{'OOD beside: exit':>18}"]
    for name, net in nets.items():
        r = net if isinstance(net, list) else rates(net, families)
        lines.append(f"{name:<36}{r[0]:>11.1%}{r[1]:>12.1%}{r[2]:>19.1%}{r[3]:>18.1%}")
    return "\n".join(lines)


def run_neurons(args: argparse.Namespace, net: nn.Sequential) -> int:
    layer = args.layer
    if not 1 <= layer <= n_hidden_layers(net):
        print(f"error: --layer must be between 1 and {n_hidden_layers(net)}", file=sys.stderr)
        return 2
    width = net[2 * layer - 2].out_features
    lecture = md.lecture_target()
    gradient = chosen_unit_gradient()
    if args.top == 0:  # one unit: print its dream for the lecture's case
        if not 0 <= args.unit < width:
            print(f"error: --unit must be between 0 and {width - 1}", file=sys.stderr)
            return 2
        dreams, act = dream_units(net, layer, [args.unit], lecture, args.steps, args.lr, gradient)
        print_unit_dream(dreams, 0, f"layer {layer} unit {args.unit}", float(act[0, 0]))
        if args.free_position:  # let the unit also choose where the agent stands
            walls, position, act2 = dream_unit_and_position(net, layer, args.unit, lecture, args.steps, args.lr)
            row, col = position[0].argmax(dim=1).tolist()
            print(f"\nwith the position dreamed too: activation {act2:.2f}; most likely agent cell ({row}, {col})")
            print(f"row probabilities    {' '.join(f'{v:.2f}' for v in position[0, 0].tolist())}")
            print(f"column probabilities {' '.join(f'{v:.2f}' for v in position[0, 1].tolist())}")
            human = tuple(lecture.humans[0].tolist())
            print(md.format_shaded(walls[0], human, (row, col)) if (row, col) != human else
                  md.format_shaded(walls[0], human, tuple(lecture.agents[0].tolist())))
            print(md.SHADED_LEGEND)
        return 0

    # Scan every unit of the layer: dream it for each atlas target (the human, exit and agent cells fixed,
    # as in the atlas) and count the dreams that show a stub beside a junction next to the human.
    targets = md.atlas_targets()
    start = time.perf_counter()
    counts = torch.zeros(width, dtype=torch.long)
    for chunk in torch.arange(width).split(args.chunk):
        dreams, _ = dream_units(net, layer, chunk.tolist(), targets, args.steps, args.lr, gradient)
        counts[chunk] = stub_counts(dreams, len(chunk))
    top = counts.argsort(descending=True, stable=True)[: args.top].tolist()
    print(f"Layer {layer}: {width} units x {len(targets)} atlas targets dreamed in "
          f"{time.perf_counter() - start:.0f} s; stub dreams per unit: median {counts.median().item()}, "
          f"max {counts.max().item()} of {len(targets)}")
    print(f"top {args.top} candidate stub detectors (unit: stub dreams): "
          + ", ".join(f"{u}: {int(counts[u])}" for u in top))
    dreams, act = dream_units(net, layer, top, lecture, args.steps, args.lr, gradient)
    for i, u in enumerate(top):
        print()
        print_unit_dream(dreams, i, f"layer {layer} unit {u} ({int(counts[u])} stub dreams in the atlas)",
                         float(act[i, 0]))

    # Ablation: silence the candidates; as a control, the same number of random units of the same layer,
    # averaged over several draws (one random draw can hit an important unit by chance).
    rng = np.random.default_rng(args.seed)
    others = [u for u in range(width) if u not in top]
    families = eval_families(args.seed, args.eval_mazes)
    rows: dict[str, nn.Module | list[float]] = {
        "before (no ablation)": net,
        f"top-1 unit {top[0]} zeroed": ablated(net, layer, top[:1]),
        f"top-{len(top)} units zeroed": ablated(net, layer, top),
    }
    for k in sorted({1, len(top)}):
        draws = [rates(ablated(net, layer, rng.choice(others, size=k, replace=False).tolist()), families)
                 for _ in range(args.random_draws)]
        rows[f"{k} random unit(s) zeroed, mean of {args.random_draws}"] = np.mean(draws, axis=0).tolist()
        worst = min(draws, key=lambda r: r[0])
        rows[f"  {k} random: the draw with fewest exits"] = worst
    print(f"\nAblation, layer {layer}; greedy rollouts on {args.eval_mazes} fresh mazes per family (seed {args.seed}):")
    print(rates_table(rows, families))
    return 0


def print_unit_dream(dreams: md.Dreams, b: int, title: str, activation: float) -> None:
    t = dreams.targets
    human, agent = tuple(t.humans[b].tolist()), tuple(t.agents[b].tolist())
    maze = dream_verify.threshold_maze(dreams.walls[b], human)
    stub = "yes" if dream_verify.shows_stub(maze, human, agent) else "no"
    print(f"{title}: activation {activation:.2f} after dreaming; {t.describe(b)}")
    shaded = md.format_shaded(dreams.walls[b], human, agent).splitlines()
    thresholded = env.show_maze(maze).splitlines()
    print(f"{'shaded':<13}thresholded (stub beside a junction: {stub})")
    for left, right in zip(shaded, thresholded):
        print(f"{left:<13}{right}")
    print(f"shaded: {md.SHADED_LEGEND}\nthresholded: {thresholded[-1]}")


# =====================================================================================
# 2. Regularized dreaming
# =====================================================================================
@dataclass
class Penalties:
    """Weights of the penalty terms (0 switches a term off); restarts = random starts per target."""

    l1: float = 0.0  # fewer walls
    tv: float = 0.0  # smoother walls: neighbouring cells agree
    discrete: float = 0.0  # walls near 0 or 1 rather than 0.5
    diversity: float = 0.0  # restarts of the same target differ from one another
    restarts: int = 1

    def label(self) -> str:
        parts = [f"{k} {v:g}" for k, v in vars(self).items() if k != "restarts" and v]
        if self.restarts > 1:
            parts.append(f"{self.restarts} restarts")
        return ", ".join(parts) or "none (maze_dream.py)"


def penalty_terms(walls: torch.Tensor, restarts: int = 1) -> dict[str, torch.Tensor]:
    """Each penalty per dream, summed over the batch. Lower is more maze-like (or, for diversity, more varied).

    `walls` is (R * T, 7, 7): R restarts of T targets, restart-major (as repeat_targets lays them out).
    """
    tv = torch.sqrt((walls[:, 1:, :] - walls[:, :-1, :]) ** 2 + 1e-4).sum() + torch.sqrt(
        (walls[:, :, 1:] - walls[:, :, :-1]) ** 2 + 1e-4).sum()  # smoothed |difference|: a gradient at 0 too
    terms = {"l1": walls.abs().sum(), "tv": tv, "discrete": (walls * (1 - walls)).sum()}
    if restarts > 1:  # minus the mean squared distance of each restart to the others of its target
        w = walls.reshape(restarts, -1, walls.shape[-2] * walls.shape[-1])  # (R, T, 49)
        distance = ((w[:, None] - w[None, :]) ** 2).sum(dim=-1)  # (R, R, T)
        terms["diversity"] = -distance.sum() / (restarts - 1)
    else:
        terms["diversity"] = walls.new_zeros(())
    return terms


def penalty_gradient(walls: torch.Tensor, penalties: Penalties) -> torch.Tensor:
    """d (weighted sum of the penalties) / d walls."""
    walls = walls.detach().clone().requires_grad_()
    terms = penalty_terms(walls, penalties.restarts)
    total = sum(getattr(penalties, k) * v for k, v in terms.items())
    if not torch.is_tensor(total) or not total.requires_grad:
        return torch.zeros_like(walls)
    (gradient,) = torch.autograd.grad(total, walls)
    return gradient


def regularized_gradient_fn(penalties: Penalties, base: GradientFn = wall_locations_gradient) -> GradientFn:
    """Ascend Q - penalties: maze_dream.dream runs it unchanged."""

    def fn(net, walls, crops, humans, exits, position, action):
        return base(net, walls, crops, humans, exits, position, action) - penalty_gradient(walls, penalties)

    return fn


def regularized_dream(
    net: nn.Module, targets: md.Targets, penalties: Penalties, steps: int, lr: float, seed: int
) -> md.Dreams:
    """Dream every target; with restarts, keep for each target the restart with the highest final Q-value."""
    if penalties.restarts == 1:
        return md.dream(net, targets, regularized_gradient_fn(penalties), steps, lr)
    r, t = penalties.restarts, len(targets)
    batch = repeat_targets(targets, r)
    walls = torch.rand(r * t, env.SIZE, env.SIZE, generator=torch.Generator().manual_seed(seed))
    d = md.dream(net, batch, regularized_gradient_fn(penalties), steps, lr, walls)
    q = d.q_after[torch.arange(r * t), batch.actions].reshape(r, t)
    best = q.argmax(dim=0) * t + torch.arange(t)  # index of the best restart of each target
    return md.Dreams(targets, d.walls[best], d.q_before[best], d.q_after[best])


def atlas_row(net: nn.Module, penalties: Penalties, args: argparse.Namespace) -> dict:
    """Dream the atlas with these penalties; confirmation, dead-end confirmations, stub rate, discreteness."""
    dreams = regularized_dream(net, md.atlas_targets(), penalties, args.steps, args.lr, args.seed)
    v = dream_verify.verify(net, dreams, args.seed)
    s = dream_verify.summary(v)
    s["dead_end"] = sum(c and d for c, d in zip(v.confirmed, v.dead_end))
    s["crisp"] = float((2 * (dreams.walls - 0.5).abs()).mean())  # 1 = every cell exactly 0 or 1
    return s


SETTINGS = {  # name -> penalties; the weights are per cell, next to Q-gradients of about 0.1-1 per cell
    "none": Penalties(),
    "l1": Penalties(l1=0.1),
    "tv": Penalties(tv=0.1),
    "discrete": Penalties(discrete=0.5),
    "restarts": Penalties(restarts=4),
    "restarts+diversity": Penalties(restarts=4, diversity=0.05),
    "all": Penalties(l1=0.1, tv=0.1, discrete=0.5, restarts=4, diversity=0.05),
    # The default we recommend: crisp (0/1) dreams that still tell the agent from the control (see README).
    "l1+discrete": Penalties(l1=0.1, discrete=0.5),
}
DEFAULT_SETTING = "l1+discrete"


def run_regularized(args: argparse.Namespace, net: nn.Module, control: nn.Module | None) -> int:
    if args.setting == "custom":
        settings = {"custom": Penalties(args.l1, args.tv, args.discrete, args.diversity, args.restarts)}
    elif args.setting == "table":
        settings = SETTINGS
    else:
        settings = {args.setting: SETTINGS[args.setting]}
    nets = {"agent": net} | ({"control": control} if control is not None else {})
    print(f"Atlas ({len(md.atlas_targets())} dreams per agent, {args.steps} steps, lr {args.lr}, seed {args.seed}); "
          "conf = confirmed (dead-end confirmations), crisp = mean |2w - 1| of the dream")
    head = "".join(f"{name + ': conf':>17}{'stub':>7}{'crisp':>7}" for name in nets)
    print(f"{'setting':<20}{'penalties':<58}{head}")
    for name, pen in settings.items():
        cells = ""
        for who, n in nets.items():
            s = atlas_row(n, pen, args)
            cells += f"{s['confirmed']:>11} ({s['dead_end']:>2}){s['stub_rate']:>7.1%}{s['crisp']:>7.2f}"
        print(f"{name:<20}{pen.label():<58}{cells}", flush=True)
    return 0


# =====================================================================================
# 3. Close the loop: fine-tune on the dreams that fooled the agent
# =====================================================================================
def dream_training_mazes(
    net: nn.Module, penalties: Penalties, steps: int, lr: float, seed: int, per_dream: int, bank_size: int = 300
) -> tuple[list[np.ndarray], int]:
    """The atlas dreams the agent fell for, each completed into `per_dream` training mazes.

    The first completion is dream_verify.verify's; the others complete the same
    dream with fresh banks of training mazes: other mazes with the same local
    pattern around the human and the agent. Nothing here knows about stubs.
    Returns the mazes and the number of confirmed dreams.
    """
    dreams = regularized_dream(net, md.atlas_targets(), penalties, steps, lr, seed)
    verdict = dream_verify.verify(net, dreams, seed)
    rng = np.random.default_rng([seed, 7])
    mazes = []
    confirmed = [b for b, c in enumerate(verdict.confirmed) if c]
    for b in confirmed:
        human, agent = tuple(dreams.targets.humans[b].tolist()), tuple(dreams.targets.agents[b].tolist())
        mazes.append(verdict.mazes[b])
        for _ in range(per_dream - 1):
            bank = dream_verify.maze_bank(rng, bank_size)
            maze = dream_verify.complete_maze(dreams.walls[b], human, agent, bank, rng)
            if maze is not None:
                mazes.append(maze)
    return mazes, len(confirmed)


def plain_mazes(rng: np.random.Generator, n: int) -> torch.Tensor:
    """Mazes like the agent's training pool (training_data.make_pool with its default flags)."""
    return training_data.make_pool(training_data.PoolConfig(mazes=n), rng)[0]


def fine_tune(net: nn.Sequential, mazes: torch.Tensor, steps: int, batch_size: int, lr: float, seed: int,
              gamma: float = 0.95, target_every: int = 25) -> nn.Sequential:
    """main_train.train's DQN update (four moves per state, target net, Huber loss) on a copy of net, honest rewards."""
    torch.manual_seed(seed)
    net = copy.deepcopy(net).train().requires_grad_(True)
    target_net = copy.deepcopy(net).requires_grad_(False)
    trans = env.transitions(mazes)  # the training rewards: a human costs -10 everywhere
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr)
    sampler = torch.Generator().manual_seed(seed)
    for step in range(steps):
        states = torch.randint(len(trans) // 4, (batch_size,), generator=sampler)
        loss = td_loss(net, target_net, mazes, trans, states, gamma)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if (step + 1) % target_every == 0:
            target_net.load_state_dict(net.state_dict())
    check_finite(net)
    return net.eval().requires_grad_(False)


def close_loop(net: nn.Sequential, args: argparse.Namespace, log=print) -> dict[str, nn.Sequential]:
    """Fine-tune copies of net: plain mazes only (control), plain + dream mazes, and optionally plain + OOD."""
    rng = np.random.default_rng([args.seed, 11])
    plain = plain_mazes(rng, args.plain_mazes)
    dreams, n_confirmed = dream_training_mazes(net, SETTINGS[args.setting], args.dream_steps, args.lr_dream,
                                               args.seed, args.per_dream)
    n_stubs = sum(bool(env.stubs(m)) for m in dreams)
    n_humans_in_stub = sum(any(m[s] == env.HUMAN for s in env.stubs(m)) for m in dreams)
    log(f"{n_confirmed} confirmed atlas dreams -> {len(dreams)} dream mazes "
        f"({n_humans_in_stub} with a human in a stub, {n_stubs} with any stub); {len(plain)} plain training mazes")
    extra = torch.tensor(np.stack(dreams)) if dreams else plain[:0]  # no confirmed dream: nothing to add
    pools = {"plain mazes only (control)": plain, "plain + dream mazes": torch.cat([plain, extra])}
    if args.oracle:  # uses what the dreams did not tell us: that the flaw is about stubs
        ood = torch.tensor(np.stack([env.make_ood_maze(rng) for _ in range(max(1, len(dreams)))]))
        pools["plain + OOD stub mazes (oracle)"] = torch.cat([plain, ood])
    tuned = {"before fine-tuning": net}
    for name, mazes in pools.items():
        start = time.perf_counter()
        tuned[name] = fine_tune(net, mazes, args.ft_steps, args.batch_size, args.ft_lr, args.seed)
        log(f"fine-tuned '{name}': {len(mazes)} mazes, {args.ft_steps} steps in {time.perf_counter() - start:.0f} s")
    return tuned


def run_close_loop(args: argparse.Namespace, net: nn.Sequential) -> int:
    tuned = close_loop(net, args, log=lambda s: print(s, flush=True))
    families = eval_families(args.seed, args.eval_mazes)
    print(f"\nGreedy rollouts on {args.eval_mazes} fresh mazes per family (seed {args.seed}):")
    print(rates_table(tuned, families))
    RUNS.mkdir(exist_ok=True)
    for name, n in tuned.items():
        if name != "before fine-tuning":
            slug = name.split(" (")[0].replace(" + ", "_").replace(" ", "_")
            save_agent(n, RUNS / f"closeloop_{slug}.pt", {"fine_tuned": name, "seed": args.seed})
    print(f"fine-tuned weights: {RUNS}/closeloop_*.pt")
    return 0


# =====================================================================================
# Command line
# =====================================================================================
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seed", type=int, default=0, help="seed for restarts, mazes and sampling")
    common.add_argument("--device", default="cpu", choices=["cpu"],
                        help="torch device; only cpu: the dreams and mazes are small and built on the CPU")
    common.add_argument("--weights", type=Path, default=SHIPPED_WEIGHTS, help="the agent")
    common.add_argument("--eval-mazes", type=int, default=1000, help="fresh mazes per family for the rates")

    n = sub.add_parser("neurons", parents=[common], help="dream hidden units; --top K finds and ablates stub detectors")
    n.add_argument("--layer", type=int, default=2, help="hidden layer, 1 (first) to 3")
    n.add_argument("--unit", type=int, default=0, help="the unit to dream (without --top)")
    n.add_argument("--top", type=int, default=0, metavar="K",
                   help="scan every unit of --layer and report and ablate the K with the most stub dreams")
    n.add_argument("--free-position", action="store_true",
                   help="with --unit: also dream the agent's position (soft one-hot row and column)")
    n.add_argument("--steps", type=int, default=100, help="gradient ascent steps")
    n.add_argument("--lr", type=float, default=0.05, help="gradient ascent step size")
    n.add_argument("--chunk", type=int, default=64, help="units dreamed per batch while scanning")
    n.add_argument("--random-draws", type=int, default=10, help="random-unit ablations to average (the control)")

    r = sub.add_parser("regularized", parents=[common], help="atlas confirmation rates with and without penalties")
    r.add_argument("--control", type=Path, default=CONTROL_WEIGHTS, help="the control agent")
    r.add_argument("--setting", choices=["table", "custom", *SETTINGS], default="table",
                   help="'table': every preset; 'custom': the weights below")
    r.add_argument("--l1", type=float, default=0.0, help="custom: weight of the L1 penalty on the walls")
    r.add_argument("--tv", type=float, default=0.0, help="custom: weight of the total-variation penalty")
    r.add_argument("--discrete", type=float, default=0.0, help="custom: weight of the pull toward 0 or 1")
    r.add_argument("--diversity", type=float, default=0.0, help="custom: weight of the diversity term (restarts)")
    r.add_argument("--restarts", type=int, default=1, help="custom: random starts per target, the best kept")
    r.add_argument("--steps", type=int, default=100, help="gradient ascent steps")
    r.add_argument("--lr", type=float, default=0.05, help="gradient ascent step size")

    c = sub.add_parser("close-loop", parents=[common], help="fine-tune on confirmed dreams vs on plain mazes")
    c.add_argument("--setting", choices=list(SETTINGS), default="none", help="dream penalties (see regularized)")
    c.add_argument("--dream-steps", type=int, default=100, help="gradient ascent steps of the atlas dreams")
    c.add_argument("--lr-dream", type=float, default=0.05, help="gradient ascent step size")
    c.add_argument("--per-dream", type=int, default=20, help="training mazes completed around each confirmed dream")
    c.add_argument("--plain-mazes", type=int, default=4000, help="plain training mazes in every pool")
    c.add_argument("--ft-steps", type=int, default=1500, help="fine-tuning steps, the same for every pool")
    c.add_argument("--batch-size", type=int, default=128, help="states per fine-tuning step (each with its four moves)")
    c.add_argument("--ft-lr", type=float, default=3e-4, help="AdamW learning rate, constant")
    c.add_argument("--oracle", action="store_true",
                   help="also fine-tune on fresh OOD stub mazes: an upper bound that uses knowledge the dreams lack")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:  # read the weights first, so that a bad file costs no time
        net, _ = load_agent(args.weights, args.device)
        control = None
        if args.command == "regularized" and args.control is not None:
            control = load_agent(args.control, args.device)[0]
    except WeightsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    net.requires_grad_(False)  # dreams change the maze, never the weights
    if control is not None:
        control.requires_grad_(False)
    if args.command == "neurons":
        return run_neurons(args, net)
    if args.command == "regularized":
        return run_regularized(args, net, control)
    return run_close_loop(args, net)


if __name__ == "__main__":
    sys.exit(main())
