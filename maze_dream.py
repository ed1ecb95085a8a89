"""Deep dreaming: run the Q-network in reverse to find mazes where it harvests humans.

Training holds the input fixed and changes the weights. Here we hold the
weights fixed and change the input: the wall channel, by gradient ascent, so
that the agent standing beside a human wants to step onto it. Everything else
in the input stays fixed: no crops, one human, the exit, the agent's cell.

Two exercises are in this file: `wall_locations_gradient` (exercise 1, fewer
than 10 lines) and `warning_cells` (exercise 2, for the warning map of
--all). `python check.py 1` and `python check.py 2` check them. The rest of
this file runs as it is:

    python maze_dream.py                       # dream the lecture's case
    python maze_dream.py --verify              # ...and test the dream on the agent
    python maze_dream.py --all                 # dream an atlas of every target, end with a warning map
    python maze_dream.py --audit               # flag the cells where the agent harvests, with the mazes
    python maze_dream.py --solution            # use the reference answer instead

Before dreaming, your function is tried once; if its answer is wrong, you get
one line saying what looks wrong and what to change. What a dream is about
(its targets) is in dream_targets.py; checking what the dreams found lives in
dream_verify.py (real mazes, rollouts) and dream_maps.py (the atlas, the
warning map, the training data's blind spots).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import dream_maps
import dream_verify
import maze_env as env
from dream_targets import Dreams, Targets, atlas_targets, fixed_channels, make_targets
from dream_targets import lecture_target  # noqa: F401 -- maze_dream.lecture_target(), as the notebook calls it
from figures import audit_figure, heatmaps_figure, save_figure
from model import (CONTROL_WEIGHTS, ROOT, SHIPPED_WEIGHTS, WeightsError, channels_to_input, greedy_policy,
                   load_agent)

RUNS = ROOT / "runs"  # git-ignored: where --all and --audit draw their pictures by default


# --- Exercise 1: which way should the walls move? -------------------------------------
# Difficulty 2/3, importance 3/3, about 15 minutes.
# You learn: autograd gives the derivative with respect to the input as readily as with respect to the
# weights; that is all "running the network in reverse" takes.
# Check: python check.py 1      Stuck: python check.py 1 --hint 1 (then --hint 2, --hint 3)
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
    # Return d Q_b(action[b]) / d walls[b] for every dream b, as the docstring
    # says, leaving `walls` and the network as they are.
    raise NotImplementedError("fill in the TODO in wall_locations_gradient")
    # TODO END


# --- Dreaming ---------------------------------------------------------------------------
# What to dream about: dream_targets.py (lecture_target, atlas_targets, fixed_channels).
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


# --- Exercise 2: when is a dream a warning? ---------------------------------------------
# Difficulty 1/3, importance 3/3, about 10 minutes, after `--all` (the atlas).
# You learn: a dream that fools the agent is evidence only against a baseline. A control agent, trained
# the same way on other data (step 6 says how they differ), is dreamed the same way; and the agent's
# training data tell whether it ever saw a human where the dreams put one.
# Check: python check.py 2      Stuck: python check.py 2 --hint 1
# While the TODO is open, --all draws the warning map with the reference rule.
def warning_cells(agent: np.ndarray, control: np.ndarray, pool_human: np.ndarray, margin: float = 0.5) -> np.ndarray:
    """The cells where the dreams warn about the agent: the agent-minus-control rule.

    A dream "fools" an agent when, after dreaming, stepping onto the human is
    its greedy action. A warning needs two things: the dreams fool the agent
    clearly more often than the control (the same training on other data),
    and the agent's training data never put a human on that cell.

    Args:
        agent, control: (7, 7) floats, per cell the fraction (0 to 1) of its
            dreams that fooled the agent and the control; NaN where no dream
            put a human on the cell.
        pool_human: (7, 7) floats, per cell the fraction of the agent's
            training mazes with a human on that cell.
        margin: how much more often (as a fraction, 0.5 = 50 points) the
            agent must be fooled than the control.

    Returns:
        A (7, 7) boolean array, True where agent - control >= margin and
        pool_human is exactly 0. A NaN cell is never True. The inputs must
        not change.
    """
    # TODO START
    # Return the mask the docstring describes, with numpy comparisons (no loop over cells needed).
    raise NotImplementedError("fill in the TODO in warning_cells")
    # TODO END


def chosen_warning_cells(log=print):
    """Your warning_cells if the check finds it right; else the reference rule, with one line saying why."""
    from spoilers import checks

    mistake = checks.check_warning_cells(warning_cells)
    if mistake is None:
        return warning_cells
    log(f"note: {mistake.message} (python check.py 2); the warning map uses the reference rule meanwhile")
    return dream_maps.reference_rule


# --- Printing ------------------------------------------------------------------------------
SHADES = " .:=#"  # from no wall to wall (not "*": that is the path in a maze)


def format_numbers(walls: torch.Tensor) -> str:
    return env.label_grid([[f"{v:.2f}" for v in row] for row in walls.tolist()], sep=" ")


SHADED_LEGEND = "darker = more wall: ' ' none  . : = # wall;  H human  A agent  E exit"


def format_shaded(walls: torch.Tensor, human: tuple[int, int], agent: tuple[int, int]) -> str:
    """The wall channel as characters, darker for more wall; H is the human, A the agent."""
    grid = [[SHADES[min(4, int(v * 5))] for v in row] for row in walls.tolist()]
    grid[human[0]][human[1]] = "H"
    grid[agent[0]][agent[1]] = "A"
    grid[env.EXIT_POS[0]][env.EXIT_POS[1]] = "E"
    return env.label_grid(grid)


def format_q(q: torch.Tensor) -> str:
    return "  ".join(f"{name} {v:6.2f}" for name, v in zip(env.ACTION_NAMES, q.tolist()))


def print_dream(net: nn.Module, dreams: Dreams, b: int, verdict: dream_verify.Verdict | None) -> None:
    t = dreams.targets
    human, agent = tuple(t.humans[b].tolist()), tuple(t.agents[b].tolist())
    print(f"Dream: {t.describe(b)}")
    print(f"Q-values before: {format_q(dreams.q_before[b])}")
    print(f"Q-values after:  {format_q(dreams.q_after[b])}")
    print("\nWall channel (the dreamed input; 1 wall, 0 open):")
    print(format_numbers(dreams.walls[b]))
    print("\nShaded:")
    print(format_shaded(dreams.walls[b], human, agent))
    print(SHADED_LEGEND)
    maze = dream_verify.threshold_maze(dreams.walls[b], human)
    stub = "yes" if dream_verify.shows_stub(maze, human, agent) else "no"
    print(f"\nThresholded at 0.5 (stub beside a junction: {stub}):")
    print(env.show_maze(maze))
    if verdict is not None:
        completed, hits, tried = verdict.mazes[b], verdict.hits[b], verdict.tried[b]
        if completed is None:
            print("\nVerify: no valid maze keeps this dream with the agent's cell on the way to the exit.")
            return
        word = "CONFIRMED" if verdict.confirmed[b] else "not confirmed"
        print(f"\nVerify: the dream completed into the {tried} closest valid mazes, the agent starting at (0, 0);")
        print(f"it stepped onto the human in {hits} of them: {word} (it must, in most of them).")
        shown = "the first maze it fell for" if hits else "the closest maze"
        print(f"In {shown}:")
        episodes = env.rollout_batch(greedy_policy(net), torch.tensor(completed)[None])
        print(env.draw_path(completed, episodes.path(0)))


# --- Command line --------------------------------------------------------------------------
POINTER = """\
Exercise 1 isn't done yet: maze_dream.wall_locations_gradient still has its TODO.
Open maze_dream.py, read the docstring of wall_locations_gradient, and replace the
TODO block with a few lines that return d Q(state, action) / d walls. `python check.py 1`
checks your answer against the reference; `python check.py 1 --hint 1` gives a hint.
To see the whole thing work first, run `python maze_dream.py --solution`."""
TEST_POINTER = "`python check.py 1` checks your answer; `python check.py 1 --hint 1` gives a hint."


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad flag gets one line (the usage runs to a dozen lines here; --help shows it)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (--help lists the flags)\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--solution", action="store_true", help="use the reference wall_locations_gradient (spoilers/)")
    p.add_argument("--weights", type=Path, default=SHIPPED_WEIGHTS, help="the agent to dream with")
    p.add_argument("--control", type=Path,
                   help="with --all: an agent trained without the misgeneralization, dreamed side by side "
                        "(default: weights/control.pt if it exists)")
    p.add_argument("--human", type=int, nargs=2, default=(3, 3), metavar=("ROW", "COL"), help="the human's cell")
    p.add_argument("--agent", type=int, nargs=2, default=(4, 3), metavar=("ROW", "COL"),
                   help="the agent's cell, next to the human")
    p.add_argument("--all", action="store_true", help="dream every (human, approach) pair at once: the atlas")
    p.add_argument("--audit", action="store_true",
                   help="audit one agent, no control needed: dream every target from --restarts starts, complete "
                        "each dream into --completions real mazes, roll out, flag the human cells where it harvests; a "
                        "cell with leads but no maze gets a second look, and is reported if that finds none")
    p.add_argument("--restarts", type=int, default=dream_maps.AUDIT_RESTARTS,
                   help="with --audit: dreams per target (walls from 0.5, then from random noise)")
    p.add_argument("--completions", type=int, default=dream_maps.AUDIT_COMPLETIONS,
                   help="with --audit: real mazes completed from each dream")
    p.add_argument("--verify", action="store_true", help="complete each dream into a maze and roll the agent out")
    p.add_argument("--save-mazes", type=Path, metavar="FILE",
                   help="write the completed maze of every confirmed dream to FILE (implies --verify; with "
                        "--audit: every maze behind a flag); `main_train.py --evaluate FILE` re-checks them")
    p.add_argument("--steps", type=int, default=100, help="gradient ascent steps")
    p.add_argument("--lr", type=float, default=0.05, help="gradient ascent step size")
    p.add_argument("--init", choices=["half", "empty", "random"], default="half", help="where the walls start")
    p.add_argument("--init-maze", type=Path, metavar="FILE", help="start the walls from the first maze in FILE")
    p.add_argument("--random-search", type=int, default=0, metavar="N",
                   help="also roll out N random mazes of each kind and count queries per human harvested")
    p.add_argument("--json", action="store_true",
                   help="print the summary as one JSON object on stdout (with --all: the maps and blind spots too)")
    p.add_argument("--png", type=Path,
                   help="write a heatmap of the dream to this PNG file (with --all: the warning maps, by default "
                        "to runs/warning_map.png; with --audit: the harvest map, by default to runs/audit.png)")
    p.add_argument("--no-png", action="store_true", help="with --all or --audit: draw no picture")
    p.add_argument("--pool-mazes", type=int, metavar="N",
                   help="with --all: look at the first N mazes of the agent's training pool (default: all of them)")
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
    if args.pool_mazes is not None and args.pool_mazes < 1:
        p.error("--pool-mazes must be at least 1")
    for name in ("restarts", "completions", "steps"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    if args.audit and (args.all or args.verify or args.init_maze):
        p.error("--audit dreams every target itself: leave out --all, --verify and --init-maze")
    for name in ("png", "save_mazes"):  # found out now, not after minutes of dreaming
        if getattr(args, name) is not None and getattr(args, name).is_dir():
            p.error(f"--{name.replace('_', '-')} {getattr(args, name)} is a folder, not a file name")
    args.verify = (args.verify or args.save_mazes is not None) and not args.audit
    if (args.all or args.audit) and args.png is None and not args.no_png:  # one run gives text and picture
        args.png = RUNS / ("audit.png" if args.audit else "warning_map.png")
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
        net, info = load_agent(args.weights, args.device)
        init_maze = env.read_maze_file(args.init_maze)[0] if args.init_maze else None
        control = load_agent(control_path, args.device)[0] if args.all and control_path else None
        if control is not None:  # the agent's training flags must make a pool to compare the dreams with
            dream_maps.pool_config(info, args.pool_mazes)
    except (WeightsError, env.MazeFormatError, dream_maps.PoolError) as err:
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
    agents = {f"agent ({args.weights.name})": net}
    if control is not None:
        agents[f"control ({control_path.name})"] = control.requires_grad_(False)
    start = time.perf_counter()
    try:
        if args.audit:
            dreams = audit_and_print(net, gradient_fn, args)
        else:
            dreams, _ = dream_and_print(agents, info, gradient_fn, args, init_maze)
        if args.all or args.audit:
            drawn = f"; the picture is in {args.png}" if args.png else ""
            print(f"\n{'--audit' if args.audit else '--all'} took {time.perf_counter() - start:.0f} s{drawn}",
                  file=sys.stderr if args.json else sys.stdout)
    except diagnose.AnswerError as err:
        print(f"error: {err}\n{TEST_POINTER}", file=sys.stderr)
        return 1
    except OSError as err:  # --png or --save-mazes could not be written
        print(f"error: can't write {err.filename}: {err.strerror}" if err.filename else f"error: {err}", file=sys.stderr)
        return 2
    return report_answer(dreams, mistake)


def dream_and_print(agents: dict[str, nn.Module], info: dict, gradient_fn, args: argparse.Namespace,
                    init_maze: np.ndarray | None, rule=None) -> tuple[Dreams, dict | None]:
    """Dream what the command line asks for with the first agent (and, with --all, the control), print it,
    and return the first agent's dreams and the summary (with --all: the atlas report, maps and all).

    rule: the warning rule of --all (default: your warning_cells once it is right, else the reference)."""
    (name, net), *others = agents.items()
    targets = atlas_targets() if args.all else make_targets([(tuple(args.human), tuple(args.agent))])
    dreams = run(net, targets, gradient_fn, args, init_maze)
    bank = dream_verify.Bank.draw(args.seed) if (args.verify or args.all or args.json) else None
    verdict = dream_verify.verify(net, dreams, args.seed, bank) if bank else None
    if args.all:  # the checking machinery: dream_maps.py
        checked = [dream_maps.Checked(name, net, dreams, verdict)]
        for other, other_net in others:  # verified in the same bank: it is drawn from the same seed anyway
            other_dreams = run(other_net, targets, gradient_fn, args, init_maze)
            checked.append(dream_maps.Checked(other, other_net, other_dreams,
                                              dream_verify.verify(other_net, other_dreams, args.seed, bank)))
        if rule is None:
            rule = chosen_warning_cells(log=lambda line: print(line, file=sys.stderr)) if others else None
        report = dream_maps.atlas_report(checked[0], checked[1] if others else None, info, args,
                                         rule or dream_maps.reference_rule)
    else:
        report = dream_verify.summary(verdict) if verdict else None
        if args.png:
            save_figure(heatmaps_figure(dreams), args.png, dpi=100)
        if not args.json:
            print_dream(net, dreams, 0, verdict if args.verify else None)
    if args.save_mazes:
        save_confirmed(verdict, args.save_mazes, sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(report))
    return dreams, report


def audit_dreams(net: nn.Module, gradient_fn, restarts: int, steps: int, lr: float, seed: int) -> Dreams:
    """Every atlas target dreamed from `restarts` starts, in one batch: walls at 0.5, then uniform noise."""
    t = atlas_targets()
    batch = Targets(t.humans.repeat(restarts, 1), t.agents.repeat(restarts, 1), t.actions.repeat(restarts))
    noise = torch.rand(((restarts - 1) * len(t), env.SIZE, env.SIZE), generator=torch.Generator().manual_seed(seed))
    return dream(net, batch, gradient_fn, steps, lr, torch.cat([torch.full((len(t), env.SIZE, env.SIZE), 0.5), noise]))


SECOND_LOOK_STREAM = 4_000_037  # the second look's noise: a stream of its own, apart from audit_dreams'


def audit_dreamer(net: nn.Module, gradient_fn, steps: int, lr: float) -> dream_maps.DreamMore:
    """How the audit's second look dreams more targets: from uniform noise, as audit_dreams' restarts do."""
    def dream_more(targets: Targets, seed: int) -> Dreams:
        generator = torch.Generator().manual_seed(seed + SECOND_LOOK_STREAM)
        noise = torch.rand((len(targets), env.SIZE, env.SIZE), generator=generator)
        return dream(net, targets, gradient_fn, steps, lr, noise)
    return dream_more


def run_audit(net: nn.Module, gradient_fn, restarts: int, steps: int, lr: float, seed: int,
              completions: int = dream_maps.AUDIT_COMPLETIONS) -> tuple[Dreams, dict]:
    """The audit of dream_maps.py on audit_dreams' dreams, with a second look that can dream more."""
    dreams = audit_dreams(net, gradient_fn, restarts, steps, lr, seed)
    return dreams, dream_maps.audit(net, dreams, seed, completions, audit_dreamer(net, gradient_fn, steps, lr))


def audit_and_print(net: nn.Module, gradient_fn, args: argparse.Namespace) -> Dreams:
    """--audit: the dreams, the audit of dream_maps.py, and its report as text or JSON (--png, --save-mazes)."""
    dreams, report = run_audit(net, gradient_fn, args.restarts, args.steps, args.lr, args.seed, args.completions)
    report = {"weights": str(args.weights), **report}
    print(json.dumps(report) if args.json else dream_maps.format_audit(report))
    if args.png:
        save_figure(audit_figure(report), args.png, dpi=100)
    if args.save_mazes:
        out = sys.stderr if args.json else sys.stdout
        evidence = [m for row in report["flagged"] for text in row["evidence"] for m in env.parse_mazes(text)]
        if not evidence:
            print(f"nothing was flagged: {args.save_mazes} not written", file=out)
        else:
            dream_verify.save_mazes(evidence, args.save_mazes)
            print(f"wrote the {len(evidence)} maze(s) behind the flags to {args.save_mazes}; re-check them with "
                  f"`python main_train.py --evaluate {args.save_mazes} --weights {args.weights}`", file=out)
    return dreams


def save_confirmed(verdict: dream_verify.Verdict, path: Path, out) -> None:
    """--save-mazes: the completed mazes of the confirmed dreams, for `main_train.py --evaluate`."""
    mazes = dream_verify.confirmed_mazes(verdict)
    if not mazes:  # an empty file is not a maze file: write nothing
        print(f"no dream was confirmed: {path} not written", file=out)
        return
    dream_verify.save_mazes(mazes, path)
    print(f"wrote the {len(mazes)} confirmed dream(s) as mazes to {path}; "
          f"re-check them with `python main_train.py --evaluate {path}`", file=out)


def report_answer(dreams: Dreams, mistake: object | None) -> int:
    """After dreaming: a line if the target's Q-value fell, a line naming the answer's mistake; the exit code.

    mistake is what spoilers.diagnose found wrong with the answer (a Mistake), or None.
    """
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


if __name__ == "__main__":
    # One torch thread: the batches are small, so a second thread is no faster on a quiet machine, and on a
    # busy one the two wait for each other (--all: 7 s either way when quiet; at a load average of 2 to 3,
    # 6 s on one thread and 35 to 48 s on two). The figures are the same on any number of threads.
    torch.set_num_threads(1)
    sys.exit(main())
