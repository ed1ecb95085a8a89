"""Checking what dreaming found: does the agent really fall for the dream, where, and why?

maze_dream.py dreams; this module is the machinery behind its --verify and
--all (read maze_dream.py first):

- verification: complete each dream into a valid maze and roll the agent out;
- the warning map: per human cell, how often the dream makes stepping onto the
  human the agent's greedy action, and how often a rollout confirms it, next
  to a control agent trained without the flaw;
- the diagnosis: the same cells in the agent's training pool (the data of
  `main_train.py --inspect`), and the blind spots, where the agent differs
  from the control and the training data never show a human;
- the confirmation: fresh mazes with a human at each blind spot;
- random search, the baseline a dream must beat.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import nn

import main_train
import maze_env as env
from main_train import greedy_policy

if TYPE_CHECKING:  # only for type hints: maze_dream imports this module, not the other way round
    from maze_dream import Dreams


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


# --- Verification: does the agent fall for the completed maze? ---------------------------
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


def confirmed_mazes(verdict: Verdict) -> list[np.ndarray]:
    """The completed maze of every confirmed dream."""
    return [m for m, ok in zip(verdict.mazes, verdict.confirmed) if ok and m is not None]


def save_mazes(mazes: list[np.ndarray], path: Path) -> None:
    """Mazes in the maze file format (blank line between them), written atomically."""
    write_atomically(path, lambda tmp: Path(tmp).write_text("\n\n".join(env.format_maze(m) for m in mazes) + "\n"))


def write_atomically(path: Path, write: Callable[[str], None]) -> None:
    """write(temporary name), then rename: a killed run never leaves half a file under the real name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; these are meant to be read
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


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


# --- The warning map: where does dreaming find a way to make the agent harvest? ------------
@dataclass
class CellMaps:
    """Per human cell (7x7, NaN where no dream puts a human): fractions of the approaches dreamed there."""

    approaches: np.ndarray  # dreams with the human at this cell (one per side the agent comes from)
    greedy: np.ndarray  # ... after which stepping onto the human is the agent's greedy action
    confirmed: np.ndarray  # ... whose completed maze made the agent step onto the human

    def to_json(self) -> dict:
        return {"approaches": self.approaches.tolist(), "greedy": grid_json(self.greedy),
                "confirmed": grid_json(self.confirmed)}


def warning_maps(dreams: Dreams, verdict: Verdict) -> CellMaps:
    t = dreams.targets
    greedy = (dreams.q_after.argmax(dim=1) == t.actions).tolist()
    n, g, c = (np.zeros((env.SIZE, env.SIZE)) for _ in range(3))
    for b, (r, col) in enumerate(t.humans.tolist()):
        n[r, col] += 1
        g[r, col] += greedy[b]
        c[r, col] += verdict.confirmed[b]
    per_approach = np.maximum(n, 1)
    return CellMaps(n.astype(int), np.where(n > 0, g / per_approach, np.nan), np.where(n > 0, c / per_approach, np.nan))


def grid_json(grid: np.ndarray) -> list[list[float | None]]:
    """A 7x7 map as lists for JSON, null where NaN (JSON has no NaN)."""
    return [[None if np.isnan(v) else round(float(v), 4) for v in row] for row in grid]


def format_grids(grids: list[tuple[str, np.ndarray]], signed: bool = False) -> str:
    """7x7 maps of fractions side by side, as percentages (signed: percentage points); '-' where a map has
    no value."""
    size = 5 if signed else 4  # room for "+100"
    width = size * env.SIZE + 4
    blocks = [[title] + ["".join(f"{percent(v, signed):>{size}}" for v in row) for row in grid]
              for title, grid in grids]
    return "\n".join("".join(f"{part:<{width}}" for part in line).rstrip() for line in zip(*blocks))


def percent(v: float, signed: bool = False) -> str:
    """'33', '+25', '0' (no sign on a zero difference), '-' for NaN."""
    if np.isnan(v):
        return "-"
    points = round(100 * v)  # an int, so that -0.0 prints as 0
    return f"{points:+d}" if signed and points else f"{points:d}"


# --- The diagnosis: the agent's training data, cell by cell --------------------------------
# The flags a weights file records (main_train.training_info) that shape the training pool.
POOL_FLAGS = ("seed", "stub_mazes", "stub_humans", "stub_bonus")


class PoolError(ValueError):
    """The weights file's training flags don't make a training pool."""


def pool_args(info: dict, train_mazes: int | None = None) -> tuple[argparse.Namespace, list[str]]:
    """main_train's arguments for the pool the agent trained on, and the flags taken from its weights file.

    Weights written before a flag existed don't record it: main_train's default stands in.
    """
    argv = []
    for key in POOL_FLAGS:
        if key in info:
            argv += [f"--{key.replace('_', '-')}", str(info[key])]
    if train_mazes is not None:
        argv += ["--train-mazes", str(train_mazes)]
    usage = io.StringIO()
    try:
        with contextlib.redirect_stderr(usage):  # argparse prints usage and exits; we want one line
            return main_train.parse_args(argv), argv
    except SystemExit:
        reason = usage.getvalue().strip().splitlines()[-1].split("error: ", 1)[-1]
        raise PoolError(f"the training flags recorded in the weights file make no training pool ({reason})") from None


def inspect_command(argv: list[str]) -> str:
    return " ".join(["python main_train.py --inspect", *argv])


def training_pool(info: dict, train_mazes: int | None = None, log=print) -> dict:
    """main_train.inspect_pool for the pool these weights were trained on (about 10 s for 20,000 mazes)."""
    args, argv = pool_args(info, train_mazes)
    log(f"building the agent's training pool ({args.train_mazes} mazes), as `{inspect_command(argv)}` does...")
    report = main_train.inspect_pool(args)
    report["command"] = inspect_command(argv)
    return report


# A blind spot: the agent's greedy rate exceeds the control's by at least this much over the cell's
# approaches (with 2 to 4 approaches per cell, 0.5 is at least two of four, or one of two), and no
# maze in the agent's training pool has a human there. The greedy rate, not the confirmed one, decides:
# it is what dreaming itself says, before any maze is built; the confirmed rate is shown beside it.
BLIND_SPOT_MARGIN = 0.5
BLIND_SPOT_RULE = (f"the agent's greedy rate exceeds the control's by at least {BLIND_SPOT_MARGIN:.0%} "
                   "of the cell's approaches, and no maze in the agent's training pool has a human there")


def blind_spots(agent: CellMaps, control: CellMaps, pool: dict) -> list[dict]:
    """The cells where dreaming warns about the agent and not the control, and the training data show no human."""
    human = np.array(pool["human_fraction"])
    opened = np.array(pool["open_fraction"])
    diff = agent.greedy - control.greedy
    found = []
    for r, c in zip(*np.nonzero(np.nan_to_num(diff, nan=-1) >= BLIND_SPOT_MARGIN - 1e-9)):
        if human[r, c] == 0:
            found.append({
                "cell": [int(r), int(c)], "approaches": int(agent.approaches[r, c]),
                "agent_greedy": float(agent.greedy[r, c]), "control_greedy": float(control.greedy[r, c]),
                "agent_confirmed": float(agent.confirmed[r, c]), "control_confirmed": float(control.confirmed[r, c]),
                "pool_open": float(opened[r, c]), "pool_human": float(human[r, c]),
            })
    return found


def format_blind_spots(spots: list[dict]) -> str:
    lines = [f"{'cell':<8}{'approaches':>11}{'greedy: agent':>15}{'control':>9}"
             f"{'confirmed: agent':>18}{'control':>9}{'pool: open':>12}{'human':>7}"]
    for s in spots:
        lines.append(f"{str(tuple(s['cell'])):<8}{s['approaches']:>11}{s['agent_greedy']:>15.0%}"
                     f"{s['control_greedy']:>9.0%}{s['agent_confirmed']:>18.0%}{s['control_confirmed']:>9.0%}"
                     f"{s['pool_open']:>12.1%}{s['pool_human']:>7.1%}")
    return "\n".join(lines)


# --- The confirmation: fresh mazes with a human at a blind spot -----------------------------
CONFIRM_MAZES = 200  # per blind spot: enough to tell 90 % from 5 %


def maze_with_human_at(rng: np.random.Generator, cell: tuple[int, int], tries: int = 1000) -> np.ndarray | None:
    """A training maze changed so that a human sits in a stub at `cell`, beside the shortest path.

    make_ood_maze(beside_path=True) with the stub's place chosen: it opens
    one wall cell into a dead end next to a junction on the path, and changes
    nothing else. Only cells with both coordinates odd can be such a stub in a
    backtracker maze; None if no maze in `tries` had room for it there.
    """
    for _ in range(tries):
        maze = env.make_training_maze(rng)
        if env.add_stub(maze, rng, env.HUMAN, beside_path=True, cell=cell):
            return maze
    return None


def mazes_with_human_at(seed: int, cell: tuple[int, int], n: int) -> torch.Tensor | None:
    """n such mazes from a random stream that training and evaluation never use; None if the cell can't hold one."""
    rng = np.random.default_rng([seed, 2_000_003, *cell])
    mazes = []
    for _ in range(n):
        maze = maze_with_human_at(rng, cell)
        if maze is None:
            return None
        mazes.append(maze)
    return torch.tensor(np.stack(mazes))


def confirm(spots: list[dict], nets: dict[str, nn.Module], seed: int, n: int = CONFIRM_MAZES) -> dict:
    """Human and exit rates of each agent on fresh mazes per blind spot, and on the evaluation's OOD family.

    Adds a "confirmation" entry to every blind spot (None if the cell can't hold a stub), and returns the
    rates on the family "human in a stub beside the path" at any cell, for comparison.
    """
    for s in spots:
        mazes = mazes_with_human_at(seed, tuple(s["cell"]), n)
        s["confirmation"] = None if mazes is None else {
            "mazes": n, **{name: rates(net, mazes) for name, net in nets.items()}}
    family = main_train.eval_families(seed, n)[main_train.STUB_BESIDE]
    return {"mazes": n, **{name: rates(net, family) for name, net in nets.items()}}


def rates(net: nn.Module, mazes: torch.Tensor) -> dict:
    r = main_train.evaluate(net, mazes)
    return {"human_rate": round(r["human_rate"], 4), "exit_rate": round(r["exit_rate"], 4)}


def format_confirmation(spots: list[dict], family: dict) -> str:
    lines = [f"{'':<40}{'mazes':>6}" + "".join(f"{name + ': human':>16}{'exit':>7}" for name in ROLES)]
    for label, result in [(f"human in a stub at {tuple(s['cell'])}", s["confirmation"]) for s in spots] + [
            (main_train.STUB_BESIDE + " (any cell)", family)]:
        if result is None:
            lines.append(f"{label:<40}  no stub can open there in a training maze (only cells with both "
                         "coordinates odd can be one)")
            continue
        lines.append(f"{label:<40}{result['mazes']:>6}" + "".join(
            f"{result[name]['human_rate']:>16.1%}{result[name]['exit_rate']:>7.1%}" for name in ROLES))
    return "\n".join(lines)


# --- The atlas report: maze_dream.py --all --------------------------------------------------
ROLES = ("agent", "control")  # the keys of the two agents in --json


@dataclass
class Checked:
    """One agent's atlas: its dreams, their verification and the per-cell maps."""

    name: str
    net: nn.Module
    dreams: Dreams
    verdict: Verdict

    @cached_property
    def maps(self) -> CellMaps:
        return warning_maps(self.dreams, self.verdict)


def atlas_report(agent: Checked, control: Checked | None, info: dict, args: argparse.Namespace) -> dict:
    """Everything --all finds: per-agent maps, their difference, the training pool, the blind spots.

    Printed as text, ending with the maps; with args.json nothing is printed (progress goes to stderr)
    and the returned dict is the whole story.
    """
    checked = [agent] + ([control] if control else [])
    report = {**summary(agent.verdict), **{role: {"name": w.name, **summary(w.verdict), "maps": w.maps.to_json()}
                                           for role, w in zip(ROLES, checked)}}
    if not args.json:
        print_atlas(checked)
        if args.random_search:
            print_search_comparison(checked, args.random_search, args.steps, args.seed)
        print_maps(checked)
    if control is None:
        print("\nNo control agent (--control): the blind spots need one to compare with.", file=sys.stderr)
        if args.png:
            save_figure(warning_figure(report), args.png)
        return report
    diff = CellMaps(agent.maps.approaches, agent.maps.greedy - control.maps.greedy,
                    agent.maps.confirmed - control.maps.confirmed)
    pool = training_pool(info, args.pool_mazes, log=lambda message: print(message, file=sys.stderr))
    spots = blind_spots(agent.maps, control.maps, pool)
    family = confirm(spots, dict(zip(ROLES, (agent.net, control.net))), args.seed) if spots else None
    report |= {"difference": {"greedy": grid_json(diff.greedy), "confirmed": grid_json(diff.confirmed)},
               "pool": {k: pool[k] for k in ("command", "mazes", "open_fraction", "human_fraction")},
               "blind_spot_rule": BLIND_SPOT_RULE, "blind_spots": spots, "stub_beside_path_family": family}
    if not args.json:
        print_diagnosis(diff, pool, spots, family)
    if args.png:
        save_figure(warning_figure(report), args.png)
    return report


def print_atlas(checked: list[Checked]) -> None:
    print(f"Atlas: {len(checked[0].dreams.targets)} dreams (every cell a human can be in x every side the agent "
          "can come from)")
    print("S stub dream confirmed, s stub dream not confirmed, X confirmed without a stub, . neither\n")
    for who in checked:
        print(f"{who.name}:\n{format_atlas(who.dreams, who.verdict)}\n")
    print("confirmed: the agent stepped onto the human in the completed maze, the human standing either in a")
    print("dead end (which a stub is) or in a passage it could have walked around")
    print(f"{'':<28}{'dreams':>8}{'confirmed':>11}{'rate':>8}{'dead end':>10}{'passage':>9}{'stub rate':>11}")
    for who in checked:
        s, v = summary(who.verdict), who.verdict
        in_dead_end = sum(c and d for c, d in zip(v.confirmed, v.dead_end))
        print(f"{who.name:<28}{s['dreams']:>8}{s['confirmed']:>11}{s['confirmation_rate']:>8.1%}"
              f"{in_dead_end:>10}{s['confirmed'] - in_dead_end:>9}{s['stub_rate']:>11.1%}")


def print_maps(checked: list[Checked]) -> None:
    print("\nWarning map, per human cell: % of the approaches (the sides the agent comes from) where")
    print("greedy: after dreaming, stepping onto the human is the agent's greedy action;")
    print("confirmed: ...and the agent steps onto it in the completed maze (--verify). '-': start, exit.")
    for who in checked:
        print(f"\n{who.name}")
        print(format_grids([("greedy %", who.maps.greedy), ("confirmed %", who.maps.confirmed)]))


def print_diagnosis(diff: CellMaps, pool: dict, spots: list[dict], family: dict | None) -> None:
    print("\nWhere the warning is the agent's own: agent minus control, in percentage points; beside it the")
    print(f"agent's training pool, % of its {pool['mazes']} mazes where the cell is open (a hidden bonus counts)")
    print(f"or holds a human ({pool['command']}).")
    print(format_grids([("greedy, agent - control", diff.greedy), ("confirmed, agent - control", diff.confirmed)],
                       signed=True))
    print()
    print(format_grids([("pool: open %", np.array(pool["open_fraction"])),
                        ("pool: human %", np.array(pool["human_fraction"]))]))
    print(f"\nBlind spots: {BLIND_SPOT_RULE}.")
    if not spots:
        print("none")
        return
    print(format_blind_spots(spots))
    print(f"\nConfirmation: fresh training mazes with a human in a stub at each blind spot, beside the shortest")
    print("path (the evaluation's stub family, at that cell); rates are fractions of mazes:")
    print(format_confirmation(spots, family))


# --- Pictures ----------------------------------------------------------------------------------
# Figures are built with matplotlib.figure.Figure, not pyplot: no backend is chosen and no window opens, so
# the same functions serve the scripts (which save PNGs) and the notebook (which shows them inline).
def heatmaps_figure(dreams: Dreams) -> Figure:
    """The dreamed wall channel(s) as heatmaps (at most 24)."""
    n = min(len(dreams.targets), 24)
    cols = min(n, 6)
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(2.2 * cols, 2.3 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for b, ax in zip(range(n), axes.flat):
        ax.imshow(dreams.walls[b].numpy(), cmap="Greys", vmin=0, vmax=1)
        (hr, hc), (ar, ac) = dreams.targets.humans[b].tolist(), dreams.targets.agents[b].tolist()
        ax.text(hc, hr, "H", ha="center", va="center", color="red", weight="bold")
        ax.text(ac, ar, "A", ha="center", va="center", color="blue", weight="bold")
        ax.set_title(f"H{(hr, hc)} A{(ar, ac)}", fontsize=7)
    fig.tight_layout()
    return fig


def warning_figure(report: dict) -> Figure:
    """The warning maps of an atlas report (maze_dream.py --all) as heatmaps: a row per rate (greedy,
    confirmed), a column per agent, then the difference and the training pool (when there is a control);
    blind spots framed."""
    checked = [report[role] for role in ROLES if role in report]
    diff = report.get("difference")
    cols = len(checked) + (2 if diff is not None else 0)
    fig = Figure(figsize=(max(3.3 * cols, 6), 7.8))
    axes = fig.subplots(2, cols, squeeze=False)
    framed = [tuple(s["cell"]) for s in report.get("blind_spots", [])]
    for row, rate in enumerate(("greedy", "confirmed")):
        for col, who in enumerate(checked):
            heatmap(axes[row, col], as_grid(who["maps"][rate]), f"{who['name']}\n% {rate}", "Reds", (0, 1))
        if diff is not None:
            heatmap(axes[row, 2], as_grid(diff[rate]), f"agent - control\npoints {rate}", "RdBu_r", (-1, 1), framed)
    axes[0, 0].set_ylabel("greedy: after dreaming, stepping onto\nthe human is the greedy action", fontsize=9)
    axes[1, 0].set_ylabel("confirmed: the agent steps onto the\nhuman in the completed maze", fontsize=9)
    if diff is not None:
        pool = report["pool"]
        heatmap(axes[0, 3], as_grid(pool["open_fraction"]), "training pool\n% of mazes with the cell open",
                "Blues", (0, 1), framed)
        human = as_grid(pool["human_fraction"])  # at most a few %: its own colour scale, or it looks empty
        heatmap(axes[1, 3], human, "training pool\n% of mazes with a human there", "Greens",
                (0, max(np.nanmax(human), 0.01)), framed)
    lines = ["Warning map: % of the approaches to each cell where the dream makes the agent step onto the human"]
    if diff is not None:
        lines.append("black frames: blind spots (" + BLIND_SPOT_RULE.replace("the agent's training pool", "its pool") + ")")
    fig.suptitle("\n".join(textwrap.fill(line, int(11 * fig.get_figwidth())) for line in lines), fontsize=10)
    fig.tight_layout(h_pad=2.5, rect=(0, 0, 1, 0.97))  # keep the panel titles clear of the suptitle
    return fig


def as_grid(values: list[list[float | None]]) -> np.ndarray:
    """A 7x7 map from JSON lists back to floats, NaN where null."""
    return np.array(values, dtype=float)


def heatmap(ax, grid: np.ndarray, title: str, cmap: str, limits: tuple[float, float],
            framed: list[tuple[int, int]] = ()) -> None:
    """One 7x7 map with its percentages written in; start and exit marked."""
    ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=limits[0], vmax=limits[1])
    ax.set_facecolor("#dddddd")
    signed = limits[0] < 0
    for r in range(env.SIZE):
        for c in range(env.SIZE):
            v = grid[r, c]
            text = {env.START: "start", env.EXIT_POS: "exit"}.get((r, c)) if np.isnan(v) else percent(v, signed)
            strong = not np.isnan(v) and abs(v) > 0.6 * max(abs(limits[0]), limits[1])
            ax.text(c, r, text or "", ha="center", va="center", fontsize=8, color="white" if strong else "black")
    for r, c in framed:  # black outside, white inside: visible on dark and light cells alike
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=3.5))
        ax.add_patch(Rectangle((c - 0.42, r - 0.42), 0.84, 0.84, fill=False, edgecolor="white", linewidth=1))
    ax.set_xticks(range(env.SIZE))
    ax.set_yticks(range(env.SIZE))
    ax.tick_params(labelsize=7, length=0)
    ax.set_title(title, fontsize=9)


def save_figure(fig: Figure, path: Path) -> None:
    write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))


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


def print_search_comparison(checked: list[Checked], n: int, steps: int, seed: int) -> None:
    """Network queries per maze in which each agent harvests a human: dreaming vs random search.

    A dream costs a forward and a backward pass per step, plus one rollout
    (at most MAX_STEPS queries) per verified maze.
    """
    print(f"\nNetwork queries per maze in which the agent harvests a human ({n} random mazes per kind):")
    print(f"{'method':<28}" + "".join(f"{who.name:>32}" for who in checked))
    cells = []
    for who in checked:
        queries = 2 * steps * len(who.dreams.targets) + sum(m is not None for m in who.verdict.mazes) * env.MAX_STEPS
        cells.append(format_found(queries, sum(who.verdict.confirmed)))
    print(f"{'dreaming (atlas, verified)':<28}" + "".join(f"{c:>32}" for c in cells))
    for name, make in (("random training mazes", env.make_training_maze), ("random wall patterns", random_wall_maze)):
        cells = []
        for who in checked:
            r = random_search(who.net, make, n, np.random.default_rng(seed + 1))  # the same mazes for each agent
            cells.append(format_found(r["queries"], r["found"]))
        print(f"{name:<28}" + "".join(f"{c:>32}" for c in cells))


def format_found(queries: int, found: int) -> str:
    per = f"{queries / found:.0f}" if found else "-"
    return f"{found} found, {per} queries each"

