"""SPOILERS: the reference answers to the three exercises.

1. wall_locations_gradient (maze_dream.py); `python maze_dream.py --solution` runs it.
2. warning_cells (maze_dream.py): the agent-minus-control rule of the warning map.
3. unit_gradient (maze_dream_more.py): dreaming a neuron.

Each function is the exercise's function with the TODO block filled in; a
test checks that the two stay the same outside that block.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from model import channels_to_input, hidden_activations


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
    return (agent - control >= margin - 1e-9) & (pool_human == 0)  # NaN compares False: no dreams, no warning
    # TODO END


def unit_gradient(
    net: nn.Sequential,
    layer: int,
    units: torch.Tensor,
    walls: torch.Tensor,
    crops: torch.Tensor,
    humans: torch.Tensor,
    exits: torch.Tensor,
    position: torch.Tensor,
) -> torch.Tensor:
    """The gradient of one hidden unit's activation with respect to the wall channel.

    wall_locations_gradient with a neuron instead of a Q-value: dream b
    raises the activation of unit units[b] of hidden layer `layer`, after
    its LeakyReLU (`hidden_activations(net, layer, x)` gives that layer's
    activations, (B, width)).

    Args:
        net: the trained Q-network. Don't change its weights.
        layer: which hidden layer, 1 for the first.
        units: (B,) long, the unit of that layer each dream raises.
        walls: (B, 7, 7) floats in [0, 1]; crops, humans, exits: (B, 7, 7).
        position: (B, 2) long, the agent's (row, column) in each dream.

    Returns:
        A (B, 7, 7) tensor whose entry [b, r, c] is
        d activation_b(units[b]) / d walls[b, r, c]. The caller's `walls` must
        not change, and each call starts from a fresh gradient.
    """
    # TODO START
    walls = walls.detach().clone().requires_grad_()
    x = channels_to_input(walls, crops, humans, exits, position)
    act = hidden_activations(net, layer, x)[torch.arange(len(units)), units]
    (gradient,) = torch.autograd.grad(act.sum(), walls)
    return gradient
    # TODO END

