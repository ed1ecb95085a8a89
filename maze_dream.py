"""Deep dreaming: run the Q-network in reverse to find mazes where it harvests humans.

Training holds the input fixed and changes the weights. Here we hold the
weights fixed and change the input: the wall channel, by gradient ascent, so
that the agent standing beside a human wants to step onto it. Everything else
in the input stays fixed: no crops, one human, the exit, the agent's cell.

Your exercise is `wall_locations_gradient` (fewer than 10 lines). The rest of
this file runs as it is:

    python maze_dream.py                       # dream the lecture's case
    python maze_dream.py --verify              # ...and test the dream on the agent
    python maze_dream.py --all                 # dream an atlas of every target at once
    python maze_dream.py --solution            # use the reference answer instead

Before dreaming, your function is tried once; if its answer is wrong, you get
one line saying what looks wrong and what to change.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

import maze_env as env
from main_train import ROOT, SHIPPED_WEIGHTS, channels_to_input, greedy_policy
from model import WeightsError, load_agent

if TYPE_CHECKING:
    from spoilers.diagnose import Mistake

CONTROL_WEIGHTS = ROOT / "weights" / "control.pt"


# --- The exercise -------------------------------------------------------------------
def wall_locations_gradient(
    net: nn.Module,
    walls: torch.Tensor,
    crops: torch.Tensor,
    humans: torch.Tensor,
    exits: torch.Tensor,
    position: torch.Tensor,
    action: torch.Tensor,
) -> torch.Tensor:
    """The gradient of Q(state, action) with respect to the wall channel.

    Everything but the walls is held fixed: the network's weights, the crop,
    human and exit channels, and the agent's position.

    Args:
        net: the trained Q-network. Don't change its weights.
        walls: (B, 7, 7) floats in [0, 1], the wall channel of B dreams.
        crops, humans, exits: (B, 7, 7) floats, the other three channels.
        position: (B, 2) long, the agent's (row, column) in each dream.
        action: (B,) long, the action whose Q-value we want to raise.

    Returns:
        A (B, 7, 7) tensor whose entry [b, r, c] is
        d Q_b(action[b]) / d walls[b, r, c]: the direction in which the walls
        should move to raise dream b's Q-value (we ascend). Dreams are
        independent: dream b's Q-value depends only on walls[b]. The caller's
        `walls` must not change, and each call starts from a fresh gradient
        (gradients that pile up from step to step were the bug of the
        workshop this one replaces).
    """
    # TODO START
    # 1. Make a copy of `walls` that autograd tracks: detach it, clone it and
    #    call .requires_grad_() on the copy.
    # 2. Build the network's input from the copy and the fixed channels with
    #    channels_to_input(walls, crops, humans, exits, position).
    # 3. Run the network: it gives (B, 4) Q-values. Pick, for each dream b,
    #    the Q-value of action[b].
    # 4. Return the gradient of the sum of those Q-values with respect to the
    #    copy (torch.autograd.grad). Summing is fine: dream b's walls only
    #    affect dream b's Q-value.
    raise NotImplementedError("fill in the TODOs in maze_dream.wall_locations_gradient")
    # TODO END


# --- What to dream about --------------------------------------------------------------
@dataclass
class Targets:
    """B dreams: a human at humans[b], the agent beside it at agents[b], stepping `actions[b]` onto it."""

    humans: torch.Tensor  # (B, 2)
    agents: torch.Tensor  # (B, 2)
    actions: torch.Tensor  # (B,)

    def __len__(self) -> int:
        return len(self.actions)

    def describe(self, b: int) -> str:
        h, a = self.humans[b].tolist(), self.agents[b].tolist()
        return f"human at {tuple(h)}, agent at {tuple(a)}, action {env.ACTION_NAMES[int(self.actions[b])]}"


def make_targets(cases: list[tuple[tuple[int, int], tuple[int, int]]]) -> Targets:
    """Targets from (human cell, agent cell) pairs; the action is the step from agent to human."""
    actions = [env.MOVES.index((h[0] - a[0], h[1] - a[1])) for h, a in cases]
    return Targets(torch.tensor([h for h, _ in cases]), torch.tensor([a for _, a in cases]), torch.tensor(actions))


def lecture_target() -> Targets:
    """The lecture's case: a human at (3, 3), the agent below it at (4, 3), stepping up."""
    return make_targets([((3, 3), (4, 3))])


def atlas_targets() -> Targets:
    """Every cell that can hold a human, approached from every neighbouring cell the agent can stand on."""
    cases = []
    for r in range(env.SIZE):
        for c in range(env.SIZE):
            if (r, c) in (env.START, env.EXIT_POS):
                continue
            for dr, dc in env.MOVES:
                a = (r - dr, c - dc)
                if 0 <= a[0] < env.SIZE and 0 <= a[1] < env.SIZE and a != env.EXIT_POS:
                    cases.append(((r, c), a))
    return make_targets(cases)


def fixed_channels(targets: Targets) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(crops, humans, exits, free): the channels held fixed, and where walls may grow.

    A wall may not grow on the agent's cell, the human, the exit or the start.
    """
    b = len(targets)
    rows = torch.arange(b)
    crops = torch.zeros(b, env.SIZE, env.SIZE)
    humans = torch.zeros(b, env.SIZE, env.SIZE)
    humans[rows, targets.humans[:, 0], targets.humans[:, 1]] = 1
    exits = torch.zeros(b, env.SIZE, env.SIZE)
    exits[:, env.EXIT_POS[0], env.EXIT_POS[1]] = 1
    free = 1 - humans
    free[rows, targets.agents[:, 0], targets.agents[:, 1]] = 0
    free[:, env.EXIT_POS[0], env.EXIT_POS[1]] = 0
    free[:, env.START[0], env.START[1]] = 0
    return crops, humans, exits, free


# --- Dreaming ---------------------------------------------------------------------------
@dataclass
class Dreams:
    targets: Targets
    walls: torch.Tensor  # (B, 7, 7) the dreamed wall channel
    q_before: torch.Tensor  # (B, 4) Q-values of the agent's cell before dreaming
    q_after: torch.Tensor  # (B, 4) ... and after


def q_values(net: nn.Module, walls: torch.Tensor, targets: Targets) -> torch.Tensor:
    device = next(net.parameters()).device
    crops, humans, exits, _ = (t.to(device) for t in fixed_channels(targets))
    with torch.no_grad():
        return net(channels_to_input(walls.to(device), crops, humans, exits, targets.agents.to(device))).cpu()


def initial_walls(targets: Targets, init: str, seed: int, maze: np.ndarray | None = None) -> torch.Tensor:
    """Where the walls start: all 0.5 ('half'), no walls ('empty'), uniform noise ('random') or a maze's walls."""
    shape = (len(targets), env.SIZE, env.SIZE)
    if maze is not None:
        return torch.tensor(maze == env.WALL, dtype=torch.float).expand(shape).clone()
    if init == "half":
        return torch.full(shape, 0.5)
    if init == "empty":
        return torch.zeros(shape)
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def dream(
    net: nn.Module,
    targets: Targets,
    gradient_fn=wall_locations_gradient,
    steps: int = 100,
    lr: float = 0.05,
    walls: torch.Tensor | None = None,
) -> Dreams:
    """Gradient ascent on the wall channel of every target at once."""
    device = next(net.parameters()).device
    crops, humans, exits, free = (t.to(device) for t in fixed_channels(targets))
    agents, actions = targets.agents.to(device), targets.actions.to(device)
    walls = (torch.full(free.shape, 0.5) if walls is None else walls).to(device) * free
    q_before = q_values(net, walls, targets)
    for _ in range(steps):
        gradient = gradient_fn(net, walls, crops, humans, exits, agents, actions)
        # Step uphill, stay between "no wall" (0) and "wall" (1), and keep the fixed cells open.
        walls = ((walls + lr * gradient).clamp(0, 1) * free).detach()
    return Dreams(targets, walls.cpu(), q_before, q_values(net, walls, targets))


# --- From a dream to a maze ---------------------------------------------------------------
def neighbourhood(target_cells: list[tuple[int, int]]) -> np.ndarray:
    """Cells at most one step from any of the given cells."""
    mask = np.zeros((env.SIZE, env.SIZE), dtype=bool)
    for r, c in target_cells:
        mask[r, c] = True
        for dr, dc in env.MOVES:
            if 0 <= r + dr < env.SIZE and 0 <= c + dc < env.SIZE:
                mask[r + dr, c + dc] = True
    return mask


def threshold_maze(walls: torch.Tensor, human: tuple[int, int]) -> np.ndarray:
    """The dream as a maze: a wall where the channel is above 0.5, the human, the exit."""
    maze = np.where(walls.numpy() > 0.5, env.WALL, env.EMPTY)
    maze[human] = env.HUMAN
    maze[env.EXIT_POS] = env.EXIT
    return maze


def shows_stub(maze: np.ndarray, human: tuple[int, int], agent: tuple[int, int]) -> bool:
    """The human sits in a one-cell stub whose only way in is the agent's cell, a junction."""
    degree = env.open_neighbours(maze)
    return bool(degree[human] == 1 and degree[agent] >= 3)


def complete_maze(
    walls: torch.Tensor, human: tuple[int, int], agent: tuple[int, int], bank: np.ndarray, rng: np.random.Generator
) -> np.ndarray | None:
    """The training maze closest to the dream around the target, with the human put in.

    Thresholding the whole dream leaves open fields that no training maze
    has, where any agent gets lost. So we pick, from a bank of training
    mazes, the one that best agrees with the dream on the cells next to the
    human and the agent (agreement weighted by how sure the dream is,
    |wall - 0.5|), among those where a shortest path from the start to the
    exit that avoids the human passes the agent's cell: the agent has to walk
    past the human, and never has to step on it. None if no maze in the bank
    qualifies.
    """
    keep = neighbourhood([human, agent])
    keep[human] = keep[agent] = False  # set below
    w = walls.numpy()[keep]
    agree = (bank[:, keep] == env.WALL) == (w > 0.5)
    score = (agree * np.abs(w - 0.5)).sum(axis=1) + 1e-3 * rng.random(len(bank))  # random tie-break
    open_ = torch.tensor(bank != env.WALL)
    open_[:, agent[0], agent[1]] = True
    open_[:, human[0], human[1]] = False  # the way to the exit must not go through the human
    from_start, from_exit = distances(open_, env.START), distances(open_, env.EXIT_POS)
    length = from_start[:, env.EXIT_POS[0], env.EXIT_POS[1]]
    passes = (from_start[:, agent[0], agent[1]] + from_exit[:, agent[0], agent[1]] == length) & (length < UNREACHED)
    if not passes.any():
        return None
    best = int(np.argmax(np.where(passes.numpy(), score, -np.inf)))
    maze = bank[best].copy()
    maze[agent] = env.EMPTY
    maze[human] = env.HUMAN
    return maze


UNREACHED = 10_000


def distances(open_: torch.Tensor, source: tuple[int, int]) -> torch.Tensor:
    """Steps from source to every cell of a batch of (B, 7, 7) open-cell masks (UNREACHED if none)."""
    d = torch.full(open_.shape, UNREACHED, dtype=torch.int16)
    d[:, source[0], source[1]] = torch.where(open_[:, source[0], source[1]], 0, UNREACHED)
    while True:  # relax until nothing changes: at most 49 rounds
        padded = torch.nn.functional.pad(d, (1, 1, 1, 1), value=UNREACHED)
        nearest = torch.minimum(
            torch.minimum(padded[:, :-2, 1:-1], padded[:, 2:, 1:-1]),
            torch.minimum(padded[:, 1:-1, :-2], padded[:, 1:-1, 2:]),
        )
        new = torch.where(open_, torch.minimum(d, nearest + 1), UNREACHED)
        if torch.equal(new, d):
            return d
        d = new


def maze_bank(rng: np.random.Generator, n: int = 2000) -> np.ndarray:
    """Training mazes to complete dreams with."""
    return np.stack([env.make_training_maze(rng) for _ in range(n)])


def harvests_target(net: nn.Module, mazes: list[np.ndarray], humans: list[tuple[int, int]]) -> list[bool]:
    """Roll the agent out from (0, 0) in each maze: did it step onto the dreamed human?"""
    if not mazes:
        return []
    episodes = env.rollout_batch(greedy_policy(net), torch.tensor(np.stack(mazes)))
    return [human in episodes.path(i) for i, human in enumerate(humans)]


@dataclass
class Verdict:
    mazes: list[np.ndarray | None]  # the completed maze of each dream (None: no valid completion)
    confirmed: list[bool]  # the agent stepped onto the dreamed human
    stub: list[bool]  # the thresholded dream shows a stub beside a junction
    dead_end: list[bool]  # in the completed maze the human sits in a dead end (else it stands in a passage)


def verify(net: nn.Module, dreams: Dreams, seed: int) -> Verdict:
    rng = np.random.default_rng(seed)
    bank = maze_bank(rng)
    t = dreams.targets
    mazes, stub = [], []
    for b in range(len(t)):
        human, agent = tuple(t.humans[b].tolist()), tuple(t.agents[b].tolist())
        mazes.append(complete_maze(dreams.walls[b], human, agent, bank, rng))
        stub.append(shows_stub(threshold_maze(dreams.walls[b], human), human, agent))
    valid = [i for i, m in enumerate(mazes) if m is not None]
    hits = harvests_target(net, [mazes[i] for i in valid], [tuple(t.humans[i].tolist()) for i in valid])
    confirmed = [False] * len(t)
    for i, hit in zip(valid, hits):
        confirmed[i] = hit
    dead_end = [m is not None and env.open_neighbours(m)[tuple(h)] == 1 for m, h in zip(mazes, t.humans.tolist())]
    return Verdict(mazes, confirmed, stub, dead_end)


def summary(verdict: Verdict) -> dict:
    n = len(verdict.confirmed)
    k = sum(verdict.confirmed)
    return {"dreams": n, "confirmed": k, "confirmation_rate": k / n, "stub_rate": sum(verdict.stub) / n}


# --- Printing ------------------------------------------------------------------------------
SHADES = " .:*#"  # from no wall to wall


def format_numbers(walls: torch.Tensor) -> str:
    return "\n".join(" ".join(f"{v:.2f}" for v in row) for row in walls.tolist())


def format_shaded(walls: torch.Tensor, human: tuple[int, int], agent: tuple[int, int]) -> str:
    """The wall channel as characters, darker for more wall; H is the human, A the agent."""
    grid = [[SHADES[min(4, int(v * 5))] for v in row] for row in walls.tolist()]
    grid[human[0]][human[1]] = "H"
    grid[agent[0]][agent[1]] = "A"
    grid[env.EXIT_POS[0]][env.EXIT_POS[1]] = "E"
    return "\n".join("|" + "".join(row) + "|" for row in grid)


def format_q(q: torch.Tensor) -> str:
    return "  ".join(f"{name} {v:6.2f}" for name, v in zip(env.ACTION_NAMES, q.tolist()))


def print_dream(net: nn.Module, dreams: Dreams, b: int, verdict: Verdict | None) -> None:
    t = dreams.targets
    human, agent = tuple(t.humans[b].tolist()), tuple(t.agents[b].tolist())
    print(f"Dream: {t.describe(b)}")
    print(f"Q-values before: {format_q(dreams.q_before[b])}")
    print(f"Q-values after:  {format_q(dreams.q_after[b])}")
    print("\nWall channel:")
    print(format_numbers(dreams.walls[b]))
    print("\nShaded (darker = more wall; H human, A agent, E exit):")
    print(format_shaded(dreams.walls[b], human, agent))
    maze = threshold_maze(dreams.walls[b], human)
    print(f"\nThresholded at 0.5 (stub beside a junction: {'yes' if shows_stub(maze, human, agent) else 'no'}):")
    print(env.format_maze(maze))
    if verdict is not None:
        completed = verdict.mazes[b]
        if completed is None:
            print("\nVerify: no valid maze keeps this dream with the agent's cell on the way to the exit.")
        else:
            word = "CONFIRMED: it stepped onto the human" if verdict.confirmed[b] else "not confirmed: it left the human alone"
            print(f"\nVerify: the dream completed into a valid maze, the agent starting at (0, 0); {word}.")
            episodes = env.rollout_batch(greedy_policy(net), torch.tensor(completed)[None])
            print(env.draw_path(completed, episodes.path(0)))


def format_atlas(dreams: Dreams, verdict: Verdict) -> str:
    """One character per dream, at the human's cell: best over approach directions.

    S: a stub dream the agent walked into, s: a stub it didn't,
    X: a confirmed dream without a stub shape, .: neither.
    """
    grid = [["-"] * env.SIZE for _ in range(env.SIZE)]
    rank = {"-": 0, ".": 1, "s": 2, "X": 3, "S": 4}
    for b in range(len(dreams.targets)):
        r, c = dreams.targets.humans[b].tolist()
        ch = "S" if verdict.stub[b] and verdict.confirmed[b] else "s" if verdict.stub[b] else "X" if verdict.confirmed[b] else "."
        if rank[ch] > rank[grid[r][c]]:
            grid[r][c] = ch
    grid[0][0], grid[6][6] = "A", "E"
    return "\n".join("".join(row) for row in grid)


# --- Random search: the baseline a dream must beat -------------------------------------------
def random_wall_maze(rng: np.random.Generator, density: float = 0.35) -> np.ndarray:
    """Random walls, a few humans and crops, and an exit that can be reached without harvesting a human."""
    while True:
        maze = np.where(rng.random((env.SIZE, env.SIZE)) < density, env.WALL, env.EMPTY)
        items = rng.random((env.SIZE, env.SIZE))
        maze[(maze == env.EMPTY) & (items < 0.08)] = env.HUMAN
        maze[(maze == env.EMPTY) & (items > 0.92)] = env.CROP
        maze[env.START] = env.EMPTY
        maze[env.EXIT_POS] = env.EXIT
        if env.reachable(np.where(maze == env.HUMAN, env.WALL, maze))[env.EXIT_POS]:
            return maze


def random_search(net: nn.Module, make, n: int, rng: np.random.Generator) -> dict:
    """Roll the agent out on n random mazes; network queries (one per step) per maze where it harvests a human."""
    mazes = torch.tensor(np.stack([make(rng) for _ in range(n)]))
    episodes = env.rollout_batch(greedy_policy(net), mazes)
    queries = int((episodes.length - 1).clamp(min=1).sum())
    found = int((episodes.humans > 0).sum())
    return {"mazes": n, "queries": queries, "found": found, "queries_per_found": queries / found if found else None}


# --- Command line --------------------------------------------------------------------------
POINTER = """\
The exercise isn't done yet: maze_dream.wall_locations_gradient still has its TODOs.
Open maze_dream.py, read the docstring of wall_locations_gradient, and replace the
TODO block with a few lines that return d Q(state, action) / d walls. Then run
`python maze_dream.py` again, and `python -m pytest tests/test_exercise.py` to check
your answer against the reference. To see the whole thing work first, run
`python maze_dream.py --solution`."""
TEST_POINTER = "`python -m pytest tests/test_exercise.py` checks your answer in detail."


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--solution", action="store_true", help="use the reference wall_locations_gradient (spoilers/)")
    p.add_argument("--weights", type=Path, default=SHIPPED_WEIGHTS, help="the agent to dream with")
    p.add_argument("--control", type=Path,
                   help="with --all: an agent trained without the misgeneralization, dreamed side by side "
                        "(default: weights/control.pt if it exists)")
    p.add_argument("--human", type=int, nargs=2, default=(3, 3), metavar=("ROW", "COL"), help="the human's cell")
    p.add_argument("--agent", type=int, nargs=2, default=(4, 3), metavar=("ROW", "COL"),
                   help="the agent's cell, next to the human")
    p.add_argument("--all", action="store_true", help="dream every (human, approach) pair at once: the atlas")
    p.add_argument("--verify", action="store_true", help="complete each dream into a maze and roll the agent out")
    p.add_argument("--steps", type=int, default=100, help="gradient ascent steps")
    p.add_argument("--lr", type=float, default=0.05, help="gradient ascent step size")
    p.add_argument("--init", choices=["half", "empty", "random"], default="half", help="where the walls start")
    p.add_argument("--init-maze", type=Path, metavar="FILE", help="start the walls from the first maze in FILE")
    p.add_argument("--random-search", type=int, default=0, metavar="N",
                   help="also roll out N random mazes of each kind and count queries per human harvested")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object on stdout")
    p.add_argument("--png", type=Path, help="write a heatmap of the dream(s) to this PNG file")
    p.add_argument("--seed", type=int, default=0, help="seed for the random init and the maze completion")
    p.add_argument("--device", default="cpu", help="torch device (dreams are small: cpu is fine)")
    args = p.parse_args(argv)
    for name in ("human", "agent"):
        if not all(0 <= v < env.SIZE for v in getattr(args, name)):
            p.error(f"--{name} must be a cell inside the 7x7 maze")
    h, a = tuple(args.human), tuple(args.agent)
    if abs(h[0] - a[0]) + abs(h[1] - a[1]) != 1:
        p.error("--agent must be next to --human (one step up, down, left or right)")
    if h in (env.START, env.EXIT_POS) or a == env.EXIT_POS:
        p.error("the human can't be on the start or the exit, nor the agent on the exit")
    return args


def run(net: nn.Module, targets: Targets, gradient_fn, args: argparse.Namespace, init_maze) -> Dreams:
    walls = initial_walls(targets, args.init, args.seed, init_maze)
    return dream(net, targets, gradient_fn, args.steps, args.lr, walls)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.solution:
        from spoilers.solutions import wall_locations_gradient as gradient_fn
    else:
        gradient_fn = wall_locations_gradient
    # The shipped control is optional; one named with --control must load.
    control_path = args.control or (CONTROL_WEIGHTS if CONTROL_WEIGHTS.is_file() else None)
    try:  # read every file before dreaming, so that a bad one costs no time and nothing gets written
        net, _ = load_agent(args.weights, args.device)
        init_maze = env.read_maze_file(args.init_maze)[0] if args.init_maze else None
        control = load_agent(control_path, args.device)[0] if args.all and control_path else None
    except (WeightsError, env.MazeFormatError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    net.requires_grad_(False)  # the weights stay fixed: only the maze is dreamed
    from spoilers import diagnose  # compares your answer with the reference, without showing it to you

    mistake = None
    if not args.solution:  # try your function once, before dreaming
        mistake = diagnose.diagnose(gradient_fn, diagnose.make_problem(net))
        if mistake is not None and mistake.fatal:  # dreaming would crash or mean nothing: say why, in one line
            print(POINTER if mistake.key == "todo" else f"error: {mistake.message}\n{TEST_POINTER}", file=sys.stderr)
            return 1
        gradient_fn = diagnose.guarded(gradient_fn)  # a failure later on gets one line too, not a traceback
    try:
        dreams = dream_and_print(net, control, control_path, gradient_fn, args, init_maze)
    except diagnose.AnswerError as err:
        print(f"error: {err}\n{TEST_POINTER}", file=sys.stderr)
        return 1
    return report_answer(dreams, mistake)


def dream_and_print(net: nn.Module, control: nn.Module | None, control_path: Path | None, gradient_fn,
                    args: argparse.Namespace, init_maze: np.ndarray | None) -> Dreams:
    """Dream what the command line asks for, print it, and return the agent's dreams."""
    targets = atlas_targets() if args.all else make_targets([(tuple(args.human), tuple(args.agent))])
    dreams = run(net, targets, gradient_fn, args, init_maze)
    verdict = verify(net, dreams, args.seed) if (args.verify or args.all or args.json) else None
    if args.png:
        save_heatmaps(dreams, args.png)
    if args.json:
        print(json.dumps(summary(verdict)))
        return dreams
    if not args.all:
        print_dream(net, dreams, 0, verdict if args.verify else None)
        return dreams

    print(f"Atlas: {len(targets)} dreams (every cell a human can be in x every side the agent can come from)")
    print("S stub dream confirmed, s stub dream not confirmed, X confirmed without a stub, . neither\n")
    print(format_atlas(dreams, verdict))
    agents = {f"agent ({args.weights.name})": (net, dreams, verdict)}
    if control is not None:
        control.requires_grad_(False)
        control_dreams = run(control, targets, gradient_fn, args, init_maze)
        control_verdict = verify(control, control_dreams, args.seed)
        agents[f"control ({control_path.name})"] = (control, control_dreams, control_verdict)
        print(f"\ncontrol:\n{format_atlas(control_dreams, control_verdict)}")
    print("\nconfirmed: the agent stepped onto the human in the completed maze, the human standing either in a")
    print("dead end (which a stub is) or in a passage it could have walked around")
    print(f"{'':<28}{'dreams':>8}{'confirmed':>11}{'rate':>8}{'dead end':>10}{'passage':>9}{'stub rate':>11}")
    for name, (_, _, v) in agents.items():
        s = summary(v)
        in_dead_end = sum(c and d for c, d in zip(v.confirmed, v.dead_end))
        print(f"{name:<28}{s['dreams']:>8}{s['confirmed']:>11}{s['confirmation_rate']:>8.1%}"
              f"{in_dead_end:>10}{s['confirmed'] - in_dead_end:>9}{s['stub_rate']:>11.1%}")
    if args.random_search:
        print_search_comparison(agents, args)
    return dreams


def report_answer(dreams: Dreams, mistake: Mistake | None) -> int:
    """After dreaming: a line if the target's Q-value fell, a line naming the answer's mistake; the exit code."""
    fell = q_fell(dreams)
    if fell:
        hint = ""
        if mistake is None:  # the gradient is right, so the steps overshoot
            hint = "; the gradient checks out, so try a smaller --lr"
        elif mistake.key == "sign":
            hint = "; is the sign right?"
        print(f"{fell}: gradient ascent should raise it{hint}", file=sys.stderr)
    if mistake is None:
        return 0
    print(f"error: {mistake.message}\n{TEST_POINTER}", file=sys.stderr)
    return 1


def q_fell(dreams: Dreams) -> str | None:
    """'Q(up) fell from 4.36 to -6.03' if dreaming lowered the Q-value it should raise (atlas: in how many dreams)."""
    t = dreams.targets
    rows = torch.arange(len(t))
    before, after = dreams.q_before[rows, t.actions], dreams.q_after[rows, t.actions]
    fell = after < before
    if not fell.any():
        return None
    if len(t) == 1:
        return f"Q({env.ACTION_NAMES[int(t.actions[0])]}) fell from {before[0]:.2f} to {after[0]:.2f}"
    return f"Q of the target action fell in {int(fell.sum())} of {len(t)} dreams"


def print_search_comparison(agents: dict, args: argparse.Namespace) -> None:
    """Network queries per maze in which each agent harvests a human: dreaming vs random search.

    A dream costs a forward and a backward pass per step, plus one rollout
    (at most MAX_STEPS queries) per verified maze.
    """
    n = args.random_search
    print(f"\nNetwork queries per maze in which the agent harvests a human ({n} random mazes per kind):")
    print(f"{'method':<28}" + "".join(f"{name:>32}" for name in agents))
    cells = []
    for _, dreams, verdict in agents.values():
        queries = 2 * args.steps * len(dreams.targets) + sum(m is not None for m in verdict.mazes) * env.MAX_STEPS
        cells.append(format_found(queries, sum(verdict.confirmed)))
    print(f"{'dreaming (atlas, verified)':<28}" + "".join(f"{c:>32}" for c in cells))
    for name, make in (("random training mazes", env.make_training_maze), ("random wall patterns", random_wall_maze)):
        cells = []
        for net, _, _ in agents.values():
            r = random_search(net, make, n, np.random.default_rng(args.seed + 1))  # the same mazes for each agent
            cells.append(format_found(r["queries"], r["found"]))
        print(f"{name:<28}" + "".join(f"{c:>32}" for c in cells))


def format_found(queries: int, found: int) -> str:
    per = f"{queries / found:.0f}" if found else "-"
    return f"{found} found, {per} queries each"


def save_heatmaps(dreams: Dreams, path: Path) -> None:
    """The dreamed wall channel(s) as heatmaps, written atomically."""
    import os
    import tempfile

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = min(len(dreams.targets), 24)
    cols = min(n, 6)
    fig, axes = plt.subplots((n + cols - 1) // cols, cols, figsize=(2.2 * cols, 2.3 * ((n + cols - 1) // cols)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for b, ax in zip(range(n), axes.flat):
        ax.imshow(dreams.walls[b].numpy(), cmap="Greys", vmin=0, vmax=1)
        (hr, hc), (ar, ac) = dreams.targets.humans[b].tolist(), dreams.targets.agents[b].tolist()
        ax.text(hc, hr, "H", ha="center", va="center", color="red", weight="bold")
        ax.text(ac, ar, "A", ha="center", va="center", color="blue", weight="bold")
        ax.set_title(f"H{(hr, hc)} A{(ar, ac)}", fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=100)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
        plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
