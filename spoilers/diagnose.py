"""SPOILERS: what is wrong with an answer to the exercise, in one line.

`diagnose` runs a wall_locations_gradient on a small problem and compares
what it returns with the reference answer, and with what common wrong
answers return: minus the gradient, the gradient of another action's
Q-value, of the max or the sum over actions, of a softmax, of a mean
instead of a sum, ... Each mistake gets its own message, saying what to
change in the words of the exercise's docstring.

tests/test_exercise.py and maze_dream.py both ask this module, so the
learner gets the same diagnosis from either. It lives in spoilers/ because
it computes the reference answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

import maze_env as env
from model import INPUT_SIZE, channels_to_input, make_q_network
from spoilers.solutions import wall_locations_gradient as reference

GradientFn = Callable[..., torch.Tensor]
NAME = "wall_locations_gradient"
WALL_CELLS = env.SIZE * env.SIZE


@dataclass(frozen=True)
class Mistake:
    key: str  # what kind of mistake, e.g. "sign" (tests match on it)
    message: str  # one line: what is wrong and what to change
    fatal: bool  # dreaming with this answer would crash or make no sense: maze_dream.py stops before dreaming


class AnswerError(Exception):
    """The learner's function failed while dreaming; str(error) is one line saying how."""


class _Found(Exception):
    """Raised inside this module as soon as a mistake is known."""

    def __init__(self, mistake: Mistake) -> None:
        super().__init__(mistake.message)
        self.mistake = mistake


def _mistake(key: str, text: str, fatal: bool = True) -> _Found:
    """The exception that reports a mistake: `raise _mistake(...)`."""
    return _Found(Mistake(key, f"{NAME}: {text}", fatal))


# --- The problem the answer is tried on ------------------------------------------------------
@dataclass
class Problem:
    """A network and the arguments of one call: B dreams."""

    net: nn.Module
    walls: torch.Tensor  # (B, 7, 7)
    crops: torch.Tensor
    humans: torch.Tensor
    exits: torch.Tensor
    position: torch.Tensor  # (B, 2)
    action: torch.Tensor  # (B,)

    def args(self, walls: torch.Tensor) -> tuple:
        return self.net, walls, self.crops, self.humans, self.exits, self.position, self.action


# (human, agent, action) per dream. The first state comes with each of the four actions and the action
# counts are unequal, so that no wrong objective (another action, the max or the sum over actions,
# q[:, action], ...) gives the right gradient, whatever the network.
DREAMS = [((3, 3), (4, 3), a) for a in range(4)] + [((2, 2), (2, 1), 3), ((1, 4), (0, 4), 1), ((5, 1), (5, 2), 2)]


def make_problem(net: nn.Module, seed: int = 0) -> Problem:
    """Seven dreams with random walls, in the network's dtype and on its device.

    Of the first few draws of walls, the first in which the best action is
    not the same in every dream: there, the gradient of the max over actions
    differs from that of any one action.
    """
    for attempt in range(20):
        problem = _problem(net, seed + 1000 * attempt)
        with torch.no_grad():
            q = net(channels_to_input(problem.walls, problem.crops, problem.humans, problem.exits, problem.position))
        if len(set(q.argmax(dim=1).tolist())) > 1:
            break
    return problem


def _problem(net: nn.Module, seed: int) -> Problem:
    p = next(net.parameters())
    b = len(DREAMS)
    walls = torch.rand(b, env.SIZE, env.SIZE, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    crops = torch.zeros(b, env.SIZE, env.SIZE)
    humans = torch.zeros(b, env.SIZE, env.SIZE)
    exits = torch.zeros(b, env.SIZE, env.SIZE)
    exits[:, env.EXIT_POS[0], env.EXIT_POS[1]] = 1
    for i, (human, _, _) in enumerate(DREAMS):
        humans[i][human] = 1
    position = torch.tensor([agent for _, agent, _ in DREAMS])
    action = torch.tensor([a for _, _, a in DREAMS])
    same = {"dtype": p.dtype, "device": p.device}
    return Problem(net, walls.to(**same), crops.to(**same), humans.to(**same), exits.to(**same),
                   position.to(p.device), action.to(p.device))


def check_answer(fn: GradientFn, tries: int = 3) -> Mistake | None:
    """What is wrong with an answer (None: it is right), tried on small random networks.

    The check of tests/test_exercise.py and of the notebook. float32, as
    dreaming runs: an answer that works there must pass here.
    """
    for seed in range(tries):
        mistake = diagnose(fn, telling_problem(seed))
        if mistake is not None:
            return mistake
    return None


def small_net(seed: int, dtype: torch.dtype = torch.float32) -> nn.Module:
    """A small random Q-network with fixed weights."""
    torch.manual_seed(seed)
    net = make_q_network(64, 2).to(dtype)
    net.requires_grad_(False)
    return net


def telling_problem(seed: int) -> Problem:
    """A problem on a small random network whose best action differs between dreams.

    Random networks often prefer one action whatever the maze; then the max
    over actions is that action's Q-value, and the two mistakes look alike.
    """
    for net_seed in range(seed, seed + 1000, 10):
        problem = make_problem(small_net(net_seed), seed)
        with torch.no_grad():
            q = problem.net(channels_to_input(problem.walls, problem.crops, problem.humans, problem.exits,
                                              problem.position))
        if len(set(q.argmax(dim=1).tolist())) > 1:
            return problem
    raise RuntimeError("no small random network tells the max over actions from a single action")


# --- The diagnosis ---------------------------------------------------------------------------
def diagnose(fn: GradientFn, problem: Problem) -> Mistake | None:
    """What is wrong with fn's answer to the problem (None: nothing, it matches the reference).

    fn is called twice with the same arguments. Mistakes that would break
    dreaming (an exception, a wrong shape, the caller's walls changed, a
    gradient that piles up from call to call) are fatal; a well-formed
    gradient of the wrong thing (the wrong sign, another action, ...) is not.
    """
    weights = [t.detach().clone() for t in problem.net.state_dict().values()]
    walls = problem.walls.clone()
    try:
        got = _call(fn, problem, walls)
        _check_side_effects(problem, walls, weights)
        again = _call(fn, problem, walls)
        _check_side_effects(problem, walls, weights)
        with torch.enable_grad():
            right = reference(*problem.args(problem.walls.clone())).detach().double()
        _check_repeatable(got, again, right)
        if _close(got, right):
            return None
        _check_objective(problem, got, right)
        raise _mismatch(got, right)
    except _Found as found:
        return found.mistake


def guarded(fn: GradientFn) -> GradientFn:
    """fn, raising a one-line AnswerError if it raises, or returns anything but a finite tensor shaped like walls."""

    def call(net: nn.Module, walls: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
        try:
            out = fn(net, walls, *rest)
            _check_output(out, walls)
        except _Found as found:
            raise AnswerError(found.mistake.message) from None
        except Exception as err:  # the learner's code failed: one line, not a traceback
            raise AnswerError(str(_from_exception(err, fn, []))) from None
        return out

    return call


def _call(fn: GradientFn, problem: Problem, walls: torch.Tensor) -> torch.Tensor:
    """fn's answer as a float64 tensor, or _Found if it raised or returned something else."""
    grad_modes: list[bool] = []  # was autograd on whenever the network ran?
    hook = problem.net.register_forward_pre_hook(lambda module, inputs: grad_modes.append(torch.is_grad_enabled()))
    try:
        with torch.enable_grad():
            out = fn(*problem.args(walls))
    except NotImplementedError:
        raise _mistake("todo", "the TODOs are still open: fill them in") from None
    except Exception as err:
        raise _from_exception(err, fn, grad_modes) from None
    finally:
        hook.remove()
    _check_output(out, walls)
    return out.detach().double()


def _from_exception(err: Exception, fn: GradientFn, grad_modes: list[bool]) -> _Found:
    """The mistake behind an exception the learner's function raised."""
    text = str(err)
    if "does not require grad" in text and grad_modes and not all(grad_modes):
        return _mistake("no_grad", "the network ran under torch.no_grad(), so the Q-values have no graph to take "
                                   "the gradient through: run the forward pass with autograd on")
    if "does not require grad" in text:
        return _mistake("no_requires_grad", "the Q-values don't depend on anything autograd tracks: call "
                                            ".requires_grad_() on the copy of walls before building the input "
                                            "from it")
    if "not have been used in the graph" in text:
        return _mistake("unused", "the gradient is taken with respect to a tensor the Q-values don't depend on: "
                                  "build the input from the copy of walls that requires grad, and take the "
                                  "gradient with respect to that same copy")
    first_line = text.strip().splitlines()[0][:200] if text.strip() else "(no message)"
    return _mistake("error", f"raised {type(err).__name__}{_where(err, fn)}: {first_line}")


def _where(err: Exception, fn: GradientFn) -> str:
    """' at maze_dream.py line 70': the last line of fn that ran, if fn's code is in the traceback."""
    code, line, tb = getattr(fn, "__code__", None), None, err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" at {Path(code.co_filename).name} line {line}" if line else ""


def _check_output(out: object, walls: torch.Tensor) -> None:
    if out is None:
        raise _mistake("none", "returned None: end it with `return` and the gradient")
    if isinstance(out, tuple):
        raise _mistake("tuple", "returned a tuple (torch.autograd.grad returns one gradient per input): "
                                "return its only element, the gradient for the copy of walls")
    if not isinstance(out, torch.Tensor):
        module, name = type(out).__module__, type(out).__name__
        kind = name if module == "builtins" else f"{module}.{name}"
        hint = {"ndarray": " (drop .numpy())", "list": " (drop .tolist())"}.get(name, "")
        raise _mistake(f"type_{name}", f"returned a {kind}: return a torch tensor{hint}")
    if out.shape != walls.shape:
        shape, want, b = tuple(out.shape), tuple(walls.shape), len(walls)
        got = f"returned shape {shape} for walls of shape {want}"
        if shape == (b, WALL_CELLS):
            raise _mistake("shape_flat", f"{got}, the wall channel flattened: return it shaped like walls")
        if shape == (b, INPUT_SIZE):
            raise _mistake("shape_input", f"{got}, the gradient of the whole input: keep the wall channel (its first "
                                          f"{WALL_CELLS} columns), shaped like walls")
        raise _mistake("shape", f"{got}: return one number per wall cell, shaped like walls")
    if not torch.isfinite(out).all():
        raise _mistake("not_finite", "returned NaN or inf: return d Q_b(action[b]) / d walls, a finite number "
                                     "per wall cell")


def _check_side_effects(problem: Problem, walls: torch.Tensor, weights: list[torch.Tensor]) -> None:
    if not torch.equal(walls.detach(), problem.walls):
        raise _mistake("walls_changed", "changed the caller's walls: they must not change (dream() takes the step "
                                        "itself); work on a copy of walls: detach it, clone it")
    if walls.requires_grad or walls.grad is not None:
        what = "made the caller's walls require grad" if walls.requires_grad else "gave the caller's walls a .grad"
        if walls.requires_grad and walls.grad is not None:
            what += " and gave them a .grad"
        raise _mistake("walls_grad", f"{what}: call .requires_grad_() on a copy of walls (detach it, clone it), "
                                     "and take the gradient with respect to the copy")
    if not all(torch.equal(a, b) for a, b in zip(weights, problem.net.state_dict().values())):
        raise _mistake("weights", "changed the network's weights: hold them fixed; only the walls' gradient "
                                  "is wanted")


def _check_repeatable(got: torch.Tensor, again: torch.Tensor, right: torch.Tensor) -> None:
    if _close(again, got):
        return
    if _close(again - got, right):  # each call adds the right gradient to what the calls before left
        raise _mistake("accumulates", "a second call with the same walls returned more than the first: the "
                                      "gradient piles up from call to call; each call must start from a fresh "
                                      "gradient, on a fresh copy of walls")
    raise _mistake("not_repeatable", "two calls with the same arguments returned different gradients: the answer "
                                     "must depend on the arguments only")


def _check_objective(problem: Problem, got: torch.Tensor, right: torch.Tensor) -> None:
    """Is got the gradient of a wrong objective, or the right one scaled? Raises _Found if so."""
    rows = torch.arange(len(problem.action), device=problem.action.device)
    action = problem.action
    if _close(got, -right):
        raise _mistake("sign", "the gradient has the wrong sign: return d Q_b(action[b]) / d walls itself, not its "
                               "negative; dream() adds it to the walls, we ascend", fatal=False)
    if got.abs().max() <= 1e-12:
        raise _mistake("zero", "returned all zeros: return the gradient of the Q-values of action[b] with respect "
                               "to the copy of walls", fatal=False)
    for a, name in enumerate(env.ACTION_NAMES):
        if _close(got, _gradient(problem, lambda q, a=a: q[:, a])):
            raise _mistake("one_action", f"this is the gradient of Q({name}) (action {a}) in every dream: pick, for "
                                         "each dream b, the Q-value of action[b]", fatal=False)
    wrong = {
        "max": (lambda q: q.max(dim=1).values,
                "this is the gradient of the largest Q-value (the max over actions): pick, for each dream b, the "
                "Q-value of action[b], the action whose Q-value we want to raise"),
        "sum_actions": (lambda q: q.sum(dim=1),
                        "this is the gradient of the sum of all four Q-values of each dream: pick, for each dream "
                        "b, only the Q-value of action[b]"),
        "table": (lambda q: q[:, action],
                  "this is the gradient of every dream's action in every dream (q[:, action] is a B x B table): "
                  "pick one Q-value per dream, that of action[b] in dream b (row b, column action[b])"),
        "softmax": (lambda q: q.softmax(dim=1)[rows, action],
                    "this is the gradient of a softmax probability: use the Q-value of action[b] itself, the "
                    "network's raw output, not a softmax of it"),
        "log_softmax": (lambda q: q.log_softmax(dim=1)[rows, action],
                        "this is the gradient of a log-softmax (log-probability): use the Q-value of action[b] "
                        "itself, the network's raw output, not a softmax of it"),
    }
    for key, (objective, text) in wrong.items():
        if _close(got, _gradient(problem, objective)):
            raise _mistake(key, text, fatal=False)
    scale = float((got * right).sum() / (right * right).sum())
    if _close(got, scale * right):
        b = len(action)
        if abs(scale * b - 1) < 1e-3:
            raise _mistake("mean", f"this is the right gradient divided by B = {b}, the number of dreams: take the "
                                   "gradient of the sum of the picked Q-values, not of their mean", fatal=False)
        raise _mistake("scaled", f"this is {scale:.3g} times the right gradient: return the gradient of the sum "
                                 "of the picked Q-values as it is, unscaled", fatal=False)


def _mismatch(got: torch.Tensor, right: torch.Tensor) -> _Found:
    bad = (got - right).abs() > 1e-4 * right.abs().max()
    n, (b, r, c) = int(bad.sum()), bad.nonzero()[0].tolist()
    cells = f"{n} of {bad.numel()} cells {'differs' if n == 1 else 'differ'} from the right gradient"
    return _mistake("mismatch", f"{cells}, e.g. dream {b}, cell ({r}, {c}): expected {right[b, r, c]:+.5f}, got "
                                f"{got[b, r, c]:+.5f}; entry [b, r, c] must be d Q_b(action[b]) / d walls[b, r, c]",
                    fatal=False)


def _gradient(problem: Problem, objective: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """d objective(Q).sum() / d walls: the gradient some answer computes."""
    walls = problem.walls.detach().clone().requires_grad_()
    with torch.enable_grad():
        q = problem.net(channels_to_input(walls, problem.crops, problem.humans, problem.exits, problem.position))
        (gradient,) = torch.autograd.grad(objective(q).sum(), walls)
    return gradient.double()


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal up to float32 rounding: a right answer written another way must pass."""
    scale = max(float(a.abs().max()), float(b.abs().max()))
    return bool((a - b).abs().max() <= 1e-4 * scale + 1e-12)
