"""The weight map: where the first layer never learned to read a human.

The cheapest white-box look at an agent. The first layer's weights that read
the human channel form a 7x7 map: one column of 256 weights per cell. A
column only moves away from its random start when training shows a human in
that cell, so its size (the norm) says whether the training data ever put a
human there. No dream and no rollout: three lines of tensor code.

    python weight_map.py                          # the shipped agent
    python weight_map.py --weights weights/control.pt --png runs/weight_map.png

What it shows is where the data never put a human. What it does not show is
whether the agent would step onto one there: compare it with `maze_dream.py
--audit`.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from torch import nn

import maze_env as env
from model import SHIPPED_WEIGHTS, WeightsError, load_agent

CELLS = env.SIZE * env.SIZE
HUMANS = slice(2 * CELLS, 3 * CELLS)  # the human channel's 49 inputs (model.channels_to_input: walls, crops, humans, ...)


def first_layer(net: nn.Module) -> nn.Linear:
    return next(m for m in net.modules() if isinstance(m, nn.Linear))


def human_weight_norms(net: nn.Module) -> np.ndarray:
    """Per cell, the norm of the first layer's weights that read a human there: (7, 7)."""
    return first_layer(net).weight.detach()[:, HUMANS].norm(dim=0).reshape(env.SIZE, env.SIZE).cpu().numpy()


def initial_norm(net: nn.Module) -> float:
    """The norm a column starts with: nn.Linear draws weights from U(-1/sqrt(in), 1/sqrt(in))."""
    first = first_layer(net)
    return math.sqrt(first.out_features / (3 * first.in_features))


def untrained_cells(net: nn.Module) -> list[tuple[int, int]]:
    """Cells whose human column is still no bigger than it started: training never showed a human there."""
    norms, start = human_weight_norms(net), initial_norm(net)
    return [(int(r), int(c)) for r, c in zip(*np.nonzero(norms <= start))]


def format_weight_map(net: nn.Module) -> str:
    norms, start = human_weight_norms(net), initial_norm(net)
    grid = [[f"{v:.2f}" + ("*" if v <= start else " ") for v in row] for row in norms]
    return (env.label_grid(grid, sep=" ") + f"\n* no bigger than at the start ({start:.2f}): "
            "no training maze showed a human there")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, default=SHIPPED_WEIGHTS, help="the agent to look at")
    p.add_argument("--png", type=Path, help="also draw the map to this PNG")
    p.add_argument("--seed", type=int, default=0, help="unused (nothing here is random); every script takes one")
    args = p.parse_args(argv)
    try:
        net, _ = load_agent(args.weights)
    except WeightsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{args.weights}: norm of the first layer's weights that read a human, per cell")
    print(format_weight_map(net))
    cells = untrained_cells(net)
    interesting = [c for c in cells if c in env.STUB_CELLS or c in env.DEAD_END_CELLS]
    print(f"\n{len(cells)} of {CELLS} cells untrained; of the cells where a dead end can be (a stub or the end "
          f"of a corridor): {', '.join(map(str, interesting)) or 'none'}")
    if args.png:
        from figures import save_figure, weight_map_figure  # matplotlib only when drawing
        save_figure(weight_map_figure(human_weight_norms(net), initial_norm(net), args.weights.name), args.png)
        print(f"the picture is in {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
