"""What a dream is about, and what it gives back: the types that maze_dream.py and the checks share.

A target is a human's cell, the agent's cell beside it, and the action that
steps from the agent onto the human. A dream holds everything in the
network's input fixed except the wall channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

import maze_env as env


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


@dataclass
class Dreams:
    """What maze_dream.dream gives back for a batch of targets."""

    targets: Targets
    walls: torch.Tensor  # (B, 7, 7) the dreamed wall channel
    q_before: torch.Tensor  # (B, 4) Q-values of the agent's cell before dreaming
    q_after: torch.Tensor  # (B, 4) ... and after
