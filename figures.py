"""Pictures for the README: the agent's paths, a dream and its maze, the atlas.

    python figures.py                  # writes docs/*.png (about 20 s on a laptop CPU)

Every figure comes from the shipped weights and a fixed seed, and is written
atomically (a temporary file, then a rename).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

import dream_check  # noqa: E402
import maze_dream as md  # noqa: E402
import maze_env as env  # noqa: E402
from main_train import ROOT, SHIPPED_WEIGHTS, greedy_policy  # noqa: E402
from model import WeightsError, load_agent  # noqa: E402
from spoilers.solutions import wall_locations_gradient  # noqa: E402

DOCS = ROOT / "docs"
# Cell codes -1..3 (exit, wall, empty, crop, human) -> colours.
MAZE_COLOURS = ListedColormap(["#3b6fd8", "#222222", "#ffffff", "#5cb85c", "#d9534f"])


def save(fig: plt.Figure, path: Path) -> None:
    """Write the figure atomically, so that a killed run never leaves half a PNG under the real name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, format="png")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
        plt.close(fig)
    print(f"wrote {path}")


def draw_maze(ax: plt.Axes, maze: np.ndarray, path: list[tuple[int, int]] | None = None, title: str = "") -> None:
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


def figure_paths(agent: torch.nn.Module, control: torch.nn.Module, seed: int) -> plt.Figure:
    """The flawed agent and the control, in a training maze and in an OOD maze with a stub beside the path."""
    rng = np.random.default_rng(seed)
    mazes = {"training maze": env.make_training_maze(rng),
             "human in a stub beside the path": env.make_ood_maze(rng, beside_path=True)}
    fig, axes = plt.subplots(2, 2, figsize=(7, 7.4))
    for row, (who, net) in enumerate((("agent.pt", agent), ("control.pt", control))):
        for col, (kind, maze) in enumerate(mazes.items()):
            path, what = rollout_path(net, maze)
            draw_maze(axes[row, col], maze, path, f"{who} - {kind}\n{what}")
    fig.tight_layout()
    return fig


def figure_dream(agent: torch.nn.Module) -> plt.Figure:
    """The lecture's dream: the wall channel as a heatmap, next to the maze it thresholds to."""
    t = md.lecture_target()
    dreams = md.dream(agent, t, wall_locations_gradient)
    human, a = tuple(t.humans[0].tolist()), tuple(t.agents[0].tolist())
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7, 3.8))
    im = ax1.imshow(dreams.walls[0].numpy(), cmap="Greys", vmin=0, vmax=1)
    ax1.text(human[1], human[0], "H", ha="center", va="center", color="red", weight="bold")
    ax1.text(a[1], a[0], "A", ha="center", va="center", color="blue", weight="bold")
    ax1.set_xticks([]), ax1.set_yticks([])
    q = dreams.q_before[0, t.actions[0]].item(), dreams.q_after[0, t.actions[0]].item()
    ax1.set_title(f"dreamed wall channel\nQ(up) {q[0]:.2f} -> {q[1]:.2f}", fontsize=9)
    fig.colorbar(im, ax=ax1, fraction=0.046, label="wall")
    maze = dream_check.threshold_maze(dreams.walls[0], human)
    stub = "yes" if dream_check.shows_stub(maze, human, a) else "no"
    draw_maze(ax2, maze, None, f"thresholded at 0.5\nstub beside a junction: {stub}")
    ax2.text(a[1], a[0], "A", ha="center", va="center", color="blue", weight="bold")
    fig.tight_layout()
    return fig


def figure_atlas(agent: torch.nn.Module, seed: int) -> plt.Figure:
    """All 162 atlas dreams as small heatmaps; a red frame marks a dream the agent fell for."""
    t = md.atlas_targets()
    dreams = md.dream(agent, t, wall_locations_gradient)
    verdict = dream_check.verify(agent, dreams, seed)
    cols = 18
    rows = (len(t) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.8, rows * 0.85))
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
    try:
        agent, _ = load_agent(args.weights)
        control, _ = load_agent(args.control)
    except WeightsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    agent.requires_grad_(False)
    control.requires_grad_(False)
    save(figure_paths(agent, control, args.seed), args.out / "paths.png")
    save(figure_dream(agent), args.out / "dream.png")
    save(figure_atlas(agent, args.seed), args.out / "atlas.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
