"""SPOILERS: the checks of exercises 2 (warning_cells) and 3 (unit_gradient), one line per mistake.

Each check runs the learner's function on small problems, compares the
answer with the reference's, and, where they differ, with what the common
wrong answers return. A match names the mistake and what to change. Errors
and wrong shapes become one line too, never a traceback. Exercise 1 has its
own, longer diagnosis (spoilers/diagnose.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import torch

import maze_env as env
from model import channels_to_input, hidden_activations, make_q_network
from spoilers import solutions
from spoilers.diagnose import Mistake


def _line(name: str, key: str, text: str) -> Mistake:
    return Mistake(key, f"{name}: {text}", fatal=False)


def _raised(name: str, err: Exception) -> Mistake:
    if isinstance(err, NotImplementedError):
        return _line(name, "todo", "not done yet: its TODO is still open")
    first = (str(err).splitlines() or [""])[0][:200]
    return _line(name, "error", f"raised {type(err).__name__}: {first}")


# --- Exercise 2: warning_cells ----------------------------------------------------------------------
WarningFn = Callable[..., np.ndarray]
MARGIN = 0.5


def warning_problem(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rates in quarters (exact in floats, so that >= with or without a tolerance agree), NaN where no
    dreams, humans in the pool at about half the cells."""
    rng = np.random.default_rng(seed)
    shape = (env.SIZE, env.SIZE)
    agent, control = rng.integers(0, 5, shape) / 4, rng.integers(0, 5, shape) / 4
    empty = rng.random(shape) < 0.2
    agent[empty], control[empty] = np.nan, np.nan
    pool_human = np.where(rng.random(shape) < 0.5, 0.0, rng.integers(1, 50, shape) / 1000)
    return agent, control, pool_human


def _warning_problems() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Hand-made cells that tell the common mistakes apart, then random ones."""
    nan = np.nan
    agent = np.full((env.SIZE, env.SIZE), nan)
    control = np.full((env.SIZE, env.SIZE), nan)
    pool = np.zeros((env.SIZE, env.SIZE))
    cases = [  # (agent, control, pool human): the reference says True only for the first two
        (1.0, 0.0, 0.0), (0.75, 0.25, 0.0),  # a clear warning; exactly the margin
        (1.0, 0.75, 0.0),  # both fooled: no warning
        (0.0, 1.0, 0.0),  # the control fooled, not the agent
        (1.0, 0.0, 0.02),  # the data held humans there
        (0.5, 0.25, 0.0),  # below the margin
    ]
    for i, (a, c, h) in enumerate(cases):
        agent[1 + i // 3, 1 + 2 * (i % 3)], control[1 + i // 3, 1 + 2 * (i % 3)] = a, c
        pool[1 + i // 3, 1 + 2 * (i % 3)] = h
    return [(agent, control, pool)] + [warning_problem(seed) for seed in range(3)]


def _warning_candidates(agent: np.ndarray, control: np.ndarray, pool: np.ndarray) -> dict[str, np.ndarray]:
    diff = agent - control
    with np.errstate(invalid="ignore"):
        return {
            "no_control": (agent >= MARGIN) & (pool == 0),
            "no_pool": diff >= MARGIN,
            "abs": (np.abs(diff) >= MARGIN) & (pool == 0),
            "strict": (diff > MARGIN) & (pool == 0),
            "pool_inverted": (diff >= MARGIN) & (pool > 0),
            "nan_true": (np.nan_to_num(diff, nan=1.0) >= MARGIN) & (pool == 0),
            "percent": (diff >= 50) & (pool == 0),
            "control_minus_agent": (-diff >= MARGIN) & (pool == 0),
            "or": (diff >= MARGIN) | (pool == 0),
        }


WARNING_MESSAGES = {
    "no_control": "you flagged the cells where the agent is fooled, whatever the control does: a warning needs "
                  "the agent fooled at least `margin` more often than the control (agent - control)",
    "no_pool": "you left out the training data: a cell is a warning only where pool_human is exactly 0",
    "abs": "a cell where the control is fooled more than the agent warns about the control, not the agent: "
           "use agent - control, not its absolute value",
    "strict": "a difference of exactly `margin` counts as a warning: use >=, not >",
    "pool_inverted": "the pool condition is the wrong way round: a warning is where no training maze held a "
                     "human (pool_human == 0)",
    "nan_true": "a NaN cell had no dreams at all: it is never a warning",
    "percent": "nothing was flagged: the rates are fractions from 0 to 1, and so is the margin (0.5, not 50)",
    "control_minus_agent": "the difference is the wrong way round: agent - control, not control - agent",
    "or": "a warning needs both conditions: combine them with &, not |",
}


def check_warning_cells(fn: WarningFn) -> Mistake | None:
    """What is wrong with a warning_cells (None: it agrees with the reference on every problem)."""
    name = "warning_cells"
    for agent, control, pool in _warning_problems():
        args = (agent.copy(), control.copy(), pool.copy())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = fn(*args, MARGIN)
        except Exception as err:  # the learner's code: one line, not a traceback
            return _raised(name, err)
        if not all(np.array_equal(a, b, equal_nan=True) for a, b in zip(args, (agent, control, pool))):
            return _line(name, "changed_input", "it changed the maps it was given: compute a new array instead")
        if got is None:
            return _line(name, "none", "returned None: return the (7, 7) boolean array")
        got = np.asarray(got)
        if got.shape != agent.shape:
            return _line(name, "shape", f"returned shape {got.shape}: return one value per cell, shape (7, 7)")
        if got.dtype != bool:
            return _line(name, "dtype", f"returned {got.dtype} values: return booleans (a comparison gives them)")
        right = solutions.warning_cells(agent, control, pool, MARGIN)
        if np.array_equal(got, right):
            continue
        for key, wrong in _warning_candidates(agent, control, pool).items():
            if np.array_equal(got, wrong):
                return _line(name, key, WARNING_MESSAGES[key])
        cells = [(int(r), int(c)) for r, c in zip(*np.nonzero(got != right))][:3]
        return _line(name, "mismatch", f"the answer differs from the reference at cell(s) {cells}: read the "
                                       "docstring's rule again, one condition at a time")
    return None


# --- Exercise 3: unit_gradient ----------------------------------------------------------------------
def _unit_problem(seed: int, b: int = 6):
    torch.manual_seed(seed)
    net = make_q_network(24, 3).double().requires_grad_(False)
    gen = torch.Generator().manual_seed(seed)
    walls = torch.rand(b, env.SIZE, env.SIZE, generator=gen, dtype=torch.double)
    crops = torch.zeros_like(walls)
    humans = torch.zeros_like(walls)
    humans[torch.arange(b), 3, 3] = 1
    exits = torch.zeros_like(walls)
    exits[:, env.EXIT_POS[0], env.EXIT_POS[1]] = 1
    position = torch.tensor([[4, 3]] * b)
    units = torch.randint(0, 24, (b,), generator=gen)
    return net, walls, crops, humans, exits, position, units


def _unit_candidates(net, layer, units, walls, crops, humans, exits, position) -> dict[str, torch.Tensor]:
    b = len(units)
    rows = torch.arange(b)

    def grad(objective) -> torch.Tensor:
        w = walls.detach().clone().requires_grad_()
        with torch.enable_grad():
            out = objective(channels_to_input(w, crops, humans, exits, position))
            (g,) = torch.autograd.grad(out, w)
        return g

    right = grad(lambda x: hidden_activations(net, layer, x)[rows, units].sum())
    candidates = {
        "sign": -right,
        "mean": right / b,
        "pre_activation": grad(lambda x: net[: 2 * layer - 1](x)[rows, units].sum()),
        "all_units": grad(lambda x: hidden_activations(net, layer, x).sum()),
        "first_unit": grad(lambda x: hidden_activations(net, layer, x)[:, units[0]].sum()),
        "every_pair": grad(lambda x: hidden_activations(net, layer, x)[:, units].sum()),
    }
    if layer > 1:
        candidates["layer_below"] = grad(lambda x: hidden_activations(net, layer - 1, x)[rows, units].sum())
    if 2 * layer + 2 < len(net):
        candidates["layer_above"] = grad(lambda x: hidden_activations(net, layer + 1, x)[rows, units].sum())
    return candidates


UNIT_MESSAGES = {
    "sign": "it points downhill: return the gradient itself, not minus it (the dream ascends)",
    "mean": "it is the gradient of the mean over dreams, B times too small: sum the activations, don't average",
    "pre_activation": "that is the unit before its LeakyReLU: take hidden_activations(net, layer, x), which ends "
                      "with the activation",
    "all_units": "it raises every unit of the layer: pick unit units[b] for dream b, "
                 "hidden_activations(...)[torch.arange(B), units]",
    "first_unit": "every dream raised units[0]: pick unit units[b] for dream b",
    "every_pair": "[:, units] raises every dream's units in every dream: pair them with [torch.arange(B), units]",
    "layer_below": "that is the layer below: hidden layer `layer` is hidden_activations(net, layer, x)",
    "layer_above": "that is the layer above: hidden layer `layer` is hidden_activations(net, layer, x)",
}


def check_unit_gradient(fn: Callable[..., torch.Tensor]) -> Mistake | None:
    """What is wrong with a unit_gradient (None: it agrees with the reference on every problem)."""
    name = "unit_gradient"
    for seed, layer in ((0, 2), (1, 1), (2, 3)):
        net, walls, crops, humans, exits, position, units = _unit_problem(seed)
        weights = [p.detach().clone() for p in net.parameters()]
        given = walls.clone()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = fn(net, layer, units, walls, crops, humans, exits, position)
                again = fn(net, layer, units, walls, crops, humans, exits, position)
        except IndexError as err:
            if "size 4" in str(err) or "out of bounds" in str(err):
                return _line(name, "q_values", f"raised IndexError ({str(err).splitlines()[0][:80]}): did you index "
                             "the network's 4 Q-values? Take hidden_activations(net, layer, x) instead")
            return _raised(name, err)
        except Exception as err:  # the learner's code: one line, not a traceback
            return _raised(name, err)
        if not torch.equal(walls, given) or walls.grad is not None or walls.requires_grad:
            return _line(name, "changed_walls", "the caller's walls changed: work on "
                                                "walls.detach().clone().requires_grad_(), not on walls")
        if any(not torch.equal(p, w) for p, w in zip(net.parameters(), weights)):
            return _line(name, "changed_weights", "the network's weights changed: leave them as they are")
        if not isinstance(got, torch.Tensor):
            return _line(name, "not_tensor", f"returned {type(got).__name__}: return the gradient, a tensor")
        if got.shape != walls.shape:
            return _line(name, "shape", f"returned shape {tuple(got.shape)} for walls of shape "
                                        f"{tuple(walls.shape)}: return it shaped like walls")
        got, again = got.detach().double(), again.detach().double()
        if not torch.allclose(got, again, rtol=1e-6, atol=1e-9):
            return _line(name, "accumulates", "two calls with the same walls gave different answers: start each "
                                              "call from a fresh copy of walls, so that no gradient piles up")
        right = solutions.unit_gradient(net, layer, units, walls, crops, humans, exits, position).double()
        if torch.allclose(got, right, rtol=1e-4, atol=1e-7):
            continue
        for key, wrong in _unit_candidates(net, layer, units, walls, crops, humans, exits, position).items():
            if torch.allclose(got, wrong.double(), rtol=1e-4, atol=1e-7):
                return _line(name, key, UNIT_MESSAGES[key])
        return _line(name, "mismatch", "it is not the gradient of unit units[b]'s activation with respect to "
                                       "walls[b]: compare with your wall_locations_gradient")
    return None

