"""Train a DQN agent on 7x7 mazes, then see where it goes wrong.

Read top to bottom: how a maze becomes the network's input (`to_input`), how
we evaluate an agent, then the training run itself. Every hyperparameter is a
command-line flag with its default in `parse_args`.

    python main_train.py                      # train, evaluate, play examples/
    python main_train.py --evaluate FILE      # evaluate saved weights on a maze file
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import maze_env as env
from model import WeightsError, load_agent, make_q_network, save_agent

ROOT = Path(__file__).resolve().parent
SHIPPED_WEIGHTS = ROOT / "weights" / "agent.pt"
EXAMPLES = ROOT / "examples"  # the mazes played after training


# --- How a maze becomes the network's input ------------------------------------
def channels_to_input(
    walls: torch.Tensor, crops: torch.Tensor, humans: torch.Tensor, exits: torch.Tensor, position: torch.Tensor
) -> torch.Tensor:
    """Concatenate four (B, 7, 7) channels and (B, 2) positions into (B, 210) inputs.

    The channels may be fractional: maze_dream.py feeds it walls that are
    "0.3 of a wall" so that gradients can flow into them.
    """
    b = walls.shape[0]
    dtype = walls.dtype if walls.is_floating_point() else torch.float32
    rows = F.one_hot(position[:, 0], env.SIZE)
    cols = F.one_hot(position[:, 1], env.SIZE)
    parts = [walls, crops, humans, exits]
    return torch.cat([p.reshape(b, -1).to(dtype) for p in parts] + [rows.to(dtype), cols.to(dtype)], dim=1)


def to_input(maze, position) -> torch.Tensor:
    """Encode a maze and the agent's position as the network's input vector.

    Four one-hot 7x7 channels, each flattened row by row: walls, crops, humans,
    the exit; then the agent's row (one-hot, 7) and column (one-hot, 7): 210
    numbers. The lecture's example maze

        [[1, 0, 1, 1, 1, 1, 1],
         [1, 0, 1, 0, 0, 0, 1],
         [1, 0, 1, 0, 2, 0, 1],
         [1, 0, 1, 0, 1, 0, 1],
         [1, 1, 1, 0, 1, 1, 1],
         [0, 0, 0, 0, 1, 0, 0],
         [3, 1, 1, 1, 1, 1, -1]]

    has walls where it holds 0, a crop at (2, 4), a human at (6, 0) and the
    exit at (6, 6). Accepts one maze (7, 7) with position (2,), giving (210,),
    or a batch (B, 7, 7) with positions (B, 2), giving (B, 210).
    """
    maze = torch.as_tensor(maze)
    position = torch.as_tensor(position, dtype=torch.long)
    single = maze.dim() == 2
    if single:
        maze, position = maze[None], position[None]
    x = channels_to_input(maze == env.WALL, maze == env.CROP, maze == env.HUMAN, maze == env.EXIT, position)
    return x[0] if single else x


# --- Evaluation -------------------------------------------------------------------
def greedy_policy(net: torch.nn.Module):
    """policy(mazes, positions) -> the action with the highest Q-value."""
    device = next(net.parameters()).device

    @torch.no_grad()
    def policy(mazes: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        return net(to_input(mazes, positions).to(device)).argmax(dim=1).cpu()

    return policy


def evaluate(net: torch.nn.Module, mazes: torch.Tensor) -> dict:
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


def make_mazes(make, rng: np.random.Generator, n: int) -> torch.Tensor:
    return torch.tensor(np.stack([make(rng) for _ in range(n)]))


# The families of evaluation mazes.
PLAIN_MAZES = "training, no stubs"
BONUS_MAZES = "training, bonus stubs"
STUB_BESIDE = "human in stub, beside path"
STUB_AWAY = "human in stub, away from path"


def eval_families(seed: int, n: int) -> dict[str, torch.Tensor]:
    """Fresh mazes of each family, from a random stream the training never uses.

    The first two are the two kinds of maze in the training pool; the last two
    put a human in a stub, beside or away from the shortest path to the exit.
    """
    rng = np.random.default_rng([seed, 1_000_003])
    return {
        PLAIN_MAZES: make_mazes(env.make_training_maze, rng, n),
        BONUS_MAZES: make_mazes(env.make_bonus_maze, rng, n),
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


def format_table(results: dict[str, dict], seen: set[str] | None = None) -> str:
    """The rates as a table; families not in `seen` (when given) are marked OOD."""
    lines = [f"{'mazes':<44}{'n':>6}{'exit':>8}{'human':>8}{'crop':>8}{'bonus':>8}{'steps':>8}"]
    for name, r in results.items():
        label = name if seen is None else f"{name} ({'trained on' if name in seen else 'OOD'})"
        lines.append(
            f"{label:<44}{r['mazes']:>6}{r['exit_rate']:>8.1%}{r['human_rate']:>8.1%}"
            f"{r['crop_rate']:>8.1%}{r['bonus_rate']:>8.1%}{r['mean_steps']:>8.1f}"
        )
    return "\n".join(lines)


def play(net: torch.nn.Module, maze: np.ndarray) -> str:
    """One greedy episode drawn on the maze, with what happened."""
    ep = env.rollout_batch(greedy_policy(net), torch.tensor(maze)[None])
    outcome = "reached the exit" if ep.reached_exit[0] else "did not reach the exit"
    text = env.draw_path(maze, ep.path(0))
    return f"{text}\n{outcome}; harvested {int(ep.crops[0])} crop(s), {int(ep.humans[0])} human(s)"


def read_examples(folder: Path) -> dict[str, list[np.ndarray]]:
    """The mazes of every .txt file in folder, by file name (MazeFormatError if one is broken)."""
    return {path.name: env.read_maze_file(path) for path in sorted(folder.glob("*.txt"))}


def play_examples(net: torch.nn.Module, examples: dict[str, list[np.ndarray]]) -> None:
    for name, mazes in examples.items():
        for i, maze in enumerate(mazes, start=1):
            print(f"\n{name} (maze {i}); * is the agent's path, lowercase = harvested")
            print(play(net, maze))


# --- Training ---------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0, help="seed for mazes, initial weights and sampling")
    p.add_argument("--stub-mazes", type=float, default=0.75,
                   help="fraction of training mazes that get one or two stubs hiding a bonus")
    p.add_argument("--stub-humans", type=float, default=0.0,
                   help="chance that a stub holds a visible human instead of a bonus")
    p.add_argument("--stub-bonus", type=float, default=env.BONUS_REWARD, help="reward of a hidden bonus")
    p.add_argument("--steps", type=int, default=24000, help="gradient steps")
    p.add_argument("--batch-size", type=int, default=256, help="transitions per gradient step")
    p.add_argument("--lr", type=float, default=3e-3, help="peak AdamW learning rate")
    p.add_argument("--warmup", type=int, default=200, help="steps of linear learning-rate warm-up")
    p.add_argument("--final-lr-frac", type=float, default=0.02, help="cosine decay ends at this fraction of --lr")
    p.add_argument("--gamma", type=float, default=0.95, help="discount factor")
    p.add_argument("--hidden", type=int, default=256, help="width of each hidden layer")
    p.add_argument("--layers", type=int, default=3, help="number of hidden layers")
    p.add_argument("--train-mazes", type=int, default=20000, help="mazes in the training pool")
    p.add_argument("--drop-items", type=float, default=0.25,
                   help="chance that each crop or human is removed from a pool maze (covers after-harvest states)")
    p.add_argument("--target-every", type=int, default=25, help="copy the online net to the target net this often")
    p.add_argument("--eval-every", type=int, default=500, help="evaluate for the training curve this often")
    p.add_argument("--eval-mazes", type=int, default=1000, help="fresh mazes per family in the final table")
    p.add_argument("--save", type=Path, default=ROOT / "runs" / "agent.pt", help="where to write the trained weights")
    p.add_argument("--out", type=Path, default=ROOT / "runs", help="folder for the training-curve PNG")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--no-examples", action="store_true", help="skip playing the mazes in examples/")
    p.add_argument("--evaluate", type=Path, metavar="FILE",
                   help="don't train: evaluate --weights on the mazes in FILE")
    p.add_argument("--table", action="store_true",
                   help="don't train: print the evaluation table of --weights on --eval-mazes fresh mazes per family")
    p.add_argument("--inspect", action="store_true",
                   help="don't train: show what is in the training pool that these flags make")
    p.add_argument("--weights", type=Path, default=SHIPPED_WEIGHTS, help="weights for --evaluate and --table")
    p.add_argument("--json", action="store_true", help="with --evaluate or --inspect: print one JSON object")
    args = p.parse_args(argv)
    for name in ("stub_mazes", "stub_humans", "drop_items"):
        if not 0 <= getattr(args, name) <= 1:
            p.error(f"--{name.replace('_', '-')} must be between 0 and 1")
    for name in ("steps", "batch_size", "hidden", "layers", "train_mazes", "eval_every", "eval_mazes", "target_every"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def make_pool(args: argparse.Namespace, rng: np.random.Generator) -> tuple[torch.Tensor, env.Transitions]:
    """The training mazes and every transition in them."""
    mazes = [
        env.make_bonus_maze(rng, args.stub_humans) if rng.random() < args.stub_mazes else env.make_training_maze(rng)
        for _ in range(args.train_mazes)
    ]
    mazes = torch.tensor(np.stack(mazes))
    # Take some items away, so that states after a harvest are in the data too.
    items = (mazes == env.CROP) | (mazes == env.HUMAN) | (mazes == env.BONUS)
    drop = items & (torch.tensor(rng.random(mazes.shape)) < args.drop_items)
    mazes[drop] = torch.where(mazes[drop] == env.BONUS, env.WALL, env.EMPTY)  # a taken bonus caves in
    return mazes, env.transitions(mazes, args.stub_bonus)


def inspect_pool(args: argparse.Namespace) -> dict:
    """What the training pool of these flags holds: the data, laid open like the reward.

    The same pool that `train` builds (same seed, same flags). Maps are 7x7
    lists: the fraction of pool mazes in which each cell is open (a hidden
    bonus looks open), holds a human, holds a crop.
    """
    mazes, trans = make_pool(args, np.random.default_rng(args.seed))
    entered = mazes[trans.maze, trans.next_pos[:, 0], trans.next_pos[:, 1]]  # the cell each move ends on
    human_rewards = trans.reward[entered == env.HUMAN].unique()
    in_stub = env.stub_mask(mazes) & (mazes == env.HUMAN)

    def fraction(mask: torch.Tensor) -> list[list[float]]:
        return mask.double().mean(dim=0).tolist()

    return {
        "mazes": len(mazes),
        "transitions": len(trans),
        "human_step_rewards": sorted(human_rewards.tolist()),
        "mazes_with_human_in_stub": int(in_stub.any(dim=2).any(dim=1).sum()),
        "mazes_with_bonus": int((mazes == env.BONUS).any(dim=2).any(dim=1).sum()),
        "open_fraction": fraction(mazes != env.WALL),
        "human_fraction": fraction(mazes == env.HUMAN),
        "crop_fraction": fraction(mazes == env.CROP),
        "bonus_fraction": fraction(mazes == env.BONUS),
    }


def format_grid(grid: list[list[float]]) -> str:
    """A 7x7 map of fractions as percentages, one row per line."""
    return "\n".join(" ".join(f"{100 * v:4.0f}" for v in row) for row in grid)


def format_inspection(report: dict) -> str:
    lines = [
        f"mazes: {report['mazes']}, transitions: {report['transitions']}",
        f"rewards for stepping onto a human: {report['human_step_rewards']}",
        f"mazes with a human in a stub: {report['mazes_with_human_in_stub']}",
        f"mazes with a hidden bonus: {report['mazes_with_bonus']}",
    ]
    for key, what in (("open_fraction", "open (or hiding a bonus)"), ("human_fraction", "holding a human"),
                      ("crop_fraction", "holding a crop"), ("bonus_fraction", "hiding a bonus")):
        lines += ["", f"% of pool mazes where the cell is {what}:", format_grid(report[key])]
    return "\n".join(lines)


def lr_factor(step: int, args: argparse.Namespace) -> float:
    """Linear warm-up, then cosine decay to final_lr_frac."""
    if step < args.warmup:
        return (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.final_lr_frac + (1 - args.final_lr_frac) * 0.5 * (1 + math.cos(math.pi * progress))


class TrainingDiverged(Exception):
    """The loss or the weights became NaN or inf."""


def check_finite(net: torch.nn.Module) -> None:
    """Raise TrainingDiverged if any weight is NaN or inf (the last update comes after the last loss check)."""
    for name, tensor in net.state_dict().items():
        if not torch.isfinite(tensor).all():
            raise TrainingDiverged(f"the trained weights hold NaN or inf ({name}); try a lower --lr")


def td_loss(
    net: torch.nn.Module, target_net: torch.nn.Module, mazes: torch.Tensor, trans: env.Transitions,
    i: torch.Tensor, gamma: float,
) -> torch.Tensor:
    """Huber loss between Q(s, a) and the double-DQN target for the transitions i, encoded on demand."""
    maze, pos, action = mazes[trans.maze[i]], trans.pos[i], trans.action[i]
    with torch.no_grad():
        next_x = to_input(env.next_mazes(maze, pos, action), trans.next_pos[i])
        best = net(next_x).argmax(dim=1, keepdim=True)  # double DQN: the online net picks the action,
        next_q = target_net(next_x).gather(1, best).squeeze(1)  # the target net values it
        target = trans.reward[i] + gamma * next_q * (~trans.done[i])
    q = net(to_input(maze, pos)).gather(1, action[:, None]).squeeze(1)
    return F.smooth_l1_loss(q, target)


def train(args: argparse.Namespace, log=print) -> tuple[torch.nn.Sequential, dict]:
    """DQN on exhaustive transitions, with double-DQN targets and a target network."""
    from tqdm import tqdm

    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)
    device = torch.device(args.device)

    mazes, trans = make_pool(args, rng)
    log(f"training pool: {len(mazes)} mazes, {len(trans)} transitions")
    mazes = mazes.to(device)
    trans = env.Transitions(*(t.to(device) for t in vars(trans).values()))
    curve_mazes = {k: v[:300] for k, v in eval_families(args.seed + 1, 300).items()}

    net = make_q_network(args.hidden, args.layers).to(device)
    target_net = make_q_network(args.hidden, args.layers).to(device)
    target_net.load_state_dict(net.state_dict())
    optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, args))
    sampler = torch.Generator(device=device).manual_seed(args.seed)
    curve: dict[str, list] = {"step": [], "loss": [], "eval_step": []}

    bar = tqdm(range(args.steps), desc="training", unit="step", file=sys.stderr, mininterval=0.5)
    for step in bar:
        i = torch.randint(len(trans), (args.batch_size,), device=device, generator=sampler)
        loss = td_loss(net, target_net, mazes, trans, i, args.gamma)
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"the loss became {loss.item()} at step {step}; try a lower --lr")

        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if (step + 1) % args.target_every == 0:
            target_net.load_state_dict(net.state_dict())

        if step % 50 == 0:
            curve["step"].append(step)
            curve["loss"].append(loss.item())
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            net.eval()
            rates = {k: evaluate(net, v) for k, v in curve_mazes.items()}
            net.train()
            curve["eval_step"].append(step + 1)
            for k, r in rates.items():
                curve.setdefault(f"{k}: exit", []).append(r["exit_rate"])
                curve.setdefault(f"{k}: human", []).append(r["human_rate"])
            curve.setdefault(f"{BONUS_MAZES}: bonus", []).append(rates[BONUS_MAZES]["bonus_rate"])
            first = next(iter(rates.values()))
            bar.set_postfix(loss=f"{loss.item():.3f}", exit=f"{first['exit_rate']:.0%}")
    bar.close()
    return net.eval(), curve


def save_curve(curve: dict, path: Path) -> None:
    """Loss and evaluation rates over the run, as a PNG (written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.semilogy(curve["step"], curve["loss"])
    ax1.set(xlabel="step", ylabel="Huber loss", title="TD loss")
    for key, values in curve.items():
        if ":" in key:
            style = {"exit": "-", "human": "--", "bonus": ":"}[key.rsplit(" ", 1)[1]]
            ax2.plot(curve["eval_step"], values, label=key, linestyle=style)
    ax2.set(xlabel="step", ylabel="fraction of mazes", title="greedy rollouts (300 fresh mazes each)", ylim=(-0.02, 1.02))
    ax2.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
        plt.close(fig)


def run_evaluate(args: argparse.Namespace) -> int:
    """--evaluate: rates of saved weights on a maze file, as a table or JSON."""
    try:
        mazes = env.read_maze_file(args.evaluate)
        net, _ = load_agent(args.weights, args.device)
    except (env.MazeFormatError, WeightsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    result = evaluate(net, torch.tensor(np.stack(mazes)))
    if args.json:
        print(json.dumps(result))
    else:
        print(format_table({args.evaluate.name: result}))
    return 0


def training_info(args: argparse.Namespace) -> dict:
    """What a weights file records about the run that made it."""
    keys = ("seed", "steps", "hidden", "layers", "stub_mazes", "stub_humans", "stub_bonus")
    return {k: getattr(args, k) for k in keys}


def print_table(net: torch.nn.Module, args: argparse.Namespace, info: dict) -> None:
    print(f"Greedy rollouts on {args.eval_mazes} fresh mazes per family (rates are fractions of mazes;")
    print("'OOD' marks a kind of maze that was never in this agent's training pool):")
    families = eval_families(args.seed, args.eval_mazes)
    print(format_table({k: evaluate(net, v) for k, v in families.items()}, trained_on(info)))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.evaluate is not None:
        return run_evaluate(args)
    if args.inspect:
        report = inspect_pool(args)
        print(json.dumps(report) if args.json else format_inspection(report))
        return 0
    if args.table:
        try:
            net, info = load_agent(args.weights, args.device)
        except WeightsError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"{args.weights} ({', '.join(f'{k} {v}' for k, v in info.items())})")
        print_table(net, args, info)
        return 0

    try:  # read the example mazes now: a broken file should stop us before training, not after
        examples = {} if args.no_examples else read_examples(EXAMPLES)
    except env.MazeFormatError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    start = time.perf_counter()
    saved = False
    try:
        net, curve = train(args)
        check_finite(net)
        minutes = (time.perf_counter() - start) / 60
        save_agent(net, args.save, training_info(args))
        saved = True
        save_curve(curve, args.out / "training_curve.png")
        print(f"trained in {minutes:.1f} min; weights: {args.save}; curve: {args.out / 'training_curve.png'}")

        print()
        print_table(net, args, training_info(args))
        play_examples(net, examples)
    except KeyboardInterrupt:
        # Both files are written atomically, so a Ctrl-C at any point leaves no half-written file.
        outcome = f"the weights were saved to {args.save}" if saved else "nothing was saved"
        print(f"\ninterrupted: {outcome}", file=sys.stderr)  # on a fresh line: the progress bar may not end its own
        return 130
    except TrainingDiverged as err:
        print(f"error: {err}; nothing was saved", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
