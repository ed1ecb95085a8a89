"""SPOILERS: what is wrong with an answer to the exercise, in one line.

`diagnose` runs a wall_locations_gradient on a small problem and compares
what it returns with the reference answer, and with what common wrong
answers return: minus the gradient, the gradient of another action's
Q-value, of the max or the sum over actions, of a softmax, of a mean
instead of a sum, ... It also watches how the answer ran: whether the
network ran with autograd on and on an input that requires grad, whether the
caller's walls were written to, what an exception or a None means, and
whether the answer works for a single dream too. Each mistake gets its own
message, saying what to change in the words of the exercise's docstring.

tests/test_exercise.py and maze_dream.py both ask this module, so the
learner gets the same diagnosis from either. It lives in spoilers/ because
it computes the reference answer.
"""

from __future__ import annotations

import dis
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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

    def first_dream(self) -> Problem:
        """The same problem with only its first dream (B = 1, as `python maze_dream.py` dreams)."""
        return Problem(self.net, *(t[:1].clone() for t in (self.walls, self.crops, self.humans, self.exits,
                                                             self.position, self.action)))


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

    fn is called twice with the same arguments (three times if the two
    answers differ), then once with the first dream alone. Mistakes that would
    break dreaming (an exception, a wrong shape, the caller's walls changed, a
    gradient that piles up from call to call) are fatal; a well-formed
    gradient of the wrong thing (the wrong sign, another action, ...) is not.
    """
    weights = [t.detach().clone() for t in problem.net.state_dict().values()]
    walls = problem.walls.clone()
    try:
        got = _call(fn, problem, walls, weights)
        again = _call(fn, problem, walls, weights)
        with torch.enable_grad():
            right = reference(*problem.args(problem.walls.clone())).detach().double()
        if not _close(again, got):
            _check_repeatable(got, again, _call(fn, problem, walls, weights), right)
        one = problem.first_dream()  # a shape that only fits B dreams, or a 7 written for B, fails here
        _call(fn, one, one.walls.clone(), weights, n_dreams=len(walls))
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
            with warnings.catch_warnings():  # the answer was checked: its warnings would only bury the dream
                warnings.simplefilter("ignore")
                out = fn(net, walls, *rest)
            _check_output(out, walls)
        except _Found as found:
            raise AnswerError(found.mistake.message) from None
        except Exception as err:  # the learner's code failed: one line, not a traceback
            raise AnswerError(str(_from_exception(err, fn, _Trace(), walls))) from None
        return out

    return call


@dataclass
class _Trace:
    """How the network ran while the learner's function ran: autograd's mode, and the input it got."""

    grad_modes: list[bool] = field(default_factory=list)  # was autograd on?
    inference: list[bool] = field(default_factory=list)  # was torch.inference_mode() on?
    inputs: list[torch.Tensor] = field(default_factory=list)

    def record(self, module: nn.Module, inputs: tuple) -> None:
        self.grad_modes.append(torch.is_grad_enabled())
        self.inference.append(torch.is_inference_mode_enabled())
        self.inputs += [x for x in inputs[:1] if isinstance(x, torch.Tensor)]


def _call(fn: GradientFn, problem: Problem, walls: torch.Tensor, weights: list[torch.Tensor],
          n_dreams: int | None = None) -> torch.Tensor:
    """fn's answer as a float64 tensor, or _Found if it raised, returned something else or changed what it got.

    n_dreams: this is the one-dream call, after fn ran fine with n_dreams dreams.
    """
    trace = _Trace()
    version = walls._version  # counts in-place writes, also through walls.detach(), which shares the memory
    # On the network and on its first layer: net.forward(x) skips the network's own hooks.
    hooks = [m.register_forward_pre_hook(trace.record) for m in [problem.net, *problem.net.children()][:2]]
    try:
        with torch.enable_grad(), warnings.catch_warnings():  # a right answer may warn: a hint is one line
            warnings.simplefilter("ignore")
            out = fn(*problem.args(walls))
    except NotImplementedError:
        raise _mistake("todo", "the TODOs are still open: fill them in") from None
    except Exception as err:
        _check_side_effects(problem, walls, weights, version)  # e.g. an in-place step on walls that require grad
        if n_dreams is not None:
            raise _mistake("one_dream", f"works for {n_dreams} dreams but raised {type(err).__name__}"
                                        f"{_where(err, fn)} for 1 dream (walls of shape {tuple(walls.shape)}): "
                                        f"{_first_line(err)}; it must work for any number of dreams B = "
                                        "len(walls) (a number written in for B?)") from None
        raise _from_exception(err, fn, trace, walls) from None
    finally:
        for hook in hooks:
            hook.remove()
    _check_output(out, walls, fn, trace)
    _check_side_effects(problem, walls, weights, version)
    return out.detach().double()


def _from_exception(err: Exception, fn: GradientFn, trace: _Trace, walls: torch.Tensor) -> _Found:
    """The mistake behind an exception the learner's function raised."""
    text = str(err)
    if "does not require grad" in text:  # the Q-values have no graph: why?
        if any(trace.inference) or any(x.is_inference() for x in trace.inputs):
            return _mistake("inference_mode", "the network or its input ran under torch.inference_mode(), so the "
                                              "Q-values have no graph to take the gradient through: build the input "
                                              "and run the network outside it, with autograd on")
        if trace.grad_modes and not all(trace.grad_modes):
            return _mistake("no_grad", "the network ran under torch.no_grad(), so the Q-values have no graph to take "
                                       "the gradient through: run the forward pass with autograd on")
        if any(x.requires_grad for x in trace.inputs):
            return _mistake("detached", "the Q-values were cut off from the graph after the network ran (.detach(), "
                                        ".data, .item() or torch.tensor() of them): take the gradient of the "
                                        "network's output itself, picked by indexing")
        if _made_a_copy(err, fn, walls):
            return _mistake("input_not_copy", "the network's input doesn't come from the copy of walls that "
                                              "requires grad (built from walls itself, from .detach() or .data of "
                                              "the copy, or before .requires_grad_()): call .requires_grad_() on "
                                              "the copy, then build the input from that copy")
        return _mistake("no_requires_grad", "the Q-values don't depend on anything autograd tracks: call "
                                            ".requires_grad_() on the copy of walls before building the input "
                                            "from it")
    if "only for scalar outputs" in text:
        return _mistake("not_scalar", "took the gradient of a whole tensor of Q-values: torch.autograd.grad and "
                                      ".backward() need one number, so take it of the sum of the picked Q-values "
                                      "(q.sum())")
    if "not have been used in the graph" in text:
        return _mistake("unused", "the gradient is taken with respect to a tensor the Q-values don't depend on: "
                                  "build the input from the copy of walls that requires grad, and take the "
                                  "gradient with respect to that same copy")
    if "Index tensor must have the same number of dimensions" in text:
        return _mistake("gather_index", "q.gather(1, index) needs an index with as many dimensions as q: pass "
                                        "action[:, None], shape (B, 1), not action, shape (B,)")
    if "leaf Variable that requires grad is being used in an in-place operation" in text:
        return _mistake("inplace_leaf", "ran an in-place operation (add_, +=, clamp_, ...) on a tensor that "
                                        "requires grad: don't step or clamp the walls here, return the gradient; "
                                        "dream() takes the step")
    if "inference tensor" in text.lower():  # e.g. "Inference tensors cannot be saved for backward"
        return _mistake("inference_mode", "a tensor made under torch.inference_mode() reached autograd, which can't "
                                          "track it: make the copy of walls, build the input and run the network "
                                          "outside torch.inference_mode()")
    return _mistake("error", f"raised {type(err).__name__}{_where(err, fn)}: {_first_line(err)}")


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else "(no message)"


def _made_a_copy(err: Exception, fn: GradientFn, walls: torch.Tensor) -> bool:
    """Did fn hold, when it raised, a tensor like walls that requires grad (a copy the input wasn't built from)?"""
    filename, tb = getattr(getattr(fn, "__code__", None), "co_filename", None), err.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_filename == filename:
            for value in frame.f_locals.values():
                if (isinstance(value, torch.Tensor) and value.requires_grad and value.is_leaf
                        and value.numel() == walls.numel()):
                    return True
        tb = tb.tb_next
    return False


def _returns_a_value(fn: GradientFn) -> bool:
    """Does fn's code hold a `return something` (so a None it returned came from that something)?"""
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    ops = list(dis.get_instructions(code))
    for i, op in enumerate(ops):
        if op.opname == "RETURN_CONST" and op.argval is not None:
            return True
        if op.opname == "RETURN_VALUE" and not (i and ops[i - 1].opname == "LOAD_CONST" and ops[i - 1].argval is None):
            return True
    return False


def _leaves(inputs: list[torch.Tensor]) -> Iterator[torch.Tensor]:
    """The tensors that require grad which the network's inputs were built from (the copy of walls, if any)."""
    seen, nodes = set(), []
    for x in inputs:
        if x.is_leaf and x.requires_grad:
            yield x
        nodes.append(x.grad_fn)
    while nodes:
        node = nodes.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable"):  # AccumulateGrad: where .backward() leaves a leaf's gradient
            yield node.variable
        nodes += [f for f, _ in node.next_functions]


def _where(err: Exception, fn: GradientFn) -> str:
    """' at maze_dream.py line 70': the last line of fn that ran, if fn's code is in the traceback."""
    code, line, tb = getattr(fn, "__code__", None), None, err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" at {Path(code.co_filename).name} line {line}" if line else ""


def _check_output(out: object, walls: torch.Tensor, fn: GradientFn | None = None, trace: _Trace | None = None) -> None:
    if out is None:
        if trace is not None and _returns_a_value(fn):
            if any(leaf.grad is not None for leaf in _leaves(trace.inputs)):
                raise _mistake("none_grad", "returned None, though .backward() filled the .grad of the copy of walls "
                                            "that requires grad: return that copy's .grad (walls.grad, the input's "
                                            ".grad and what .backward() returns are None)")
            raise _mistake("none_grad_unset", "returned None (a .grad that nothing filled?): .backward() fills the "
                                              ".grad of the copy that requires grad; torch.autograd.grad returns the "
                                              "gradient and leaves .grad empty: return the gradient itself")
        raise _mistake("none", "returned None: end it with `return` and the gradient")
    if isinstance(out, tuple):
        raise _mistake("tuple", "returned a tuple (torch.autograd.grad returns one gradient per input): "
                                "return its only element, the gradient for the copy of walls")
    if not isinstance(out, torch.Tensor):
        module, name = type(out).__module__, type(out).__name__
        kind = name if module == "builtins" else f"{module}.{name}"
        hint = {"ndarray": " (drop .numpy() / np.array: dream() works with tensors)",
                "list": " (drop .tolist())"}.get(name, "")
        raise _mistake(f"type_{name}", f"returned a {kind}: return a torch tensor{hint}")
    if out.shape != walls.shape:
        shape, want, b = tuple(out.shape), tuple(walls.shape), len(walls)
        got = f"returned shape {shape} for walls of shape {want}"
        if shape in ((b, WALL_CELLS), (b * WALL_CELLS,)):
            raise _mistake("shape_flat", f"{got}, the wall channel flattened: return it shaped like walls")
        if shape == (b, INPUT_SIZE):
            raise _mistake("shape_input", f"{got}, the gradient of the whole input: keep the wall channel (its first "
                                          f"{WALL_CELLS} columns), shaped like walls")
        if shape == want[1:]:
            raise _mistake("shape_dream", f"{got}, a single 7 x 7 grid, not one per dream ([0], .squeeze() or a "
                                          "sum over dreams?): return every dream's gradient, shaped like walls")
        if shape == want[::-1]:
            raise _mistake("transposed", f"{got}, its dimensions reversed (.T reverses all three): return it shaped "
                                         "like walls, without .T")
        raise _mistake("shape", f"{got}: return one number per wall cell, shaped like walls")
    if not torch.isfinite(out).all():
        raise _mistake("not_finite", "returned NaN or inf: return d Q_b(action[b]) / d walls, a finite number "
                                     "per wall cell")


def _check_side_effects(problem: Problem, walls: torch.Tensor, weights: list[torch.Tensor], version: int) -> None:
    if not torch.equal(walls.detach(), problem.walls):
        raise _mistake("walls_changed", "changed the caller's walls: they must not change (dream() takes the step "
                                        "itself); work on a copy of walls: detach it, clone it")
    if walls._version != version:
        raise _mistake("walls_inplace", "wrote into the caller's walls in place (clamp_, add_, +=, ..., also through "
                                        "walls.detach(), which shares their memory): they must not change, even "
                                        "to the same values; work on a copy of walls: detach it, clone it")
    if walls.requires_grad or walls.grad is not None:
        what = "made the caller's walls require grad" if walls.requires_grad else "gave the caller's walls a .grad"
        if walls.requires_grad and walls.grad is not None:
            what += " and gave them a .grad"
        raise _mistake("walls_grad", f"{what}: call .requires_grad_() on a copy of walls (detach it, clone it), "
                                     "and take the gradient with respect to the copy")
    if not all(torch.equal(a, b) for a, b in zip(weights, problem.net.state_dict().values())):
        raise _mistake("weights", "changed the network's weights: hold them fixed; only the walls' gradient "
                                  "is wanted")


def _check_repeatable(got: torch.Tensor, again: torch.Tensor, third: torch.Tensor, right: torch.Tensor) -> None:
    """Three calls with the same arguments returned got, again, third; the first two differ."""
    step = again - got
    if _close(step, right) or (_close(third - again, step) and step.abs().max() > 1e-12):
        # each call adds the same gradient (of these walls, or of walls an earlier call kept) to what was there
        raise _mistake("accumulates", "a second call with the same walls returned more than the first: the "
                                      "gradient piles up from call to call; each call must start from a fresh "
                                      "gradient, on a fresh copy of walls")
    raise _mistake("not_repeatable", "two calls with the same arguments returned different gradients: the answer "
                                     "must depend on the arguments only")


def _check_objective(problem: Problem, got: torch.Tensor, right: torch.Tensor) -> None:
    """Is got the gradient of a wrong objective (maybe scaled), or the right one scaled? Raises _Found if so."""
    rows = torch.arange(len(problem.action), device=problem.action.device)
    action, b = problem.action, len(problem.action)
    if _close(got, -right):
        raise _mistake("sign", "the gradient has the wrong sign: return d Q_b(action[b]) / d walls itself, not its "
                               "negative; dream() adds it to the walls, we ascend", fatal=False)
    if got.abs().max() <= 1e-12:
        raise _mistake("zero", "returned all zeros: return the gradient of the Q-values of action[b] with respect "
                               "to the copy of walls", fatal=False)
    if _proportional(got - problem.walls.double(), right) is not None:
        raise _mistake("stepped", "returned the walls after a step along the gradient, not the gradient: return "
                                  "d Q_b(action[b]) / d walls alone; dream() takes the step", fatal=False)
    if any(_close(got, swapped) for swapped in (right.transpose(1, 2), right.permute(2, 1, 0))):
        raise _mistake("transposed", "the gradient's rows and columns are swapped (.T, .mT or .transpose?): entry "
                                     "[b, r, c] must be d Q_b(action[b]) / d walls[b, r, c]; return it as autograd "
                                     "gives it", fatal=False)
    for a, name in enumerate(env.ACTION_NAMES):
        scale = _proportional(got, _gradient(problem, lambda q, a=a: q[:, a]))
        if scale is not None:
            raise _mistake("one_action", f"this is the gradient of Q({name}) (action {a}) in every dream"
                                         f"{_scaled(scale, b)}: pick, for each dream b, the Q-value of action[b]",
                           fatal=False)
    wrong = {
        "max": ([lambda q: q.max(dim=1).values, lambda q: q.max()],
                "this is the gradient of the largest Q-value (a max, or the Q-value at the argmax){}: pick, for each "
                "dream b, the Q-value of action[b], the action whose Q-value we want to raise"),
        "sum_actions": ([lambda q: q.sum(dim=1)],
                        "this is the gradient of the sum of all four Q-values of each dream{}: pick, for each dream "
                        "b, only the Q-value of action[b]"),
        "table": ([lambda q: q[:, action]],
                  "this is the gradient of every dream's action in every dream (q[:, action] is a B x B table){}: "
                  "pick one Q-value per dream, that of action[b] in dream b (row b, column action[b])"),
        "rows": ([lambda q: q[action]],
                 "this is the gradient of whole rows of Q-values (q[action] picks dreams by action number){}: pick "
                 "row b, column action[b]: q[torch.arange(B), action]"),
        "softmax": ([lambda q: q.softmax(dim=1)[rows, action], lambda q: q.softmax(dim=0)[rows, action]],
                    "this is the gradient of a softmax probability{}: use the Q-value of action[b] itself, the "
                    "network's raw output, not a softmax of it"),
        "log_softmax": ([lambda q: q.log_softmax(dim=1)[rows, action], lambda q: q.log_softmax(dim=0)[rows, action]],
                        "this is the gradient of a log-softmax (log-probability){}: use the Q-value of action[b] "
                        "itself, the network's raw output, not a softmax of it"),
    }
    for key, (objectives, text) in wrong.items():
        for objective in objectives:
            scale = _proportional(got, _gradient(problem, objective))
            if scale is not None:
                raise _mistake(key, text.format(_scaled(scale, b)), fatal=False)
    scale = float((got * right).sum() / (right * right).sum())
    if _close(got, scale * right):
        if abs(scale * b - 1) < 1e-3:
            raise _mistake("mean", f"this is the right gradient divided by B = {b}, the number of dreams: take the "
                                   "gradient of the sum of the picked Q-values, not of their mean", fatal=False)
        raise _mistake("scaled", f"this is {scale:.3g} times the right gradient: return the gradient of the sum "
                                 "of the picked Q-values as it is, unscaled", fatal=False)


def _proportional(got: torch.Tensor, gradient: torch.Tensor) -> float | None:
    """s if got is s times gradient (s not 0), else None."""
    norm = float((gradient * gradient).sum())
    if norm <= 1e-24:
        return None
    scale = float((got * gradient).sum()) / norm
    return scale if abs(scale) > 1e-6 and _close(got, scale * gradient) else None


def _scaled(scale: float, b: int) -> str:
    """What else is wrong with a wrong objective's gradient, scaled by `scale` (B dreams): '' if nothing."""
    if abs(scale - 1) < 1e-3:
        return ""
    if abs(scale + 1) < 1e-3:
        return ", with the sign flipped too"
    if abs(scale * b - 1) < 1e-3:
        return f", divided by B = {b} too (a mean, not a sum?)"
    n = len(env.ACTION_NAMES) * b
    if abs(scale * n - 1) < 1e-3:
        return f", divided by {n}, the number of Q-values, too (the mean of all of them?)"
    return f", scaled by {scale:.3g} too"


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
