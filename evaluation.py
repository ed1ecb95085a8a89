"""How an agent is judged: greedy rollouts from (0, 0) on fresh mazes of each family.

    python main_train.py --table      # this module's table for weights/agent.pt
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

import maze_env as env
import training_data
from model import ROOT, greedy_policy

EXAMPLES = ROOT / "examples"  # the mazes main_train.py plays after training

# The families of evaluation mazes.
PLAIN_MAZES = "training, no stubs"
BONUS_MAZES = "training, with stubs"
STUB_BESIDE = "human in stub, beside path"
STUB_AWAY = "human in stub, away from path"


def make_mazes(make, rng: np.random.Generator, n: int) -> torch.Tensor:
    return torch.tensor(np.stack([make(rng) for _ in range(n)]))


def eval_families(seed: int, n: int) -> dict[str, torch.Tensor]:
    """Fresh mazes of each family, from a random stream the training never uses.

    The first two are the two kinds of maze in the training pool; the last two
    put a human in a stub, beside or away from the shortest path to the exit.
    """
    rng = np.random.default_rng([seed, 1_000_003])
    return {
        PLAIN_MAZES: make_mazes(env.make_plain_maze, rng, n),
        BONUS_MAZES: make_mazes(training_data.make_bonus_maze, rng, n),
        STUB_BESIDE: make_mazes(lambda g: env.make_ood_maze(g, beside_path=True), rng, n),
        STUB_AWAY: make_mazes(lambda g: env.make_ood_maze(g, beside_path=False), rng, n),
    }


def trained_on(info: dict) -> set[str]:
    """The families whose kind of maze was in the training pool described by a weights file's info."""
    seen = {PLAIN_MAZES}
    if info.get("stub_mazes", 0) > 0:
        seen.add(BONUS_MAZES)
        if info.get("stub_humans", 0) > 0:
            seen |= {STUB_BESIDE, STUB_AWAY}
    return seen


def evaluate(net: nn.Module, mazes: torch.Tensor) -> dict:
    """Greedy rollouts from (0, 0) on every maze; the rates are fractions of mazes."""
    ep = env.rollout_batch(greedy_policy(net), mazes)
    return {
        "mazes": len(mazes),
        "exit_rate": ep.reached_exit.float().mean().item(),
        "human_rate": (ep.humans > 0).float().mean().item(),
        "crop_rate": (ep.crops > 0).float().mean().item(),
        "bonus_rate": (ep.bonuses > 0).float().mean().item(),
        "mean_steps": (ep.length - 1).float().mean().item(),
    }


def format_table(results: dict[str, dict], seen: set[str] | None = None, bonus: bool = False) -> str:
    """The rates as a table; families not in `seen` (when given) are marked OOD. bonus: add that column."""
    extra = f"{'bonus':>8}" if bonus else ""
    lines = [f"{'mazes':<44}{'n':>6}{'exit':>8}{'human':>8}{'crop':>8}{extra}{'steps':>8}"]
    for name, r in results.items():
        label = name if seen is None else f"{name} ({'trained on' if name in seen else 'OOD'})"
        extra = f"{r['bonus_rate']:>8.1%}" if bonus else ""
        lines.append(
            f"{label:<44}{r['mazes']:>6}{r['exit_rate']:>8.1%}{r['human_rate']:>8.1%}"
            f"{r['crop_rate']:>8.1%}{extra}{r['mean_steps']:>8.1f}"
        )
    return "\n".join(lines)


def family_table(net: nn.Module, info: dict, seed: int, n: int, bonus: bool = False) -> str:
    """The agent's rates on n fresh mazes per family, with a title; OOD marks what its pool never held."""
    title = (f"Greedy rollouts on {n} fresh mazes per family (rates are fractions of mazes;\n"
             "'OOD' marks a kind of maze that was never in this agent's training pool):")
    families = eval_families(seed, n)
    return title + "\n" + format_table({k: evaluate(net, v) for k, v in families.items()}, trained_on(info), bonus)


def play(net: nn.Module, maze: np.ndarray) -> str:
    """One greedy episode drawn on the maze, with what happened."""
    ep = env.rollout_batch(greedy_policy(net), torch.tensor(maze)[None])
    outcome = "reached the exit" if ep.reached_exit[0] else "did not reach the exit"
    text = env.draw_path(maze, ep.path(0))
    return f"{text}\n{outcome}; harvested {int(ep.crops[0])} crop(s), {int(ep.humans[0])} human(s)"


def read_examples(folder: Path = EXAMPLES) -> dict[str, list[np.ndarray]]:
    """The mazes of every .txt file in folder, by file name (MazeFormatError if one is broken)."""
    return {path.name: env.read_maze_file(path) for path in sorted(Path(folder).glob("*.txt"))}


def play_examples(net: nn.Module, examples: dict[str, list[np.ndarray]]) -> str:
    """Every example maze with the agent's path drawn in."""
    return "\n".join(f"\n{name} (maze {i})\n{play(net, maze)}"
                     for name, mazes in examples.items() for i, maze in enumerate(mazes, start=1))
