"""5. Peak memory (resident set) of training and of the atlas.

Each row runs in a fresh Python subprocess that reports its own peak
resident set (see common.peak_rss_mib), so the rows don't inherit each other's peaks. The
baseline row only imports torch and the project: what any row pays anyway.

    python -m benchmarks.memory --child training [--quick] [--seed N] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import torch

from .common import ROOT, Settings, peak_rss_method, peak_rss_mib, section, table

KINDS = ("baseline", "training", "atlas")


def training_argv(quick: bool, seed: int) -> list[str]:
    """main_train's defaults (so the default pool), but few steps: memory stops growing after the first steps."""
    if quick:
        return ["--seed", str(seed), "--train-mazes", "1000", "--steps", "10", "--eval-every", "5"]
    return ["--seed", str(seed), "--steps", "100", "--eval-every", "50"]


def describe(kind: str, quick: bool) -> str:
    if kind == "baseline":
        return "baseline: python + torch + project imports"
    if kind == "training":
        argv = " ".join(training_argv(quick, 0)[2:])
        return f"training: main_train.train() with defaults and {argv}"
    steps = 10 if quick else "default"
    return f"atlas: dream(atlas_targets(), {steps} steps) + verify()"


def child(kind: str, quick: bool, seed: int, weights: str) -> dict:
    """Do one row's work in this process and return its peak RSS."""
    import dream_verify
    import main_train
    import maze_dream
    from model import make_q_network

    if kind == "training":
        main_train.train(main_train.parse_args(training_argv(quick, seed)), log=lambda *a: None)
    elif kind == "atlas":
        from pathlib import Path

        from model import load_agent
        from spoilers.solutions import wall_locations_gradient

        path = Path(weights)
        net = load_agent(path)[0] if path.is_file() else make_q_network()
        net.requires_grad_(False)
        steps = 10 if quick else maze_dream.parse_args([]).steps
        dreams = maze_dream.dream(net, maze_dream.atlas_targets(), wall_locations_gradient, steps)
        dream_verify.verify(net, dreams, seed)
    return {"kind": kind, "peak_rss_mib": peak_rss_mib()}


def measure(kind: str, settings: Settings) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.memory", "--child", kind, "--seed", str(settings.seed),
           "--threads", str(settings.threads), "--weights", str(settings.weights)] + (["--quick"] if settings.quick else [])
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"memory child {kind!r} failed (exit {out.returncode}):\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(settings: Settings) -> list[dict]:
    section("5. Peak memory (resident set)")
    results = [measure(kind, settings) for kind in KINDS]
    base = results[0]["peak_rss_mib"]
    rows = [[describe(r["kind"], settings.quick), f"{r['peak_rss_mib']:.0f}",
             "" if r["kind"] == "baseline" else f"{r['peak_rss_mib'] - base:+.0f}"] for r in results]
    print(table(["what (each in a fresh subprocess)", "peak RSS MiB", "over baseline"], rows))
    print(f"method: {peak_rss_method()}, read at the end of each subprocess.")
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="One row of the memory section, run in its own process.")
    p.add_argument("--child", choices=KINDS, required=True)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--weights", default="")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(json.dumps(child(args.child, args.quick, args.seed, args.weights)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
