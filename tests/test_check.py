"""check.py and exercises 2 and 3: an open TODO is never a green check, a right answer always is, and each
common mistake gets its own line (spoilers/checks.py), never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import check
import maze_dream
import maze_dream_more
from helpers import ROOT
from model import channels_to_input, hidden_activations
from spoilers import checks, solutions
from spoilers.hints import HINTS
from test_exercise import Edited, drift, function_parts, split_todo

SOLUTION = ROOT / "spoilers" / "solutions.py"
OPEN = {1: maze_dream.wall_locations_gradient, 2: maze_dream.warning_cells, 3: maze_dream_more.unit_gradient}
FILES = {2: ROOT / "maze_dream.py", 3: ROOT / "maze_dream_more.py"}
NAMES = {2: "warning_cells", 3: "unit_gradient"}


def run_check(folder: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "check.py", *argv], cwd=folder, capture_output=True, text=True,
                          timeout=120)


def with_reference(text: str, name: str) -> str:
    """The file with the function's TODO block replaced by the reference answer's."""
    _, body = function_parts(text, name)
    before, _, after = split_todo(body)
    answer = split_todo(function_parts(SOLUTION.read_text(), name)[1])[1]
    return text.replace(body, before + "# TODO START" + answer + "# TODO END" + after)


def repo_copy(tmp_path: Path) -> Path:
    """The repository's code and weights, without what check.py doesn't need."""
    folder = tmp_path / "repo"
    shutil.copytree(ROOT, folder, ignore=shutil.ignore_patterns(".venv", ".git", "runs", "tests", "docs",
                                                                 "__pycache__", "*.ipynb", "benchmarks"))
    return folder


# --- The shipped files ----------------------------------------------------------------------------
@pytest.mark.parametrize("number", [2, 3])
def test_exercise_and_solution_match_outside_the_todo_block(number):
    try:
        problems = drift(FILES[number].read_text(), SOLUTION.read_text(), NAMES[number])
    except Edited as edited:
        pytest.skip(f"{NAMES[number]} is yours now ({edited}): this check of the shipped files doesn't apply")
    assert not problems, "; ".join(problems)


def test_references_pass_their_checks():
    assert checks.check_warning_cells(solutions.warning_cells) is None
    assert checks.check_unit_gradient(solutions.unit_gradient) is None
    assert checks.check_warning_cells(maze_dream_more.md.dream_maps.reference_rule) is None  # the map's own rule


def mistake_of(number: int):
    fn = OPEN[number]
    if number == 1:
        from spoilers import diagnose
        return diagnose.check_answer(fn)
    return checks.check_warning_cells(fn) if number == 2 else checks.check_unit_gradient(fn)


def test_an_open_todo_fails_the_check_with_the_not_done_line():
    """As shipped, `python check.py` exits 1 and says 'not done yet' for each exercise whose TODO is open."""
    done = run_check(ROOT)
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and "Traceback" not in done.stderr, done.stdout + done.stderr
    still_open = [n for n in OPEN if (m := mistake_of(n)) is not None and m.key == "todo"]
    for number in still_open:
        line = lines[number - 1]
        assert line.startswith(f"Exercise {number},") and "not done yet" in line, line
        assert f"python check.py {number} --hint" in line
    if still_open:
        assert done.returncode == 1


def test_reference_answers_get_correct_lines_and_exit_0(tmp_path):
    folder = repo_copy(tmp_path)
    for name, file in (("wall_locations_gradient", "maze_dream.py"), ("warning_cells", "maze_dream.py"),
                       ("unit_gradient", "maze_dream_more.py")):
        path = folder / file
        path.write_text(with_reference(path.read_text(), name))
    done = run_check(folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split(": ", 1)[1] for line in done.stdout.splitlines()] == [
        "correct, it agrees with the reference answer."] * 3
    one = run_check(folder, "2")
    assert one.returncode == 0 and one.stdout.startswith("Exercise 2, warning_cells (maze_dream.py): correct")


def test_a_syntax_error_is_one_line(tmp_path):
    folder = repo_copy(tmp_path)
    (folder / "maze_dream_more.py").write_text((folder / "maze_dream_more.py").read_text() + "\ndef broken(:\n")
    done = run_check(folder, "3")
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert done.stdout.startswith("Exercise 3, unit_gradient (maze_dream_more.py): maze_dream_more.py has a "
                                  "syntax error on line"), done.stdout


def test_hints_climb_one_at_a_time():
    for number in (1, 2, 3):
        assert len(HINTS[number]) == 3
    assert check.main(["2", "--hint"]) == 0
    with pytest.raises(SystemExit):
        check.parse_args(["--hint", "1"])  # no exercise: argparse's one line


def test_hint_lines(capsys):
    check.main(["3", "--hint", "3"])
    out = capsys.readouterr().out
    assert out.startswith("Exercise 3, hint 3 of 3: ") and "More:" not in out and "spoilers/solutions.py" in out
    check.main(["1", "--hint"])
    out = capsys.readouterr().out
    assert "hint 1 of 3" in out and "More: python check.py 1 --hint 2" in out


# --- Exercise 2: warning_cells ---------------------------------------------------------------------
WRONG_RULES = {
    "no_control": lambda a, c, h, m=0.5: (a >= m) & (h == 0),
    "no_pool": lambda a, c, h, m=0.5: a - c >= m,
    "abs": lambda a, c, h, m=0.5: (abs(a - c) >= m) & (h == 0),
    "strict": lambda a, c, h, m=0.5: (a - c > m) & (h == 0),
    "pool_inverted": lambda a, c, h, m=0.5: (a - c >= m) & (h > 0),
    "nan_true": lambda a, c, h, m=0.5: (np.nan_to_num(a - c, nan=1) >= m) & (h == 0),
    "percent": lambda a, c, h, m=0.5: (a - c >= 50) & (h == 0),
    "control_minus_agent": lambda a, c, h, m=0.5: (c - a >= m) & (h == 0),
    "or": lambda a, c, h, m=0.5: (a - c >= m) | (h == 0),
    "dtype": lambda a, c, h, m=0.5: ((a - c >= m) & (h == 0)).astype(int),
    "none": lambda a, c, h, m=0.5: None,
    "shape": lambda a, c, h, m=0.5: ((a - c >= m) & (h == 0)).ravel(),
    "changed_input": lambda a, c, h, m=0.5: (np.subtract(a, c, out=a) >= m) & (h == 0),
    "error": lambda a, c, h, m=0.5: a.no_such_thing,
    "todo": maze_dream.warning_cells,  # as shipped
}
RIGHT_RULES = {
    "no tolerance": lambda a, c, h, m=0.5: (a - c >= m) & (h == 0),
    "a loop over cells": lambda a, c, h, m=0.5: np.array([[bool(a[r, k] - c[r, k] >= m and h[r, k] == 0)
                                                          for k in range(7)] for r in range(7)]),
    "np.logical_and": lambda a, c, h, m=0.5: np.logical_and(np.greater_equal(a - c, m), h == 0),
}


@pytest.mark.parametrize("key", list(WRONG_RULES))
def test_each_wrong_rule_gets_its_line(key):
    if key == "todo" and checks.check_warning_cells(WRONG_RULES[key]) is None:
        pytest.skip("maze_dream.warning_cells holds an answer now")
    mistake = checks.check_warning_cells(WRONG_RULES[key])
    assert mistake is not None and mistake.key == key, mistake
    assert mistake.message.startswith("warning_cells: ") and "\n" not in mistake.message


@pytest.mark.parametrize("how", list(RIGHT_RULES))
def test_right_rules_are_never_reported_wrong(how):
    assert checks.check_warning_cells(RIGHT_RULES[how]) is None


# --- Exercise 3: unit_gradient ---------------------------------------------------------------------
def autograd_answer(objective):
    def fn(net, layer, units, walls, crops, humans, exits, position):
        w = walls.detach().clone().requires_grad_()
        x = channels_to_input(w, crops, humans, exits, position)
        return torch.autograd.grad(objective(net, layer, units, x), w)[0]
    return fn


def on_the_callers_walls(net, layer, units, walls, crops, humans, exits, position):
    walls.requires_grad_()
    act = hidden_activations(net, layer, channels_to_input(walls, crops, humans, exits, position))
    return torch.autograd.grad(act[torch.arange(len(units)), units].sum(), walls)[0]


def with_backward(net, layer, units, walls, crops, humans, exits, position):
    w = walls.detach().clone().requires_grad_()
    act = hidden_activations(net, layer, channels_to_input(w, crops, humans, exits, position))
    act[torch.arange(len(units)), units].sum().backward()
    return w.grad


def rows(units):
    return torch.arange(len(units))


WRONG_UNITS = {
    "sign": autograd_answer(lambda n, l, u, x: -hidden_activations(n, l, x)[rows(u), u].sum()),
    "mean": autograd_answer(lambda n, l, u, x: hidden_activations(n, l, x)[rows(u), u].mean()),
    "pre_activation": autograd_answer(lambda n, l, u, x: n[: 2 * l - 1](x)[rows(u), u].sum()),
    "all_units": autograd_answer(lambda n, l, u, x: hidden_activations(n, l, x).sum()),
    "first_unit": autograd_answer(lambda n, l, u, x: hidden_activations(n, l, x)[:, u[0]].sum()),
    "every_pair": autograd_answer(lambda n, l, u, x: hidden_activations(n, l, x)[:, u].sum()),
    "layer_below": autograd_answer(lambda n, l, u, x: n[: max(2, 2 * l - 2)](x)[rows(u), u].sum()),
    "q_values": autograd_answer(lambda n, l, u, x: n(x)[rows(u), u].sum()),
    "changed_walls": on_the_callers_walls,
}
RIGHT_UNITS = {
    "gather": autograd_answer(lambda n, l, u, x: hidden_activations(n, l, x).gather(1, u[:, None]).sum()),
    ".backward() on a fresh copy": with_backward,
    "the reference": solutions.unit_gradient,
}


@pytest.mark.parametrize("key", list(WRONG_UNITS))
def test_each_wrong_unit_gradient_gets_its_line(key):
    mistake = checks.check_unit_gradient(WRONG_UNITS[key])
    assert mistake is not None and mistake.key == key, mistake
    assert mistake.message.startswith("unit_gradient: ") and "\n" not in mistake.message


@pytest.mark.parametrize("how", list(RIGHT_UNITS))
def test_right_unit_gradients_are_never_reported_wrong(how):
    assert checks.check_unit_gradient(RIGHT_UNITS[how]) is None


# --- While an exercise is open, the rest of the workshop runs with the reference -------------------
def test_open_exercises_fall_back_to_the_reference_with_one_line():
    said = []
    if checks.check_warning_cells(maze_dream.warning_cells) is not None:
        assert maze_dream.chosen_warning_cells(said.append) is maze_dream.dream_maps.reference_rule
        assert len(said) == 1 and "python check.py 2" in said[0]
    if checks.check_unit_gradient(maze_dream_more.unit_gradient) is not None:
        assert maze_dream_more.chosen_unit_gradient(said.append) is maze_dream_more.reference_unit_gradient
        assert "python check.py 3" in said[-1]
