"""Pictures for the README: the agent's paths, a dream and its maze, the atlas.

    python figures.py                  # writes docs/*.png (about 20 s on a laptop CPU)

Every figure comes from the shipped weights and a fixed seed, and is written
atomically (a temporary file, then a rename).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

import dream_check
import maze_dream as md
import maze_env as env
from main_train import ROOT, SHIPPED_WEIGHTS, greedy_policy
from model import WeightsError, load_agent

DOCS = ROOT / "docs"
# Cell codes -1..3 (exit, wall, empty, crop, human) -> colours.
MAZE_COLOURS = ListedColormap(["#3b6fd8", "#222222", "#ffffff", "#5cb85c", "#d9534f"])


def save(fig: Figure, path: Path) -> None:
    """Write the figure atomically, so that a killed run never leaves half a PNG under the real name."""
    dream_check.write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    print(f"wrote {path}")


def draw_maze(ax: Axes, maze: np.ndarray, path: list[tuple[int, int]] | None = None, title: str = "") -> None:
    ax.imshow(maze, cmap=MAZE_COLOURS, vmin=-1.5, vmax=3.5)
    for (r, c), letter in (((r, c), {env.CROP: "C", env.HUMAN: "H", env.EXIT: "E"}.get(int(maze[r, c])))
                           for r in range(env.SIZE) for c in range(env.SIZE)):
        if letter:
            ax.text(c, r, letter, ha="center", va="center", color="white", weight="bold", fontsize=9)
    if path:
        rows, cols = zip(*path)
        ax.plot(cols, rows, color="#f0ad4e", lw=2.5, marker="o", ms=3)
    ax.set_xticks([]), ax.set_yticks([])
    ax.set_title(title, fontsize=9)


def rollout_path(net: torch.nn.Module, maze: np.ndarray) -> tuple[list[tuple[int, int]], str]:
    ep = env.rollout_batch(greedy_policy(net), torch.tensor(maze)[None])
    what = "exit" if ep.reached_exit[0] else "no exit"
    return ep.path(0), f"{what}, {int(ep.humans[0])} human(s) harvested"


def figure_paths(agent: torch.nn.Module, control: torch.nn.Module, seed: int) -> Figure:
    """The flawed agent and the control, in a training maze and in an OOD maze with a stub beside the path."""
    rng = np.random.default_rng(seed)
    mazes = {"training maze": env.make_training_maze(rng),
             "human in a stub beside the path": env.make_ood_maze(rng, beside_path=True)}
    fig = Figure(figsize=(7, 7.4))
    axes = fig.subplots(2, 2)
    for row, (who, net) in enumerate((("agent.pt", agent), ("control.pt", control))):
        for col, (kind, maze) in enumerate(mazes.items()):
            path, what = rollout_path(net, maze)
            draw_maze(axes[row, col], maze, path, f"{who} - {kind}\n{what}")
    fig.tight_layout()
    return fig


def figure_examples(net: torch.nn.Module, examples: dict[str, list[np.ndarray]]) -> Figure:
    """Every example maze (main_train.read_examples) with the agent's greedy path drawn in."""
    mazes = [(f"{name}" + (f" ({i})" if len(group) > 1 else ""), maze)
             for name, group in examples.items() for i, maze in enumerate(group, start=1)]
    cols = min(len(mazes), 3)
    rows = (len(mazes) + cols - 1) // cols
    fig = Figure(figsize=(3.2 * cols, 3.5 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (title, maze) in zip(axes.flat, mazes):
        path, what = rollout_path(net, maze)
        draw_maze(ax, maze, path, f"{title}\n{what}")
    fig.tight_layout()
    return fig


def figure_dream(dreams: md.Dreams) -> Figure:
    """A dream of one target (the lecture's): the wall channel as a heatmap, next to the maze it thresholds to."""
    t = dreams.targets
    human, a = tuple(t.humans[0].tolist()), tuple(t.agents[0].tolist())
    fig = Figure(figsize=(7, 3.8))
    ax1, ax2 = fig.subplots(1, 2)
    im = ax1.imshow(dreams.walls[0].numpy(), cmap="Greys", vmin=0, vmax=1)
    ax1.text(human[1], human[0], "H", ha="center", va="center", color="red", weight="bold")
    ax1.text(a[1], a[0], "A", ha="center", va="center", color="blue", weight="bold")
    ax1.set_xticks([]), ax1.set_yticks([])
    q = dreams.q_before[0, t.actions[0]].item(), dreams.q_after[0, t.actions[0]].item()
    action = env.ACTION_NAMES[int(t.actions[0])]
    ax1.set_title(f"dreamed wall channel\nQ({action}) {q[0]:.2f} -> {q[1]:.2f}", fontsize=9)
    fig.colorbar(im, ax=ax1, fraction=0.046, label="wall")
    maze = dream_check.threshold_maze(dreams.walls[0], human)
    stub = "yes" if dream_check.shows_stub(maze, human, a) else "no"
    draw_maze(ax2, maze, None, f"thresholded at 0.5\nstub beside a junction: {stub}")
    ax2.text(a[1], a[0], "A", ha="center", va="center", color="blue", weight="bold")
    fig.tight_layout()
    return fig


def figure_atlas(agent: torch.nn.Module, seed: int, wall_locations_gradient) -> Figure:
    """All 162 atlas dreams as small heatmaps; a red frame marks a dream the agent fell for."""
    t = md.atlas_targets()
    dreams = md.dream(agent, t, wall_locations_gradient)
    verdict = dream_check.verify(agent, dreams, seed)
    cols = 18
    rows = (len(t) + cols - 1) // cols
    fig = Figure(figsize=(cols * 0.8, rows * 0.85))
    axes = fig.subplots(rows, cols)
    for ax in axes.flat:
        ax.axis("off")
    for b, ax in zip(range(len(t)), axes.flat):
        ax.axis("on")
        ax.imshow(dreams.walls[b].numpy(), cmap="Greys", vmin=0, vmax=1)
        (hr, hc), (ar, ac) = t.humans[b].tolist(), t.agents[b].tolist()
        ax.plot(hc, hr, "s", color="red", ms=3)
        ax.plot(ac, ar, "o", color="#3b6fd8", ms=3)
        ax.set_xticks([]), ax.set_yticks([])
        colour, width = ("red", 2.5) if verdict.confirmed[b] else ("#bbbbbb", 0.5)
        for spine in ax.spines.values():
            spine.set_edgecolor(colour)
            spine.set_linewidth(width)
    fig.suptitle(f"atlas: {len(t)} dreams of agent.pt (red square human, blue dot agent); "
                 f"red frame = confirmed ({sum(verdict.confirmed)})", fontsize=10)
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, default=SHIPPED_WEIGHTS)
    p.add_argument("--control", type=Path, default=md.CONTROL_WEIGHTS)
    p.add_argument("--out", type=Path, default=DOCS, help="folder for the PNGs")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    from spoilers.solutions import wall_locations_gradient  # the reference answer draws the README's dream

    try:
        agent, _ = load_agent(args.weights)
        control, _ = load_agent(args.control)
    except WeightsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    agent.requires_grad_(False)
    control.requires_grad_(False)
    save(figure_paths(agent, control, args.seed), args.out / "paths.png")
    save(figure_dream(md.dream(agent, md.lecture_target(), wall_locations_gradient)), args.out / "dream.png")
    save(figure_atlas(agent, args.seed, wall_locations_gradient), args.out / "atlas.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
