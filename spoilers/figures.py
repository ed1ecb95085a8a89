"""SPOILERS: the pictures in docs/, drawn from the shipped weights with the reference answer.

    python -m spoilers.figures         # writes docs/*.png (about 20 s on a laptop CPU)

Every figure comes from the shipped weights and a fixed seed, and is written
atomically (a temporary file, then a rename). The dreams give the exercise
away, so this lives in spoilers/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import maze_dream
from dream_targets import atlas_targets, lecture_target
from dream_verify import verify
from figures import figure_atlas, figure_dream, figure_paths, save_figure
from model import CONTROL_WEIGHTS, ROOT, SHIPPED_WEIGHTS, WeightsError, load_agent
from spoilers.solutions import wall_locations_gradient

DOCS = ROOT / "docs"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, default=SHIPPED_WEIGHTS, help="the agent")
    p.add_argument("--control", type=Path, default=CONTROL_WEIGHTS, help="the control agent")
    p.add_argument("--out", type=Path, default=DOCS, help="folder for the PNGs")
    p.add_argument("--seed", type=int, default=0, help="seed for the mazes and the dream completion")
    args = p.parse_args(argv)
    try:
        agent, _ = load_agent(args.weights)
        control, _ = load_agent(args.control)
    except WeightsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    agent.requires_grad_(False)
    control.requires_grad_(False)
    atlas = maze_dream.dream(agent, atlas_targets(), wall_locations_gradient)
    figures = {
        "paths.png": figure_paths(agent, control, args.seed),
        "dream.png": figure_dream(maze_dream.dream(agent, lecture_target(), wall_locations_gradient)),
        "atlas.png": figure_atlas(atlas, verify(agent, atlas, args.seed)),
    }
    for name, fig in figures.items():
        save_figure(fig, args.out / name)
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
