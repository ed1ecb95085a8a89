"""SPOILERS: the reference answer to the exercise in maze_dream.py.

`python maze_dream.py --solution` runs it. The function is the exercise's
function with the TODO block filled in; a test checks that the two stay the
same outside that block.
"""

from __future__ import annotations

import torch
from torch import nn

from model import channels_to_input


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
    walls = walls.detach().clone().requires_grad_()  # a fresh leaf: no gradient carried over
    x = channels_to_input(walls, crops, humans, exits, position)
    q = net(x)[torch.arange(len(action)), action]
    (gradient,) = torch.autograd.grad(q.sum(), walls)
    return gradient
    # TODO END
