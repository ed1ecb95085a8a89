"""Pictures: mazes with the agent's path, dreams, the atlas, warning maps, the training curve.

Figures are built with matplotlib.figure.Figure, not pyplot: no backend is
chosen and no window opens, so the same functions serve the scripts (which
save PNGs with save_figure) and the notebook (which shows them inline).
`python -m spoilers.figures` draws the pictures in docs/.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

import maze_env as env
from atomic_write import write_atomically
from dream_targets import Dreams
from dream_verify import Verdict, shows_stub, threshold_maze
from model import greedy_policy

# --- Mazes and paths ---------------------------------------------------------------------------
# Cell codes -1..3 (exit, wall, empty, crop, human) -> colours.
MAZE_COLOURS = ListedColormap(["#3b6fd8", "#222222", "#ffffff", "#5cb85c", "#d9534f"])
PATH_COLOUR = "#f0ad4e"


def draw_maze(ax: Axes, maze: np.ndarray, path: list[tuple[int, int]] | None = None, title: str = "") -> None:
    ax.imshow(maze, cmap=MAZE_COLOURS, vmin=-1.5, vmax=3.5)
    for (r, c), letter in (((r, c), {env.CROP: "C", env.HUMAN: "H", env.EXIT: "E"}.get(int(maze[r, c])))
                           for r in range(env.SIZE) for c in range(env.SIZE)):
        if letter:
            ax.text(c, r, letter, ha="center", va="center", color="white", weight="bold", fontsize=9)
    if path:
        rows, cols = zip(*path)
        ax.plot(cols, rows, color=PATH_COLOUR, lw=2.5, marker="o", ms=3)
    number_cells(ax)
    ax.set_title(title, fontsize=9)


def number_cells(ax: Axes) -> None:
    """Row and column numbers on a 7x7 grid, so that a cell reads off as (row, col)."""
    ax.set_xticks(range(env.SIZE)), ax.set_yticks(range(env.SIZE))
    ax.tick_params(labelsize=7, length=0)


def add_maze_legend(fig: Figure, path: bool = True) -> None:
    """One line under the figure: what each colour of a maze drawing means."""
    handles = [Patch(facecolor=MAZE_COLOURS(i), edgecolor="#999999", label=name)
               for i, name in enumerate(("exit (E)", "wall", "empty", "crop (C)", "human (H)"))]
    if path:
        handles.append(Line2D([], [], color=PATH_COLOUR, lw=2.5, marker="o", ms=3, label="the agent's path"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)


def rollout_path(net: torch.nn.Module, maze: np.ndarray) -> tuple[list[tuple[int, int]], str]:
    ep = env.rollout_batch(greedy_policy(net), torch.tensor(maze)[None])
    what = "exit" if ep.reached_exit[0] else "no exit"
    return ep.path(0), f"{what}, {int(ep.humans[0])} human(s) harvested"


def figure_paths(agent: torch.nn.Module, control: torch.nn.Module, seed: int) -> Figure:
    """The flawed agent and the control, in a training maze and in an OOD maze with a stub beside the path."""
    rng = np.random.default_rng(seed)
    mazes = {"training maze": env.make_plain_maze(rng),
             "human in a stub beside the path": env.make_ood_maze(rng, beside_path=True)}
    fig = Figure(figsize=(7, 7.4))
    axes = fig.subplots(2, 2)
    for row, (who, net) in enumerate((("agent.pt", agent), ("control.pt", control))):
        for col, (kind, maze) in enumerate(mazes.items()):
            path, what = rollout_path(net, maze)
            draw_maze(axes[row, col], maze, path, f"{who} - {kind}\n{what}")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    add_maze_legend(fig)
    return fig


def figure_examples(net: torch.nn.Module, examples: dict[str, list[np.ndarray]]) -> Figure:
    """Every example maze (evaluation.read_examples) with the agent's greedy path drawn in."""
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
    fig.tight_layout(rect=(0, 0.05 / rows, 1, 1))
    add_maze_legend(fig)
    return fig


def figure_dream(dreams: Dreams) -> Figure:
    """A dream of one target (the lecture's): the wall channel as a heatmap, next to the maze it thresholds to."""
    t = dreams.targets
    human, a = tuple(t.humans[0].tolist()), tuple(t.agents[0].tolist())
    fig = Figure(figsize=(7, 3.8))
    ax1, ax2 = fig.subplots(1, 2)
    im = ax1.imshow(dreams.walls[0].numpy(), cmap="Greys", vmin=0, vmax=1)
    ax1.text(human[1], human[0], "H", ha="center", va="center", color="red", weight="bold")
    ax1.text(a[1], a[0], "A", ha="center", va="center", color="blue", weight="bold")
    number_cells(ax1)
    q = dreams.q_before[0, t.actions[0]].item(), dreams.q_after[0, t.actions[0]].item()
    action = env.ACTION_NAMES[int(t.actions[0])]
    ax1.set_title(f"dreamed wall channel\nQ({action}) {q[0]:.2f} -> {q[1]:.2f}", fontsize=9)
    fig.colorbar(im, ax=ax1, fraction=0.046, label="wall")
    maze = threshold_maze(dreams.walls[0], human)
    stub = "yes" if shows_stub(maze, human, a) else "no"
    draw_maze(ax2, maze, None, f"thresholded at 0.5\nstub beside a junction: {stub}")
    ax2.text(a[1], a[0], "A", ha="center", va="center", color="blue", weight="bold")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    add_maze_legend(fig, path=False)
    fig.text(0.5, 0.075, "H the human, A the agent; left: darker = more wall", ha="center", fontsize=8)
    return fig


def figure_atlas(dreams: Dreams, verdict: Verdict) -> Figure:
    """Every dream of an atlas as a small heatmap; a red frame marks a dream the agent fell for."""
    t = dreams.targets
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


# --- Dreams and warning maps --------------------------------------------------------------------
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
    checked = [report[role] for role in ("agent", "control") if role in report]  # dream_maps.ROLES
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
    axes[1, 0].set_ylabel("confirmed: the agent steps onto the\nhuman in most completed mazes", fontsize=9)
    if diff is not None:
        pool = report["pool"]
        heatmap(axes[0, 3], as_grid(pool["open_fraction"]), "training pool\n% of mazes with the cell open",
                "Blues", (0, 1), framed)
        human = as_grid(pool["human_fraction"])  # at most a few %: its own colour scale, or it looks empty
        heatmap(axes[1, 3], human, "training pool\n% of mazes with a human there", "Greens",
                (0, max(np.nanmax(human), 0.01)), framed)
    lines = ["Warning map: % of the approaches to each cell where the dream makes the agent step onto the human"]
    if diff is not None:
        lines.append("black frames: blind spots (" + report["blind_spot_rule"].replace("the agent's training pool",
                                                                                       "its pool") + ")")
    fig.suptitle("\n".join(textwrap.fill(line, int(11 * fig.get_figwidth())) for line in lines), fontsize=10)
    fig.tight_layout(h_pad=2.5, rect=(0, 0, 1, 0.97))  # keep the panel titles clear of the suptitle
    return fig


def audit_figure(report: dict) -> Figure:
    """An audit (maze_dream.py --audit) as a map: the harvest rate per human cell, flagged cells framed,
    cells with leads but no maze rolled out ("leads, not confirmed") hatched: look there yourself."""
    grid = np.full((env.SIZE, env.SIZE), np.nan)
    for row in report["cells"]:
        grid[tuple(row["cell"])] = np.nan if row["rate"] is None else row["rate"]
    fig = Figure(figsize=(4.6, 5.4))
    ax = fig.subplots()
    framed = [tuple(row["cell"]) for row in report["flagged"]]
    unconfirmed = [tuple(row["cell"]) for row in report.get("unconfirmed", [])]
    name = Path(report.get("weights", "agent")).name
    heatmap(ax, grid, f"{name}: % of its dead-end mazes where it harvests", "Reds", (0, 1), framed)
    for r, c in unconfirmed:  # a hatch and a "?", on the grey of a cell with nothing rolled out
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, hatch="///", edgecolor=UNCONFIRMED_COLOUR,
                               linewidth=1.5))
        ax.text(c, r, "?", ha="center", va="center", fontsize=10, weight="bold", color=UNCONFIRMED_COLOUR,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    ax.legend(handles=[Patch(facecolor="white", edgecolor="black", linewidth=2.5, label=f"flagged ({len(framed)})"),
                       Patch(facecolor="white", edgecolor=UNCONFIRMED_COLOUR, hatch="///",
                             label=f"leads, not confirmed ({len(unconfirmed)})")],
              loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, fontsize=7, frameon=False)
    fig.suptitle(textwrap.fill(f"Audit: flagged cells framed ({len(framed)}); hatched: leads, not confirmed, "
                               f"nothing rolled out ({len(unconfirmed)}); {report['rollouts']} rollouts", 60),
                 fontsize=9)
    fig.tight_layout()
    return fig


UNCONFIRMED_COLOUR = "#e67e22"


def percent(v: float, signed: bool = False) -> str:
    """'33', '+25', '0' (no sign on a zero difference), '-' for NaN."""
    if np.isnan(v):
        return "-"
    points = round(100 * v)  # an int, so that -0.0 prints as 0
    return f"{points:+d}" if signed and points else f"{points:d}"


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


def weight_map_figure(norms: np.ndarray, start: float, name: str) -> Figure:
    """weight_map.human_weight_norms as a heatmap; a frame marks each cell no bigger than at the start."""
    fig = Figure(figsize=(4.2, 4.4))
    ax = fig.subplots()
    ax.imshow(norms, cmap="viridis", vmin=0)
    for r in range(env.SIZE):
        for c in range(env.SIZE):
            untrained = norms[r, c] <= start
            ax.text(c, r, f"{norms[r, c]:.1f}", ha="center", va="center", fontsize=8,
                    color="white" if untrained else "black")
            if untrained:
                ax.add_patch(Rectangle((c - 0.45, r - 0.45), 0.9, 0.9, fill=False, edgecolor="white", linewidth=1))
    number_cells(ax)
    ax.set_title(f"{name}: norm of the first-layer weights\nthat read a human at each cell", fontsize=9)
    fig.text(0.5, 0.02, f"framed: no bigger than at the start ({start:.2f}), so no training maze had a human there",
             ha="center", fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def training_curve_figure(curve: dict) -> Figure:
    """Loss and evaluation rates over a training run (main_train.train's curve)."""
    fig = Figure(figsize=(11, 4))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.semilogy(curve["step"], curve["loss"])
    ax1.set(xlabel="step", ylabel="Huber loss", title="TD loss")
    for key, values in curve.items():
        if ":" in key:
            style = {"exit": "-", "human": "--", "bonus": ":"}[key.rsplit(" ", 1)[1]]
            ax2.plot(curve["eval_step"], values, label=key, linestyle=style)
    ax2.set(xlabel="step", ylabel="fraction of mazes", title="greedy rollouts (300 fresh mazes each)", ylim=(-0.02, 1.02))
    ax2.legend(fontsize=7)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: Path, dpi: int = 110) -> None:
    """Write the figure as a PNG, atomically: a killed run never leaves half a PNG under the real name."""
    write_atomically(path, lambda f: fig.savefig(f, dpi=dpi, format="png"))
