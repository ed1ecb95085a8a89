"""From a dream to a real maze, and whether the agent falls for it.

A dream is a wall channel of numbers between 0 and 1. To test it on the
agent we need a maze it could meet: `complete_maze` picks, from a bank of
training mazes, the one closest to the dream around the human and the
agent, puts the human in, and `verify` rolls the agent out from (0, 0).
maze_dream.py --verify prints the result; dream_maps.py builds the warning
map on top of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

import maze_env as env
from atomic_write import write_atomically
from dream_targets import Dreams
from model import greedy_policy


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
    passes = passing_mazes(bank, human, agent)
    if not passes.any():
        return None
    best = int(np.argmax(np.where(passes, score, -np.inf)))
    maze = bank[best].copy()
    maze[agent] = env.EMPTY
    maze[human] = env.HUMAN
    return maze


def passing_mazes(bank: np.ndarray, human: tuple[int, int], agent: tuple[int, int]) -> np.ndarray:
    """(N,) bool: the bank mazes where, with the agent's cell opened and the human put in, a shortest way from
    the start to the exit passes the agent's cell without going through the human."""
    open_ = torch.tensor(bank != env.WALL)
    open_[:, agent[0], agent[1]] = True
    open_[:, human[0], human[1]] = False
    from_start, from_exit = distances(open_, env.START), distances(open_, env.EXIT_POS)
    length = from_start[:, env.EXIT_POS[0], env.EXIT_POS[1]]
    return ((from_start[:, agent[0], agent[1]] + from_exit[:, agent[0], agent[1]] == length)
            & (length < UNREACHED)).numpy()


def complete_mazes(
    walls: torch.Tensor, human: tuple[int, int], agent: tuple[int, int], bank: np.ndarray, k: int,
    rng: np.random.Generator, passes: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Up to k mazes per dream for a batch of dreams (D, 7, 7) of one target: complete_maze's k best picks.

    The bank mazes that agree best with each dream around the target, among
    those that pass it (passing_mazes, computed once per target). Fewer than
    k when the bank has fewer such mazes.
    """
    keep = neighbourhood([human, agent])
    keep[human] = keep[agent] = False
    w = walls.numpy()[:, keep]  # (D, cells)
    agree = (bank[None, :, keep] == env.WALL) == (w[:, None] > 0.5)  # (D, N, cells)
    score = (agree * np.abs(w[:, None] - 0.5)).sum(axis=2) + 1e-3 * rng.random((len(w), len(bank)))
    passes = passing_mazes(bank, human, agent) if passes is None else passes
    score[:, ~passes] = -np.inf
    mazes = []
    for row in score:
        for best in np.argsort(-row, kind="stable")[: min(k, int(passes.sum()))]:
            maze = bank[best].copy()
            maze[agent] = env.EMPTY
            maze[human] = env.HUMAN
            mazes.append(maze)
    return mazes


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
    return np.stack([env.make_plain_maze(rng) for _ in range(n)])


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
    text = "\n\n".join(env.format_maze(m) for m in mazes) + "\n"
    write_atomically(path, lambda f: f.write(text.encode()))
