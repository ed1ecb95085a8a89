"""The dreaming exercise: the learner's wall_locations_gradient against the reference.

While the TODOs in maze_dream.py are open, the learner's tests are skipped;
the reference answer is always tested.
"""

import ast
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

import maze_dream
from main_train import channels_to_input
from model import make_q_network
from spoilers import solutions

ROOT = Path(__file__).resolve().parent.parent


def problem(seed=0, b=5):
    """A small random network and B dreams, with a known good gradient to compare against."""
    torch.manual_seed(seed)
    net = make_q_network(64, 2).double()
    net.requires_grad_(False)
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


def explain(got, expected):
    """Which cells differ, and the sign we expected there."""
    bad = (got - expected).abs() > 1e-4 * (1 + expected.abs())
    lines = []
    for b, r, c in bad.nonzero().tolist()[:6]:
        e, g = expected[b, r, c].item(), got[b, r, c].item()
        sign = "positive (a wall there raises Q)" if e > 0 else "negative (a wall there lowers Q)"
        lines.append(f"  dream {b}, cell ({r}, {c}): expected {e:+.5f}, {sign}; got {g:+.5f}")
    hint = ""
    if torch.allclose(got, -expected, atol=1e-4):
        hint = "\nYour gradient has the wrong sign: we ascend, so return dQ/dwalls, not its negative."
    elif torch.allclose(got, expected * 2, atol=1e-4) or torch.allclose(got, expected * 3, atol=1e-4):
        hint = "\nYour gradient is a multiple of the right one: is it accumulating between calls?"
    return f"{int(bad.sum())} of {bad.numel()} cells differ:\n" + "\n".join(lines) + hint


def check_gradient(fn):
    for seed in range(3):
        net, walls, crops, humans, exits, position, action = problem(seed)
        before = walls.clone()
        got = fn(net, walls, crops, humans, exits, position, action)
        assert isinstance(got, torch.Tensor) and got.shape == walls.shape, (
            f"return a tensor shaped like walls {tuple(walls.shape)}, got "
            f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}")
        assert torch.equal(walls, before), "don't change the caller's walls"
        assert walls.grad is None, "leave no .grad on the caller's walls"
        expected = finite_differences(net, walls, crops, humans, exits, position, action)
        assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4), explain(got, expected)
        again = fn(net, walls, crops, humans, exits, position, action)
        assert torch.allclose(again, got), "a second call gave a different gradient: " + explain(again, got)


def learner_function():
    fn = maze_dream.wall_locations_gradient
    assert fn is not solutions.wall_locations_gradient, "the exercise must not import the reference"
    try:
        fn(*problem(b=1))
    except NotImplementedError:
        pytest.skip("the TODOs in maze_dream.wall_locations_gradient are still open: fill them in to run this test")
    return fn


def test_reference_agrees_with_finite_differences():
    check_gradient(solutions.wall_locations_gradient)


def test_learner_agrees_with_finite_differences():
    check_gradient(learner_function())


def test_learner_agrees_with_the_reference():
    fn = learner_function()
    for seed in range(3):
        args = problem(seed)
        got, expected = fn(*args), solutions.wall_locations_gradient(*args)
        assert torch.allclose(got, expected, atol=1e-6), explain(got, expected)


# --- The exercise file and the solution stay the same outside the TODO block ----------------
def function_source(path, name="wall_locations_gradient"):
    """The function's text, with the comments that close its body (ast stops at the last statement)."""
    lines = path.read_text().splitlines()
    node = next(n for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef) and n.name == name)
    end = node.end_lineno
    while end < len(lines) and lines[end].startswith("    #"):
        end += 1
    return "\n".join(lines[node.lineno - 1 : end])


def split_todo(source):
    before, rest = source.split("# TODO START", 1)
    block, after = rest.split("# TODO END", 1)
    return before, block, after


def test_exercise_and_solution_match_outside_the_todo_block():
    exercise = split_todo(function_source(ROOT / "maze_dream.py"))
    solution = split_todo(function_source(ROOT / "spoilers" / "solutions.py"))
    assert exercise[0] == solution[0], "the signatures or docstrings of the exercise and solution differ"
    assert exercise[2] == solution[2], "the code after the TODO block differs"
    code = [line for line in solution[1].splitlines() if line.strip() and not line.strip().startswith("#")]
    assert 0 < len(code) < 10, "the reference answer should be fewer than 10 lines"


def test_filling_in_the_todos_with_the_reference_passes(tmp_path, monkeypatch):
    """What a learner who types the reference lines gets: the exercise works."""
    source = (ROOT / "maze_dream.py").read_text()
    _, answer, _ = split_todo(function_source(ROOT / "spoilers" / "solutions.py"))
    head, rest = source.split("# TODO START", 1)
    _, tail = rest.split("# TODO END", 1)
    filled = tmp_path / "maze_dream_filled.py"
    filled.write_text(head + "# TODO START" + answer + "# TODO END" + tail)
    spec = importlib.util.spec_from_file_location("maze_dream_filled", filled)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "maze_dream_filled", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    check_gradient(module.wall_locations_gradient)


# --- The dreaming loop -----------------------------------------------------------------------
def test_dreaming_raises_q_and_keeps_fixed_cells_open():
    torch.manual_seed(0)
    net = make_q_network(64, 2)
    net.requires_grad_(False)
    targets = maze_dream.lecture_target()
    dreams = maze_dream.dream(net, targets, solutions.wall_locations_gradient, steps=30, lr=0.05)
    a = int(targets.actions[0])
    assert dreams.q_after[0, a] > dreams.q_before[0, a]
    for cell in [(3, 3), (4, 3), (6, 6), (0, 0)]:
        assert dreams.walls[0][cell] == 0
    assert dreams.walls.min() >= 0 and dreams.walls.max() <= 1
    assert not any(p.grad is not None for p in net.parameters())


def test_atlas_targets_are_valid():
    t = maze_dream.atlas_targets()
    assert len(t) > 100
    for h, a, act in zip(t.humans.tolist(), t.agents.tolist(), t.actions.tolist()):
        dr, dc = maze_dream.env.MOVES[act]
        assert (a[0] + dr, a[1] + dc) == tuple(h)
        assert tuple(h) not in [(0, 0), (6, 6)] and tuple(a) != (6, 6)
