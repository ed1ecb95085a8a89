"""What several test files share: the repository's folder, a subprocess environment, small networks, scripts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from model import make_q_network

ROOT = Path(__file__).resolve().parent.parent
# One torch thread: on a busy 2-core machine a subprocess with two threads can be many times slower.
SUBPROCESS_ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))


def small_net(seed: int, hidden: int = 32, layers: int = 2, dtype: torch.dtype = torch.float32) -> torch.nn.Sequential:
    """A small random Q-network with fixed weights that don't require grad."""
    torch.manual_seed(seed)
    return make_q_network(hidden, layers).to(dtype).requires_grad_(False)


def run_script(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python SCRIPT ARGS...` from the repository's folder, as a user would run it."""
    return subprocess.run([sys.executable, str(ROOT / script), *args], capture_output=True, text=True, cwd=ROOT,
                          env=SUBPROCESS_ENV, timeout=timeout)
