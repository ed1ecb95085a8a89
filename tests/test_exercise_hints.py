"""The hints a learner gets: each common mistake, typed into a copy of maze_dream.py, gets its own message.

Every answer below is written into the body of wall_locations_gradient in a
copy of maze_dream.py, with the `# TODO START` / `# TODO END` lines kept and
with them deleted. Right answers written other ways than the reference must
pass tests/test_exercise.py's checks and maze_dream.py; each wrong one must get
the one-line message that names its mistake from both (spoilers/diagnose.py),
and each mistake its own message. In this process for every answer, both ways;
as real subprocesses for a handful in the default suite and for every answer,
one way, in the slow suite.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

import maze_dream
from helpers import SUBPROCESS_ENV
from model import channels_to_input
from spoilers import diagnose, solutions
from test_exercise import EXERCISE, ROOT, SOLUTION, Edited, drift, function_parts, split_todo

answer_mistake = diagnose.check_answer
telling_problem = diagnose.telling_problem


# --- Answers, right and wrong, as a learner would type them ----------------------------------------
@dataclass(frozen=True)
class Answer:
    name: str
    code: str  # what replaces the TODO block, unindented
    mistake: str | None  # the diagnosis it must get (diagnose.Mistake.key); None: a right answer


def grad_of(pick: str = "q[torch.arange(len(action)), action]", total: str = "q.sum()", ret: str = "return gradient",
            copy: str = "walls.detach().clone().requires_grad_()",
            x: str = "channels_to_input(w, crops, humans, exits, position)") -> str:
    return f"w = {copy}\nq = net({x})\nq = {pick}\n(gradient,) = torch.autograd.grad({total}, w)\n{ret}\n"


def backward_of(pick: str = "q[torch.arange(len(action)), action]", total: str = "q.sum()", ret: str = "return w.grad",
                copy: str = "walls.detach().clone().requires_grad_()",
                x: str = "channels_to_input(w, crops, humans, exits, position)") -> str:
    """The same with .backward() and .grad instead of torch.autograd.grad."""
    return f"w = {copy}\nq = net({x})\nq = {pick}\n{total}.backward()\n{ret}\n"


ORIGINAL_WALLS = "channels_to_input(walls, crops, humans, exits, position)"


def reference_block() -> str:
    return textwrap.dedent(split_todo(function_parts(SOLUTION.read_text())[1])[1]).strip() + "\n"


WHOLE_INPUT = """\
x = channels_to_input(walls, crops, humans, exits, position).detach().requires_grad_()
q = net(x)[torch.arange(len(action)), action]
(gradient,) = torch.autograd.grad(q.sum(), x)
"""
ANSWERS = [
    Answer("the reference, torch.autograd.grad", reference_block(), None),
    Answer(".backward() on a detached copy, then .grad", """\
w = walls.detach().clone().requires_grad_()
q = net(channels_to_input(w, crops, humans, exits, position))
q.gather(1, action[:, None]).sum().backward()
return w.grad
""", None),
    Answer("the whole input's gradient, sliced to the wall channel",
           WHOLE_INPUT + "return gradient[:, :49].reshape(walls.shape)\n", None),
    Answer("a one-hot mask, and detach without clone", """\
w = walls.detach().requires_grad_()
q = net(channels_to_input(w, crops, humans, exits, position))
return torch.autograd.grad((q * torch.nn.functional.one_hot(action, 4)).sum(), w)[0]
""", None),
    Answer("wrong sign", grad_of(ret="return -gradient"), "sign"),
    Answer("Q of action 0 in every dream", grad_of(pick="q[:, 0]"), "one_action"),
    Answer("max over actions", grad_of(pick="q.max(dim=1).values"), "max"),
    Answer("sum over all actions", grad_of(pick="q.sum(dim=1)"), "sum_actions"),
    Answer("q[:, action], a B x B table", grad_of(pick="q[:, action]"), "table"),
    Answer("a softmax probability", grad_of(pick="q.softmax(dim=1)[torch.arange(len(action)), action]"), "softmax"),
    Answer("the mean instead of the sum", grad_of(total="q.mean()"), "mean"),
    Answer("gradients that pile up from call to call", grad_of(
        ret="wall_locations_gradient.total = getattr(wall_locations_gradient, 'total', 0) + gradient\n"
            "return wall_locations_gradient.total"), "accumulates"),
    Answer("the ascent step taken on the caller's walls",
           grad_of(ret="walls += 0.05 * gradient\nreturn gradient"), "walls_changed"),
    Answer("the caller's walls made to require grad, then .backward()", """\
walls.requires_grad_()
q = net(channels_to_input(walls, crops, humans, exits, position))
q[torch.arange(len(action)), action].sum().backward()
return walls.grad
""", "walls_grad"),
    Answer("the forward pass under torch.no_grad()", """\
w = walls.detach().clone().requires_grad_()
with torch.no_grad():
    q = net(channels_to_input(w, crops, humans, exits, position))[torch.arange(len(action)), action]
(gradient,) = torch.autograd.grad(q.sum(), w)
return gradient
""", "no_grad"),
    Answer("a copy that doesn't require grad", grad_of(copy="walls.detach().clone()"), "no_requires_grad"),
    Answer("shape (B, 49)", grad_of(ret="return gradient.reshape(len(walls), -1)"), "shape_flat"),
    Answer("the whole input's gradient, not sliced", WHOLE_INPUT + "return gradient\n", "shape_input"),
    Answer("a numpy array", grad_of(ret="return gradient.numpy()"), "type_ndarray"),
    Answer("a list", grad_of(ret="return gradient.tolist()"), "type_list"),
    Answer("the tuple torch.autograd.grad returns", grad_of().replace(
        "(gradient,) = torch.autograd.grad(q.sum(), w)\nreturn gradient", "return torch.autograd.grad(q.sum(), w)"),
        "tuple"),
    Answer("no return", grad_of(ret=""), "none"),
    Answer("a typo: no position", grad_of().replace("exits, position", "exits"), "error"),
    # More right answers, written other ways.
    Answer("gather, then .backward()", backward_of(pick="q.gather(1, action[:, None])"), None),
    Answer("the diagonal of q[:, action]", grad_of(pick="q[:, action].diagonal()"), None),
    Answer("grad_outputs=ones_like, no sum", grad_of().replace("(q.sum(), w)", "(q, w, torch.ones_like(q))"), None),
    Answer("torch.tensor(walls, requires_grad=True) (it warns)",
           grad_of(copy="torch.tensor(walls, requires_grad=True)"), None),
    Answer("w.requires_grad = True, a loop over the dreams", """\
w = walls.clone()
w.requires_grad = True
q = net(channels_to_input(w, crops, humans, exits, position))
total = 0
for b in range(len(action)):
    total = total + q[b, action[b]]
total.backward()
return w.grad.detach().clone()
""", None),
    Answer("net.eval(), torch.enable_grad(), net.forward", """\
net.eval()
with torch.enable_grad():
    w = walls.detach().clone().requires_grad_()
    q = net.forward(channels_to_input(w, crops, humans, exits, position))
    return torch.autograd.grad(q[range(len(action)), action].sum(), w, create_graph=True)[0]
""", None),
    Answer("torch.func.grad", """\
def total(w):
    return net(channels_to_input(w, crops, humans, exits, position))[torch.arange(len(action)), action].sum()
return torch.func.grad(total)(walls)
""", None),
    # The same mistakes, written other ways.
    Answer("wrong sign: loss = -Q, .backward()", backward_of(total="(-q.sum())"), "sign"),
    Answer("wrong sign: -w.grad", backward_of(ret="return -w.grad"), "sign"),
    Answer("another action: q[:, action[0]]", grad_of(pick="q[:, action[0]]"), "one_action"),
    Answer("another action: q[:, -1], .backward()", backward_of(pick="q[:, -1]"), "one_action"),
    Answer("another action: the argmax's Q-value", grad_of(pick="q[torch.arange(len(action)), q.argmax(dim=1)]"),
           "max"),
    Answer("another action: q[action], rows not columns", grad_of(pick="q[action]"), "rows"),
    Answer("q.gather(1, action): the index needs [:, None]", grad_of(pick="q.gather(1, action)"), "gather_index"),
    Answer("max over actions: .amax(1), .backward()", backward_of(pick="q.amax(1)"), "max"),
    Answer("max: torch.max(q), over everything", grad_of(pick="torch.max(q)"), "max"),
    Answer("sum over all actions: no pick at all", backward_of(pick="q"), "sum_actions"),
    Answer("sum over all actions: q.mean(), no pick", grad_of(pick="q", total="q.mean()"), "sum_actions"),
    Answer("softmax: F.softmax, gather, .backward()",
           backward_of(pick="torch.nn.functional.softmax(q, dim=1).gather(1, action[:, None])"), "softmax"),
    Answer("softmax: no dim (it warns)",
           grad_of(pick="torch.nn.functional.softmax(q)[torch.arange(len(action)), action]"), "softmax"),
    Answer("softmax over the dreams (dim=0)", grad_of(pick="q.softmax(dim=0)[torch.arange(len(action)), action]"),
           "softmax"),
    Answer("log of a softmax", backward_of(pick="q.softmax(1).log()[torch.arange(len(action)), action]"),
           "log_softmax"),
    Answer("mean: / len(action)", grad_of(total="q.sum() / len(action)"), "mean"),
    Answer("mean: .mean(), .backward()", backward_of(total="q.mean()"), "mean"),
    Answer("piles up: a copy kept on the function, .backward()", """\
if not hasattr(wall_locations_gradient, "w"):
    wall_locations_gradient.w = walls.detach().clone().requires_grad_()
w = wall_locations_gradient.w
q = net(channels_to_input(w, crops, humans, exits, position))
q[torch.arange(len(action)), action].sum().backward()
return w.grad
""", "accumulates"),
    Answer("piles up: a copy kept in globals(), .backward()", backward_of(
        copy="globals().setdefault('kept', walls.detach().clone().requires_grad_())", ret="return w.grad.clone()"),
        "accumulates"),
    Answer("piles up: .backward() into the caller's walls, .grad zeroed", """\
walls.requires_grad = True
if walls.grad is not None:
    walls.grad.zero_()
q = net(channels_to_input(walls, crops, humans, exits, position))
q[torch.arange(len(action)), action].sum().backward()
return walls.grad.clone()
""", "walls_grad"),
    Answer("the caller's walls made to require grad, then torch.autograd.grad", """\
walls.requires_grad_()
q = net(channels_to_input(walls, crops, humans, exits, position))[torch.arange(len(action)), action]
return torch.autograd.grad(q.sum(), walls)[0]
""", "walls_grad"),
    Answer("numpy: .detach().numpy()", grad_of(ret="return gradient.detach().numpy()"), "type_ndarray"),
    Answer("numpy: .cpu().numpy()", grad_of(ret="return gradient.cpu().numpy()"), "type_ndarray"),
    Answer("numpy: np.array(w.grad) (it warns)", backward_of(ret="return np.array(w.grad)"), "type_ndarray"),
    Answer("shape: .squeeze() (wrong for one dream)", grad_of(ret="return gradient.squeeze()"), "shape_dream"),
    Answer("shape: [0]", backward_of(ret="return w.grad[0]"), "shape_dream"),
    Answer("shape: .flatten()", grad_of(ret="return gradient.flatten()"), "shape_flat"),
    Answer("shape: .T (it warns)", grad_of(ret="return gradient.T"), "transposed"),
    Answer("shape: .transpose(1, 2)", grad_of(ret="return gradient.transpose(1, 2)"), "transposed"),
    Answer("shape: .unsqueeze(1)", grad_of(ret="return gradient.unsqueeze(1)"), "shape"),
    Answer("shape: .reshape(7, 7, 7), B written in", grad_of(ret="return gradient.reshape(7, 7, 7)"), "one_dream"),
    Answer("caller's walls: walls.add_()", grad_of(ret="walls.add_(0.05 * gradient)\nreturn gradient"),
           "walls_changed"),
    Answer("caller's walls: walls.data = ...",
           grad_of(ret="walls.data = (walls + 0.05 * gradient).clamp(0, 1)\nreturn gradient"), "walls_changed"),
    Answer("caller's walls: walls.clamp_(0, 1), values unchanged",
           grad_of(ret="walls.clamp_(0, 1)\nreturn gradient"), "walls_inplace"),
    Answer("caller's walls: in place through walls.detach()",
           grad_of(copy="walls.detach()").replace("q = net", "w.mul_(1.0).requires_grad_()\nq = net"), "walls_inplace"),
    Answer("caller's walls: a step on walls that require grad", """\
walls.requires_grad_()
q = net(channels_to_input(walls, crops, humans, exits, position))[torch.arange(len(action)), action]
q.sum().backward()
walls.add_(0.05 * walls.grad)
return walls.grad
""", "walls_grad"),
    Answer("the copy clamped in place", grad_of().replace("q = net", "w.clamp_(0, 1)\nq = net", 1), "inplace_leaf"),
    Answer("returns the walls after a step", grad_of(ret="return walls + 0.05 * gradient"), "stepped"),
    Answer("no_grad: around everything, .backward()", """\
with torch.no_grad():
    w = walls.detach().clone().requires_grad_()
    q = net(channels_to_input(w, crops, humans, exits, position))
    q[torch.arange(len(action)), action].sum().backward()
return w.grad
""", "no_grad"),
    Answer("no_grad: a helper under @torch.no_grad()", """\
@torch.no_grad()
def q_values(w):
    return net(channels_to_input(w, crops, humans, exits, position))
w = walls.detach().clone().requires_grad_()
q = q_values(w)[torch.arange(len(action)), action]
return torch.autograd.grad(q.sum(), w)[0]
""", "no_grad"),
    Answer("no_grad: torch.set_grad_enabled(False)", "torch.set_grad_enabled(False)\n" + grad_of(), "no_grad"),
    Answer("no_grad: net.forward under torch.no_grad()", """\
w = walls.detach().clone().requires_grad_()
with torch.no_grad():
    q = net.forward(channels_to_input(w, crops, humans, exits, position))
q[torch.arange(len(action)), action].sum().backward()
return w.grad
""", "no_grad"),
    Answer("inference_mode: the forward pass", """\
w = walls.detach().clone().requires_grad_()
with torch.inference_mode():
    q = net(channels_to_input(w, crops, humans, exits, position))
return torch.autograd.grad(q[torch.arange(len(action)), action].sum(), w)[0]
""", "inference_mode"),
    Answer("inference_mode: around everything, .backward()", """\
with torch.inference_mode():
    w = walls.detach().clone().requires_grad_()
    q = net(channels_to_input(w, crops, humans, exits, position))
    q.gather(1, action[:, None]).sum().backward()
    return w.grad
""", "inference_mode"),
    Answer("inference_mode: the input built under it", """\
w = walls.detach().clone().requires_grad_()
with torch.inference_mode():
    x = channels_to_input(w, crops, humans, exits, position)
q = net(x)[torch.arange(len(action)), action]
return torch.autograd.grad(q.sum(), w)[0]
""", "inference_mode"),
    Answer("walls.grad returned after .backward() on the copy", backward_of(ret="return walls.grad"), "none_grad"),
    Answer("the input's .grad returned (not a leaf, it warns)", """\
w = walls.detach().clone().requires_grad_()
x = channels_to_input(w, crops, humans, exits, position)
net(x)[torch.arange(len(action)), action].sum().backward()
return x.grad
""", "none_grad"),
    Answer("w.grad returned after torch.autograd.grad", grad_of(ret="return w.grad").replace("(gradient,) = ", ""),
           "none_grad_unset"),
    Answer("gradient printed, not returned", grad_of(ret="print(gradient.shape)"), "none"),
    Answer("torch.autograd.grad of the Q-values, not their sum", grad_of(total="q"), "not_scalar"),
    Answer(".backward() on the Q-values, not their sum", backward_of(total="q"), "not_scalar"),
    Answer("the input built from the caller's walls", grad_of(x=ORIGINAL_WALLS), "input_not_copy"),
    Answer("the input built from the caller's walls, .backward()", backward_of(x=ORIGINAL_WALLS), "input_not_copy"),
    Answer("the input detached", grad_of(x="channels_to_input(w, crops, humans, exits, position).detach()"),
           "input_not_copy"),
    Answer("the input built from w.data", backward_of(x="channels_to_input(w.data, crops, humans, exits, position)"),
           "input_not_copy"),
    Answer(".requires_grad_() after the input was built", """\
w = walls.detach().clone()
x = channels_to_input(w, crops, humans, exits, position)
w.requires_grad_()
q = net(x)[torch.arange(len(action)), action]
return torch.autograd.grad(q.sum(), w)[0]
""", "input_not_copy"),
    Answer("the Q-values detached", grad_of(pick="q.detach()[torch.arange(len(action)), action]"), "detached"),
    Answer("the Q-values copied with torch.tensor (it warns)",
           grad_of(pick="torch.tensor(q[torch.arange(len(action)), action])"), "detached"),
    Answer("a copy that doesn't require grad, .backward()", backward_of(copy="walls.clone()"), "no_requires_grad"),
]


def rarer_answers() -> dict[str, object]:
    """Mistakes the table doesn't type out, as plain functions: diagnosis key -> answer."""
    right = solutions.wall_locations_gradient
    noise = torch.Generator().manual_seed(0)

    def changes_weights(net, *args):
        net[0].bias.add_(1.0)
        return right(net, *args)

    def one_cell_off(*args):
        gradient = right(*args).clone()
        gradient[0, 3, 3] += 1
        return gradient

    def gradient_of_nothing(net, walls, crops, humans, exits, position, action):
        w = walls.detach().clone().requires_grad_()
        q = net(channels_to_input(walls, crops, humans, exits, position))[torch.arange(len(action)), action]
        return torch.autograd.grad(q.sum(), w)[0]

    return {
        "weights": changes_weights,
        "not_finite": lambda *args: right(*args) / 0,
        "scaled": lambda *args: 3 * right(*args),
        "log_softmax": lambda net, walls, *rest: diagnose._gradient(
            diagnose.Problem(net, walls, *rest), lambda q: q.log_softmax(dim=1)[torch.arange(len(q)), rest[-1]]),
        "not_repeatable": lambda *args: right(*args) + torch.rand(args[1].shape, generator=noise),
        "mismatch": one_cell_off,
        "zero": lambda net, walls, *rest: torch.zeros_like(walls),
        "shape": lambda net, walls, *rest: right(net, walls, *rest)[:, :6],
        "unused": gradient_of_nothing,  # with a network whose weights require grad, as a learner's might
    }


@pytest.mark.parametrize("key", list(rarer_answers()))
def test_rarer_mistakes_get_their_own_message(key):
    problem = telling_problem(0)
    if key == "unused":
        problem.net.requires_grad_(True)
    mistake = diagnose.diagnose(rarer_answers()[key], problem)
    assert mistake is not None and mistake.key == key, mistake
    assert "\n" not in mistake.message


def with_answer(exercise: str, code: str, markers: bool) -> str:
    """maze_dream.py with `code` as the body of wall_locations_gradient (whatever body it had before)."""
    head, body = function_parts(exercise)
    new = textwrap.indent(code, "    ")
    if markers:
        new = f"    # TODO START\n{new}    # TODO END\n"
    return exercise.replace(head + body, head + new)


def load_copy(path: Path, monkeypatch):
    name = f"maze_dream_copy_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def write_copy(folder: Path, answer: Answer, markers: bool) -> Path:
    path = folder / "maze_dream.py"
    path.write_text(with_answer(EXERCISE.read_text(), answer.code, markers))
    return path


def expected_stderr(mistake: diagnose.Mistake | None) -> list[str]:
    """The last lines maze_dream.py writes to stderr for an answer with this mistake."""
    return [] if mistake is None else [f"error: {mistake.message}", maze_dream.TEST_POINTER]


MARKERS = [pytest.param(True, id="markers kept"), pytest.param(False, id="markers deleted")]


@pytest.mark.parametrize("markers", MARKERS)
@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: a.name)
def test_each_answer_gets_its_own_diagnosis(answer, markers, tmp_path, monkeypatch, capsys, one_thread):
    """In this process: what this file and maze_dream.main say about the answer."""
    path = write_copy(tmp_path, answer, markers)
    module = load_copy(path, monkeypatch)
    mistake = answer_mistake(module.wall_locations_gradient)
    assert (mistake and mistake.key) == answer.mistake, mistake.message if mistake else "no mistake found"
    assert mistake is None or "\n" not in mistake.message
    with pytest.raises(Edited):  # the learner's work: the repository check stays out of the way
        drift(path.read_text(), SOLUTION.read_text())

    capsys.readouterr()
    code = module.main(["--steps", "20"])
    out = capsys.readouterr()
    lines = out.err.splitlines()
    assert code == (0 if mistake is None else 1), out.err
    assert ("Q-values after" in out.out) == (mistake is None or not mistake.fatal)
    if mistake is None:
        assert out.err == ""
    else:
        assert lines[-2:] == expected_stderr(mistake) and len(lines) <= 3, out.err


def test_each_mistake_has_its_own_message(tmp_path, monkeypatch):
    """Two answers with different mistakes never get the same message (the same mistake typed two ways may)."""
    keys: dict[str, set[str]] = {}  # message -> the mistakes it was given for
    for i, answer in enumerate(a for a in ANSWERS if a.mistake):
        folder = tmp_path / str(i)
        folder.mkdir()
        mistake = answer_mistake(load_copy(write_copy(folder, answer, True), monkeypatch).wall_locations_gradient)
        keys.setdefault(mistake.message, set()).add(mistake.key)
    shared = {message: k for message, k in keys.items() if len(k) > 1}
    assert not shared, shared
    assert len(keys) >= len({a.mistake for a in ANSWERS if a.mistake})


# As real subprocesses (exit code, stderr with no warning and no traceback): a handful in the default suite, and
# every answer once in the slow suite, by turns with and without the TODO lines (both ways are checked in this
# process above).
HANDFUL = {  # (answer, TODO lines kept)
    (".backward() on a detached copy, then .grad", False),
    ("the whole input's gradient, sliced to the wall channel", True),
    ("wrong sign", False),
    ("max over actions", True),
    ("shape (B, 49)", False),
    ("the caller's walls made to require grad, then .backward()", True),
    ("the forward pass under torch.no_grad()", False),
}
SUBPROCESS_CASES = [
    pytest.param(answer, markers, id=f"{answer.name}-{'markers kept' if markers else 'markers deleted'}",
                 marks=() if (answer.name, markers) in HANDFUL else pytest.mark.slow)
    for i, answer in enumerate(ANSWERS) for markers in (True, False)
    if (answer.name, markers) in HANDFUL or markers == (i % 2 == 0)
]
assert HANDFUL <= {(a.name, m) for a in ANSWERS for m in (True, False)}, "a HANDFUL entry names no answer"


@pytest.mark.parametrize("answer, markers", SUBPROCESS_CASES)
def test_maze_dream_subprocess(answer, markers, tmp_path, monkeypatch):
    path = write_copy(tmp_path, answer, markers)
    mistake = answer_mistake(load_copy(path, monkeypatch).wall_locations_gradient)
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=tmp_path,
                         env=SUBPROCESS_ENV, timeout=300)
    assert "Traceback" not in out.stderr, out.stderr
    assert out.returncode == (0 if mistake is None else 1), out.stderr
    if mistake is None:
        assert out.stderr == "" and "Q-values after" in out.stdout
        return
    lines = out.stderr.splitlines()
    assert lines[-2:] == expected_stderr(mistake) and len(lines) <= 3, out.stderr
    if mistake.key == "sign":
        assert lines[0].startswith("Q(up) fell from ") and lines[0].endswith("is the sign right?"), out.stderr


def copy_repository(folder: Path) -> Path:
    skip = shutil.ignore_patterns(".git", ".venv", "runs", "__pycache__", ".pytest_cache", ".hypothesis", "*.tmp")
    shutil.copytree(ROOT, folder, ignore=skip)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("name", [".backward() on a detached copy, then .grad", "max over actions"])
def test_pytest_on_a_learners_copy(name, tmp_path, monkeypatch):
    """What `python -m pytest tests/test_exercise.py` says in a copy of the repository with the answer typed in
    without the TODO lines: a right answer passes, a wrong one fails with its one-line hint and nothing more."""
    answer = next(a for a in ANSWERS if a.name == name)
    repo = copy_repository(tmp_path / "repo")
    path = write_copy(repo, answer, markers=False)
    mistake = answer_mistake(load_copy(path, monkeypatch).wall_locations_gradient)
    out = subprocess.run([sys.executable, "-m", "pytest", "tests/test_exercise.py", "-q", "-p", "no:cacheprovider",
                          "-rs"], capture_output=True, text=True, cwd=repo, env=dict(os.environ, OMP_NUM_THREADS="1"),
                         timeout=600)
    if answer.mistake is None:
        assert out.returncode == 0, out.stdout[-3000:]
        assert "is yours now" in out.stdout
    else:
        assert out.returncode == 1, out.stdout[-3000:]
        assert "1 failed" in out.stdout and "test_learner_answer_is_right" in out.stdout, out.stdout[-3000:]
        failure = out.stdout.split(" test_learner_answer_is_right _")[1].split(" short test summary")[0]
        assert failure.strip("_= \n").splitlines() == [mistake.message], failure
