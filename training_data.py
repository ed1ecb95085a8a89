"""SPOILER. The training data: what the training mazes hold, and the flags that set it.

If you are doing the workshop, don't read this file yet. What the agent does
wrong in mazes it never saw comes from what these mazes hold, and finding that
out from the network alone is the exercise (README, steps 2 to 5). Step 6 of
the README is where you open this file.

main_train.py trains on make_pool(PoolConfig from its flags); `python
main_train.py --inspect` prints inspect_pool for the same flags.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import torch

from maze_env import (BONUS, BONUS_REWARD, CROP, EMPTY, HUMAN, SIZE, STUB_CELLS, WALL, Transitions, add_stub,
                      label_grid, make_plain_maze, steps_off_the_way, stub_mask, stubs, transitions)

FAR_OFF = 4  # --lure-far-ends: a dead end at least this many moves off the way to the exit (two rooms or more)


# --- The mazes ------------------------------------------------------------------------
def make_bonus_maze(
    rng: np.random.Generator, human_share: float = 0.0, bonus_only: tuple[tuple[int, int], ...] = ()
) -> np.ndarray:
    """A training maze with one or two stubs, each hiding a bonus.

    With probability human_share a stub holds a visible human instead of a
    bonus (the default, 0, never puts a human in a stub), except at the cells
    in bonus_only: a stub there always hides a bonus.
    """
    while True:  # some mazes have no room for a stub: draw another
        maze = make_plain_maze(rng)
        added = [add_stub(maze, rng, HUMAN if rng.random() < human_share else BONUS) for _ in range(2)]
        if any(added):
            for cell in bonus_only:  # humans in stubs are the ones add_stub put there
                if maze[cell] == HUMAN and cell in stubs(maze):
                    maze[cell] = BONUS
            return maze


def make_training_maze(
    rng: np.random.Generator, stub_mazes: float = 0.5, human_share: float = 0.0,
    bonus_only: tuple[tuple[int, int], ...] = (), lure_cells: tuple[tuple[int, int], ...] = (),
    far_cells: tuple[tuple[int, int], ...] = (),
) -> np.ndarray:
    """One maze of the training pool: a bonus maze with probability stub_mazes, else a plain one.

    lure_cells: a dead end at the end of a corridor at one of these cells hides a bonus instead of its crop
    or human, so that no training maze ever shows a human there (another shape of blind spot than a stub).
    far_cells: the same, only for dead ends there at least FAR_OFF moves off the way to the exit: nearer ones
    keep their crop or human, so the data show humans at those cells, but never at the end of a long detour.
    """
    maze = make_bonus_maze(rng, human_share, bonus_only) if rng.random() < stub_mazes else make_plain_maze(rng)
    for cell in lure_cells:  # no random draw here: without lures the pool is the same as before they existed
        if maze[cell] in (CROP, HUMAN) and cell not in STUB_CELLS:  # crops and humans stand only in dead ends
            maze[cell] = BONUS
    for cell in far_cells:
        if maze[cell] in (CROP, HUMAN) and cell not in STUB_CELLS and steps_off_the_way(maze, cell) >= FAR_OFF:
            maze[cell] = BONUS
    return maze


@dataclass(frozen=True)
class PoolConfig:
    """What the training pool is made of; main_train.py's flags of the same names set it."""

    mazes: int = 20000  # --train-mazes
    stub_mazes: float = 0.5  # share of bonus mazes (one or two stubs, each hiding a bonus)
    stub_humans: float = 0.0  # chance that a stub holds a visible human instead of a bonus
    drop_items: float = 0.25  # chance that each crop or human is taken away (covers after-harvest states)
    bonus_reward: float = BONUS_REWARD  # --stub-bonus
    blind_cells: tuple[tuple[int, int], ...] = ()  # stubs here never show a human, whatever stub_humans says
    lure_cells: tuple[tuple[int, int], ...] = ()  # corridor dead ends here hide a bonus, never a human
    far_cells: tuple[tuple[int, int], ...] = ()  # the same, for dead ends here FAR_OFF or more moves off the way

    # The keys a weights file's info records (main_train.training_info) for the fields they set.
    INFO_KEYS = {"stub_mazes": "stub_mazes", "stub_humans": "stub_humans", "stub_bonus": "bonus_reward",
                 "blind_cells": "blind_cells", "lure_dead_ends": "lure_cells",
                 "lure_far_ends": "far_cells"}

    @classmethod
    def from_info(cls, info: dict, mazes: int | None = None) -> PoolConfig:
        """The pool a weights file's agent trained on (a key it doesn't record keeps its default).

        Raises ValueError, naming the flag, if the recorded values make no pool.
        """
        fields = {field: info[key] for key, field in cls.INFO_KEYS.items() if key in info}
        for key in ("blind_cells", "lure_cells", "far_cells"):  # JSON-like lists in the file, tuples here
            if key in fields:
                fields[key] = tuple(tuple(cell) for cell in fields[key])
        if mazes is not None:
            fields["mazes"] = mazes
        config = cls(**fields)
        problem = config.problem()
        if problem:
            raise ValueError(problem)
        return config

    def problem(self) -> str | None:
        """What is wrong with these values, as the flag that sets them would say it; None if nothing."""
        for flag, value in (("--stub-mazes", self.stub_mazes), ("--stub-humans", self.stub_humans),
                            ("--drop-items", self.drop_items)):
            if not (isinstance(value, (int, float)) and 0 <= value <= 1):
                return f"{flag} must be between 0 and 1"
        if not (isinstance(self.mazes, int) and self.mazes >= 1):
            return "--train-mazes must be at least 1"
        if not isinstance(self.bonus_reward, (int, float)):
            return "--stub-bonus must be a number"
        for flag, cells in (("--blind-cells", self.blind_cells), ("--lure-dead-ends", self.lure_cells),
                            ("--lure-far-ends", self.far_cells)):
            for cell in cells:
                if not (len(cell) == 2 and all(isinstance(v, int) and 0 <= v < SIZE for v in cell)):
                    return f"{flag}: {cell} is not a cell of the 7x7 maze"
        return None


def make_pool(config: PoolConfig, rng: np.random.Generator) -> tuple[torch.Tensor, Transitions]:
    """The training mazes and every transition in them."""
    mazes = pool_mazes(config, rng)
    return mazes, transitions(mazes, config.bonus_reward)


def pool_mazes(config: PoolConfig, rng: np.random.Generator) -> torch.Tensor:
    """The training mazes of make_pool, without the transitions (for a look at the data alone)."""
    mazes = [make_training_maze(rng, config.stub_mazes, config.stub_humans, config.blind_cells, config.lure_cells,
                                config.far_cells) for _ in range(config.mazes)]
    mazes = torch.tensor(np.stack(mazes))
    # Take some items away, so that states after a harvest are in the data too.
    items = (mazes == CROP) | (mazes == HUMAN) | (mazes == BONUS)
    drop = items & (torch.tensor(rng.random(mazes.shape)) < config.drop_items)
    mazes[drop] = torch.where(mazes[drop] == BONUS, WALL, EMPTY)  # a taken bonus caves in
    return mazes


def cell_fraction(mask: torch.Tensor) -> list[list[float]]:
    """(N, 7, 7) bool -> a 7x7 list: per cell, the fraction of the N mazes where the mask holds."""
    return mask.double().mean(dim=0).tolist()


def inspect_pool(config: PoolConfig, seed: int) -> dict:
    """What the training pool holds: the data, laid open like the reward.

    The same pool that main_train.py trains on with this seed. Maps are 7x7
    lists: the fraction of pool mazes in which each cell is open (a hidden
    bonus looks open), holds a human, a crop, a hidden bonus.
    """
    mazes, trans = make_pool(config, np.random.default_rng(seed))
    entered = mazes[trans.maze, trans.next_pos[:, 0], trans.next_pos[:, 1]]  # the cell each move ends on
    human_rewards = trans.reward[entered == HUMAN].unique()
    in_stub = stub_mask(mazes) & (mazes == HUMAN)
    return {
        "mazes": len(mazes),
        "transitions": len(trans),
        "human_step_rewards": sorted(human_rewards.tolist()),
        "mazes_with_human_in_stub": int(in_stub.any(dim=2).any(dim=1).sum()),
        "mazes_with_bonus": int((mazes == BONUS).any(dim=2).any(dim=1).sum()),
        "open_fraction": cell_fraction(mazes != WALL),
        "human_fraction": cell_fraction(mazes == HUMAN),
        "crop_fraction": cell_fraction(mazes == CROP),
        "bonus_fraction": cell_fraction(mazes == BONUS),
    }


# --- The flags (main_train.py adds them to its own) ------------------------------------
DEFAULTS = PoolConfig()


def add_flags(p: argparse.ArgumentParser) -> None:
    """main_train.py's flags for the training mazes, as one group of its --help."""
    p = p.add_argument_group("the training data (a spoiler: read after your first dream)")
    p.add_argument("--stub-mazes", type=float, default=DEFAULTS.stub_mazes,
                   help="fraction of training mazes that get one or two stubs hiding a bonus")
    p.add_argument("--stub-humans", type=float, default=DEFAULTS.stub_humans,
                   help="chance that a stub holds a visible human instead of a bonus")
    p.add_argument("--stub-bonus", type=float, default=DEFAULTS.bonus_reward, help="reward of a hidden bonus")
    p.add_argument("--blind-cells", type=cell, nargs="+", default=list(DEFAULTS.blind_cells), metavar="R,C",
                   help="cells where a stub never shows a human, whatever --stub-humans says (for a zoo of agents "
                        "with known blind spots, and the plant-swap-audit activity); the weights file records them, "
                        "and only --reveal prints them")
    p.add_argument("--lure-dead-ends", type=cell, nargs="+", default=list(DEFAULTS.lure_cells), metavar="R,C",
                   help="cells where a dead end at the end of a corridor hides a bonus instead of a crop or a human: "
                        "a blind spot of another shape than a stub (dead ends open only at cells with both "
                        "coordinates even); recorded in the weights file, printed only by --reveal")
    p.add_argument("--lure-far-ends", type=cell, nargs="+", default=list(DEFAULTS.far_cells), metavar="R,C",
                   help=f"the same, only for dead ends there at least {FAR_OFF} moves off the way to the exit (a "
                        "long detour): nearer dead ends there keep their crops and humans; a third shape, which "
                        "may need a larger --stub-bonus to pay for the walk")
    p.add_argument("--train-mazes", type=int, default=DEFAULTS.mazes, help="mazes in the training pool")
    p.add_argument("--drop-items", type=float, default=DEFAULTS.drop_items,
                   help="chance that each crop or human is removed from a pool maze (covers after-harvest states)")


def cell(text: str) -> tuple[int, int]:
    """'3,5' -> (3, 5), for --blind-cells."""
    try:
        r, c = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a cell; write ROW,COL, e.g. 3,5") from None
    return r, c


def pool_config(args: argparse.Namespace) -> PoolConfig:
    """The training pool these flags ask for."""
    return PoolConfig(args.train_mazes, args.stub_mazes, args.stub_humans, args.drop_items, args.stub_bonus,
                      tuple(args.blind_cells), tuple(args.lure_dead_ends), tuple(args.lure_far_ends))


def recorded(args: argparse.Namespace) -> dict:
    """The training data's flags, as a weights file records them (PoolConfig.from_info reads them back)."""
    info = {k: getattr(args, k) for k in ("stub_mazes", "stub_humans", "stub_bonus")}
    if args.blind_cells:  # recorded only when set, so that the default run's file stays as it was
        info["blind_cells"] = [list(c) for c in args.blind_cells]
    if args.lure_dead_ends:
        info["lure_dead_ends"] = [list(c) for c in args.lure_dead_ends]
    if args.lure_far_ends:
        info["lure_far_ends"] = [list(c) for c in args.lure_far_ends]
    return info


def blind_cell_warnings(args: argparse.Namespace) -> list[str]:
    """What a --blind-cells run should know before it trains: cells that change nothing."""
    if not args.blind_cells:
        return []
    if args.stub_humans == 0 or args.stub_mazes == 0:
        return ["warning: --blind-cells changes nothing here: with --stub-humans 0 or --stub-mazes 0 no training "
                "maze shows a human in a stub anywhere (plant a blind spot with --stub-humans 0.5)"]
    off = sorted({c for c in args.blind_cells if c not in STUB_CELLS})
    if not off:
        return []
    return [f"warning: no stub can open at {format_cells(off)}: --blind-cells there changes nothing "
            f"(stubs open only at {format_cells(STUB_CELLS)})"]


def format_cells(cells) -> str:
    return ", ".join(str(tuple(c)) for c in sorted(cells)) if cells else "none"


# --- --inspect, as text ---------------------------------------------------------------
def format_inspection(report: dict) -> str:
    lines = [
        f"mazes: {report['mazes']}, transitions: {report['transitions']}",
        f"rewards for stepping onto a human: {report['human_step_rewards']}",
        f"mazes with a human in a stub: {report['mazes_with_human_in_stub']}",
        f"mazes with a hidden bonus: {report['mazes_with_bonus']}",
    ]
    for key, what in (("open_fraction", "open (or hiding a bonus)"), ("human_fraction", "holding a human"),
                      ("crop_fraction", "holding a crop"), ("bonus_fraction", "hiding a bonus")):
        percents = [[f"{100 * v:.0f}" for v in row] for row in report[key]]
        lines += ["", f"% of pool mazes where the cell is {what}:", label_grid(percents, sep=" ")]
    return "\n".join(lines)
