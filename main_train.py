"""Train a DQN agent on 7x7 mazes, then see where it goes wrong.

Read top to bottom: the flags (every hyperparameter, with its default), the
training loop, and what the run prints at the end. The
network, how a maze becomes its input (`to_input`) and its loss (`td_loss`)
are in model.py; the maze world in maze_env.py; the rollouts that judge the
agent in evaluation.py. What the training mazes hold is in training_data.py:
that is the workshop's question, so open it after your first dream.

    python main_train.py                      # train, evaluate, play examples/
    python main_train.py --play               # don't train: play examples/ with the shipped agent
    python main_train.py --evaluate FILE      # evaluate saved weights on a maze file
    python main_train.py --reveal --weights F # the blind cells planted in F (docs/plant_swap_audit.md)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

import maze_env as env
import reveal
import training_data
from dream_verify import UNREACHED, distances
from evaluation import (BONUS_MAZES, EXAMPLES, eval_families, evaluate, family_table, format_table,
                        play_examples, read_examples)
from model import (N_ACTIONS, ROOT, SHIPPED_WEIGHTS, TrainingDiverged, WeightsError, check_finite, load_agent,
                   make_q_network, save_agent, td_loss)
from model import to_input  # noqa: F401 -- the lecture's `main_train.to_input`, defined in model.py


# --- Flags: every hyperparameter, with its default ---------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0, help="seed for mazes, initial weights and sampling")
    training_data.add_flags(p)  # the training mazes' flags live in training_data.py: a spoiler (README, step 6)
    p.add_argument("--steps", type=int, default=12000, help="gradient steps")
    p.add_argument("--batch-size", type=int, default=96,
                   help="states per gradient step; each trains its four moves")
    p.add_argument("--far-weight", type=float, default=0.5,
                   help="draw each state with weight (1 + its moves to the exit) ** this; 0: uniformly "
                        "(which needs more steps for the same agent, benchmarks/README.md)")
    p.add_argument("--lr", type=float, default=4e-3, help="peak AdamW learning rate")
    p.add_argument("--warmup", type=int, default=200, help="steps of linear learning-rate warm-up")
    p.add_argument("--final-lr-frac", type=float, default=0.02, help="cosine decay ends at this fraction of --lr")
    p.add_argument("--gamma", type=float, default=0.95, help="discount factor")
    p.add_argument("--hidden", type=int, default=256, help="width of each hidden layer")
    p.add_argument("--layers", type=int, default=3, help="number of hidden layers")
    p.add_argument("--target-every", type=int, default=50, help="copy the online net to the target net this often")
    p.add_argument("--eval-every", type=int, default=2000, help="evaluate for the training curve this often")
    p.add_argument("--eval-mazes", type=int, default=1000, help="fresh mazes per family in the final table")
    p.add_argument("--save", type=Path, default=ROOT / "runs" / "agent.pt", help="where to write the trained weights")
    p.add_argument("--out", type=Path, default=ROOT / "runs", help="folder for the training-curve PNG")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--no-examples", action="store_true", help="skip playing the mazes in examples/")
    p.add_argument("--evaluate", type=Path, metavar="FILE",
                   help="don't train: evaluate --weights on the mazes in FILE")
    p.add_argument("--table", action="store_true",
                   help="don't train: print the evaluation table of --weights on --eval-mazes fresh mazes per family")
    p.add_argument("--details", action="store_true",
                   help="with --table: also the training data's flags and what else the agent collected (spoilers)")
    p.add_argument("--play", action="store_true",
                   help="don't train: play the mazes in examples/ with --weights, its path drawn in")
    p.add_argument("--inspect", action="store_true",
                   help="don't train: show what is in the training pool that these flags make")
    p.add_argument("--reveal", action="store_true",
                   help="don't train: print the blind cells planted in --weights (with --blind-cells), and measure "
                        "where the agent is blind; the end of the plant-swap-audit activity")
    p.add_argument("--guess", nargs="+", metavar="FILE|R,C",
                   help="with --reveal: score a guess, the file of `maze_dream.py --audit --json` or cells ROW,COL "
                        "(`none`: no cell)")
    p.add_argument("--reveal-mazes", type=int, metavar="N",
                   help=f"with --reveal: fresh mazes per stub cell for the measured truth (default "
                        f"{reveal.REVEAL_MAZES}; 0: only the record)")
    p.add_argument("--weights", type=Path, default=SHIPPED_WEIGHTS,
                   help="weights for --evaluate, --table and --reveal")
    p.add_argument("--json", action="store_true",
                   help="with --evaluate, --inspect or --reveal: print one JSON object")
    args = p.parse_args(argv)
    problem = training_data.pool_config(args).problem()
    if problem:
        p.error(problem)
    for name in ("steps", "batch_size", "hidden", "layers", "eval_every", "eval_mazes", "target_every"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if not 0 <= args.far_weight <= 4:
        p.error("--far-weight must be between 0 and 4")
    if not args.reveal and (args.guess is not None or args.reveal_mazes is not None):
        p.error("--guess and --reveal-mazes go with --reveal")
    if args.reveal_mazes is None:
        args.reveal_mazes = reveal.REVEAL_MAZES
    elif args.reveal_mazes < 0:
        p.error("--reveal-mazes must be at least 0")
    return args


def training_info(args: argparse.Namespace) -> dict:
    """What a weights file records about the run that made it (training_data.PoolConfig.from_info reads it back)."""
    return {k: getattr(args, k) for k in ("seed", "steps", "far_weight", "hidden", "layers")} | training_data.recorded(args)


# --- Training ---------------------------------------------------------------------
def lr_factor(step: int, args: argparse.Namespace) -> float:
    """Linear warm-up, then cosine decay to final_lr_frac."""
    if step < args.warmup:
        return (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.final_lr_frac + (1 - args.final_lr_frac) * 0.5 * (1 + math.cos(math.pi * progress))


def adamw(params: list[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """AdamW as one fused kernel where this PyTorch has it (on CPU since 2.4): a quarter of each step's time here."""
    try:
        return torch.optim.AdamW(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):  # an older PyTorch, or a device without the fused kernel
        return torch.optim.AdamW(params, lr=lr)


def far_weights(mazes: torch.Tensor, trans: env.Transitions, power: float) -> torch.Tensor:
    """(states,) how often to draw each state of the pool: (1 + its moves to the exit) ** power.

    Far from the exit, the Q-values of neighbouring cells differ least and rest on the longest chains of
    targets: that is where a half-trained agent walks back and forth (benchmarks/README.md, "Training sweep").
    """
    first = slice(None, None, N_ACTIONS)  # state k's four moves are rows 4k..4k+3
    moves = distances(mazes != env.WALL, env.EXIT_POS)[trans.maze[first], trans.pos[first, 0], trans.pos[first, 1]]
    return torch.where(moves < UNREACHED, (1.0 + moves.double()) ** power, 0.0)


def train(args: argparse.Namespace, log=print) -> tuple[torch.nn.Sequential, dict]:
    """DQN on exhaustive transitions: all four moves of a batch of states per step, with a target network."""
    from tqdm import tqdm

    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)
    device = torch.device(args.device)

    mazes, trans = training_data.make_pool(training_data.pool_config(args), rng)
    log(f"training pool: {len(mazes)} mazes, {len(trans)} transitions")
    # With --far-weight, states are drawn through the running sum of their weights: next to nothing per
    # step, where torch.multinomial over every state would cost half a step.
    cumulative = torch.cumsum(far_weights(mazes, trans, args.far_weight), dim=0)
    cumulative = (cumulative / cumulative[-1]).to(device)
    mazes = mazes.to(device)
    trans = env.Transitions(*(t.to(device) for t in vars(trans).values()))
    curve_mazes = {k: v[:300] for k, v in eval_families(args.seed + 1, 300).items()}

    net = make_q_network(args.hidden, args.layers).to(device)
    target_net = make_q_network(args.hidden, args.layers).to(device)
    target_net.load_state_dict(net.state_dict())
    optimizer = adamw(list(net.parameters()), args.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, args))
    sampler = torch.Generator(device=device).manual_seed(args.seed)
    curve: dict[str, list] = {"step": [], "loss": [], "eval_step": []}

    bar = tqdm(range(args.steps), desc="training", unit="step", file=sys.stderr, mininterval=0.5)
    for step in bar:
        if args.far_weight:  # state k with probability weight k / sum of weights
            u = torch.rand(args.batch_size, device=device, generator=sampler, dtype=torch.float64)
            states = torch.searchsorted(cumulative, u)
        else:
            states = torch.randint(len(trans) // 4, (args.batch_size,), device=device, generator=sampler)
        loss = td_loss(net, target_net, mazes, trans, states, args.gamma)
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


def run_reveal(args: argparse.Namespace) -> int:
    """--reveal: the planted blind cells of --weights, the score of --guess, the measured truth."""
    try:
        net, info = load_agent(args.weights, args.device)
        guess, sources = reveal.read_guess(args.guess) if args.guess is not None else (None, [])
        report = reveal.reveal(net, info, guess, args.seed, args.reveal_mazes)
    except (WeightsError, reveal.GuessError, reveal.InfoError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"weights": str(args.weights), "guess_from": sources, **report}))
    else:
        print(reveal.format_reveal(report, str(args.weights), sources))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.evaluate is not None:
        return run_evaluate(args)
    if args.reveal:
        return run_reveal(args)
    for warning in training_data.blind_cell_warnings(args):  # before --inspect and training
        print(warning, file=sys.stderr)
    if args.inspect:
        report = training_data.inspect_pool(training_data.pool_config(args), args.seed)
        print(json.dumps(report) if args.json else training_data.format_inspection(report))
        return 0
    if args.table or args.play:  # read every file before printing anything: a bad one is one line
        try:
            net, info = load_agent(args.weights, args.device)
            examples = read_examples(EXAMPLES) if args.play else {}
        except (WeightsError, env.MazeFormatError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        if args.play:
            print(f"{args.weights} in the mazes of {EXAMPLES.name}/:")
            print(play_examples(net, examples))
        else:
            print(f"{args.weights} ({reveal.public_info(info, args.details)})")  # never the blind cells: reveal.py
            print(family_table(net, info, args.seed, args.eval_mazes, args.details))
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
        from figures import save_figure, training_curve_figure  # matplotlib: only once there is a curve

        save_figure(training_curve_figure(curve), args.out / "training_curve.png", dpi=100)
        print(f"trained in {minutes:.1f} min; weights: {args.save}; curve: {args.out / 'training_curve.png'}")

        print()
        print(family_table(net, training_info(args), args.seed, args.eval_mazes))
        if examples:
            print(play_examples(net, examples))
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
