"""The dreaming exercise: the learner's wall_locations_gradient against the reference, and the files around it.

While the TODOs in maze_dream.py are open, the learner's test is skipped; the
reference answer is always tested. A wrong answer fails with one line saying
what is wrong and what to change (spoilers/diagnose.py; maze_dream.py prints
the same line). tests/test_exercise_hints.py checks those lines for each
common mistake. None of the learner's checks look for the `# TODO START` /
`# TODO END` lines: only the check that the shipped exercise and the solution
match does, and it stays out of the way once the function holds an answer.
"""

from __future__ import annotations

import ast
import textwrap

import pytest
import torch

import maze_dream
from helpers import ROOT, small_net
from model import channels_to_input
from spoilers import diagnose, solutions
from spoilers.function_source import function_parts, split_todo  # imported from here by other tests too

EXERCISE = ROOT / "maze_dream.py"
SOLUTION = ROOT / "spoilers" / "solutions.py"
NAME = "wall_locations_gradient"


# --- The reference answer -----------------------------------------------------------------------
def problem(seed=0, b=5):
    """A small random network and B dreams."""
    net = small_net(seed, hidden=64, dtype=torch.float64)
    targets = maze_dream.atlas_targets()
    pick = torch.randperm(len(targets))[:b]
    targets = maze_dream.Targets(targets.humans[pick], targets.agents[pick], targets.actions[pick])
    crops, humans, exits, _ = maze_dream.fixed_channels(targets)
    walls = torch.rand(b, 7, 7, dtype=torch.double)
    return net, walls, crops.double(), humans.double(), exits.double(), targets.agents, targets.actions


def finite_differences(net, walls, crops, humans, exits, position, action, eps=1e-6):
    def q(w):
        return net(channels_to_input(w, crops, humans, exits, position).double())[torch.arange(len(action)), action]

    grad = torch.zeros_like(walls)
    for r in range(7):
        for c in range(7):
            step = torch.zeros_like(walls)
            step[:, r, c] = eps
            grad[:, r, c] = (q(walls + step) - q(walls - step)) / (2 * eps)
    return grad


def test_reference_agrees_with_finite_differences():
    for seed in range(3):
        args = problem(seed)
        walls = args[1]
        before = walls.clone()
        got = solutions.wall_locations_gradient(*args)
        assert got.shape == walls.shape and torch.equal(walls, before) and walls.grad is None
        assert torch.allclose(got, finite_differences(*args), atol=1e-4, rtol=1e-4)


def test_reference_passes_the_diagnosis():
    assert diagnose.check_answer(solutions.wall_locations_gradient) is None


# --- Your answer ----------------------------------------------------------------------------------
def test_learner_answer_is_right():
    fn = maze_dream.wall_locations_gradient
    assert fn is not solutions.wall_locations_gradient, "the exercise must not import the reference"
    mistake = diagnose.check_answer(fn)
    if mistake is not None and mistake.key == "todo":
        pytest.skip("the TODOs in maze_dream.wall_locations_gradient are still open: fill them in to run this test")
    if mistake is not None:
        pytest.fail(mistake.message, pytrace=False)  # the hint is the whole message: no traceback of this file


# --- The dreaming loop ----------------------------------------------------------------------------
def test_dreaming_raises_q_and_keeps_fixed_cells_open():
    net = small_net(0, hidden=64)
    targets = maze_dream.lecture_target()
    dreams = maze_dream.dream(net, targets, solutions.wall_locations_gradient, steps=30, lr=0.05)
    a = int(targets.actions[0])
    assert dreams.q_after[0, a] > dreams.q_before[0, a]
    assert maze_dream.q_fell(dreams) is None
    for cell in [(3, 3), (4, 3), (6, 6), (0, 0)]:
        assert dreams.walls[0][cell] == 0
    assert dreams.walls.min() >= 0 and dreams.walls.max() <= 1
    assert not any(p.grad is not None for p in net.parameters())


def test_q_fell_says_by_how_much():
    net = small_net(0, hidden=64)
    targets = maze_dream.lecture_target()

    def minus(*args):
        return -solutions.wall_locations_gradient(*args)

    dreams = maze_dream.dream(net, targets, minus, steps=30, lr=0.05)
    a = int(targets.actions[0])
    before, after = dreams.q_before[0, a].item(), dreams.q_after[0, a].item()
    assert after < before
    assert maze_dream.q_fell(dreams) == f"Q(up) fell from {before:.2f} to {after:.2f}"
    atlas = maze_dream.atlas_targets()
    dreams = maze_dream.dream(net, atlas, minus, steps=5, lr=0.05)
    rows = torch.arange(len(atlas))
    n = int((dreams.q_after[rows, atlas.actions] < dreams.q_before[rows, atlas.actions]).sum())
    assert maze_dream.q_fell(dreams) == f"Q of the target action fell in {n} of {len(atlas)} dreams"


def test_guarded_turns_a_failure_while_dreaming_into_one_line():
    calls = []

    def fails_on_the_third_call(*args):
        calls.append(1)
        if len(calls) == 3:
            return torch.zeros(1, 49)
        return solutions.wall_locations_gradient(*args)

    with pytest.raises(diagnose.AnswerError) as err:
        maze_dream.dream(small_net(0, hidden=64), maze_dream.lecture_target(),
                         diagnose.guarded(fails_on_the_third_call), steps=5)
    assert str(err.value) == ("wall_locations_gradient: returned shape (1, 49) for walls of shape (1, 7, 7), the "
                              "wall channel flattened: return it shaped like walls")


def test_atlas_targets_are_valid():
    t = maze_dream.atlas_targets()
    assert len(t) > 100
    for h, a, act in zip(t.humans.tolist(), t.agents.tolist(), t.actions.tolist()):
        dr, dc = maze_dream.env.MOVES[act]
        assert (a[0] + dr, a[1] + dc) == tuple(h)
        assert tuple(h) not in [(0, 0), (6, 6)] and tuple(a) != (6, 6)


# --- Repository check: the shipped exercise and the solution match outside the TODO block ---------
class Edited(Exception):
    """The exercise holds the learner's work, so it can't be compared with the solution."""


def is_unanswered(block: str) -> bool:
    """The block's only code is the shipped `raise NotImplementedError(...)`."""
    try:
        code = ast.parse(textwrap.dedent(block)).body
    except SyntaxError:
        return False
    return (len(code) == 1 and isinstance(code[0], ast.Raise) and isinstance(code[0].exc, ast.Call)
            and getattr(code[0].exc.func, "id", None) == "NotImplementedError")


def drift(exercise: str, solution: str, name: str = NAME) -> list[str]:
    """How the shipped exercise and the solution differ outside the TODO block (an empty list: they don't).

    Raises Edited, with a one-line reason, when the exercise holds a learner's
    work: the TODO block holds more than the shipped `raise NotImplementedError`,
    or the TODO lines are gone. Then there is nothing to compare.
    """
    exercise_head, exercise_body = function_parts(exercise, name)
    solution_head, solution_body = function_parts(solution, name)
    ex, sol = split_todo(exercise_body), split_todo(solution_body)
    if ex is None:
        raise Edited("its # TODO START / # TODO END lines are gone")
    if not is_unanswered(ex[1]):
        raise Edited("its TODO block holds your code")
    if sol is None:
        return ["spoilers/solutions.py has lost its # TODO START / # TODO END lines"]
    problems = []
    if exercise_head != solution_head:
        problems.append("the signatures or docstrings of the exercise and the solution differ")
    if ex[0] != sol[0]:
        problems.append("the code before the TODO block differs")
    if ex[2] != sol[2]:
        problems.append("the code after the TODO block differs")
    n = len([line for line in sol[1].splitlines() if line.strip() and not line.strip().startswith("#")])
    if not 0 < n < 10:
        problems.append(f"the reference answer should be 1 to 9 lines, not {n}")
    return problems


def test_exercise_and_solution_match_outside_the_todo_block():
    try:
        problems = drift(EXERCISE.read_text(), SOLUTION.read_text())
    except Edited as edited:
        pytest.skip(f"maze_dream.{NAME} is yours now ({edited}): this check of the shipped files doesn't apply")
    assert not problems, "; ".join(problems)


def shipped_pair() -> tuple[str, str]:
    """(exercise, solution) as they should be shipped: the exercise is the solution with its answer replaced by
    a TODO, so that this test doesn't depend on what the learner did to maze_dream.py."""
    solution = SOLUTION.read_text()
    head, body = function_parts(solution)
    before, _, after = split_todo(body)
    block = '\n    # 1. Make a copy of `walls`...\n    raise NotImplementedError("fill in the TODOs")\n    '
    return solution.replace(head + body, head + before + "# TODO START" + block + "# TODO END" + after), solution


def test_the_drift_check_can_fail():
    exercise, solution = shipped_pair()
    assert drift(exercise, solution) == []
    signature = "    action: torch.Tensor,\n) -> torch.Tensor:"
    assert signature in exercise
    drifted = {
        "docstring": (exercise.replace("Don't change its weights.", "Leave its weights alone."), solution),
        "signature": (exercise, solution.replace(signature, "    action: torch.Tensor,\n    lr: float = 1,\n"
                                                            ") -> torch.Tensor:")),
        "after": (exercise.replace("# TODO END", "# TODO END\n    return None"), solution),
        "before": (exercise.replace("    # TODO START", "    net.eval()\n    # TODO START"), solution),
        "markers": (exercise, solution.replace("# TODO START", "#")),
        "long": (exercise, solution.replace("# TODO START", "# TODO START" + "\n    x = 1" * 9)),
    }
    for name, (ex, sol) in drifted.items():
        assert drift(ex, sol), f"the drift check missed a drifted {name}"
    with pytest.raises(Edited, match="holds your code"):
        drift(exercise.replace('raise NotImplementedError("fill in the TODOs")', "return walls"), solution)
    with pytest.raises(Edited, match="lines are gone"):
        drift(exercise.replace("    # TODO START\n", ""), solution)
