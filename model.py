"""The Q-network, and saving and loading it safely."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

INPUT_SIZE = 4 * 7 * 7 + 7 + 7  # four one-hot 7x7 channels, then the agent's row and column
N_ACTIONS = 4
FORMAT = "maze-q-network/1"


class WeightsError(Exception):
    """A weights file that is missing, damaged, unsafe or of the wrong shape."""


def make_q_network(hidden: int = 256, layers: int = 3) -> nn.Sequential:
    """An MLP from the to_input vector to one Q-value per action."""
    sizes = [INPUT_SIZE] + [hidden] * layers
    modules: list[nn.Module] = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        modules += [nn.Linear(n_in, n_out), nn.LeakyReLU()]
    modules.append(nn.Linear(sizes[-1], N_ACTIONS))
    return nn.Sequential(*modules)


def save_agent(net: nn.Sequential, path: Path, info: dict | None = None) -> None:
    """Save the weights atomically: a killed run never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    hidden = net[0].out_features
    layers = (len(net) - 1) // 2
    blob = {
        "format": FORMAT,
        "hidden": hidden,
        "layers": layers,
        "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
        "info": dict(info or {}),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; weights are meant to be shared
        with os.fdopen(fd, "wb") as f:
            torch.save(blob, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_agent(path: Path, device: str = "cpu") -> tuple[nn.Sequential, dict]:
    """Load weights saved by save_agent; returns (network in eval mode, info).

    weights_only=True refuses any pickle that would run code, and every
    tensor's shape is checked against the network it claims to be.
    """
    path = Path(path)
    if not path.is_file():
        problem = "not a regular file" if path.exists() else "no such weights file"  # e.g. a folder
        raise WeightsError(f"{path}: {problem}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about odd pickles; our one-line error says enough
            blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, foreign or unsafe file
        raise WeightsError(f"{path}: {_load_problem(err)}") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise WeightsError(f"{path}: not a {FORMAT} weights file")
    hidden, layers = blob.get("hidden"), blob.get("layers")
    if not isinstance(hidden, int) or not isinstance(layers, int) or not (1 <= hidden <= 4096 and 1 <= layers <= 8):
        raise WeightsError(f"{path}: bad network size (hidden={hidden!r}, layers={layers!r})")
    net = make_q_network(hidden, layers)
    expected = net.state_dict()
    state = blob.get("state_dict")
    if not isinstance(state, dict) or set(state) != set(expected):
        raise WeightsError(f"{path}: the stored tensors don't match a {layers}x{hidden} Q-network")
    for name, tensor in expected.items():
        got = state[name]
        if not isinstance(got, torch.Tensor) or got.shape != tensor.shape:
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise WeightsError(f"{path}: {name} has shape {shape}, expected {tuple(tensor.shape)}")
        if not torch.isfinite(got).all():
            raise WeightsError(f"{path}: {name} holds NaN or inf")
    net.load_state_dict(state)
    return net.to(device).eval(), dict(blob.get("info", {}))


def _load_problem(err: Exception) -> str:
    """One line saying why torch.load gave up on a file (torch's own messages run to many lines)."""
    text = str(err).strip()
    if "Weights only load failed" in text:  # weights_only=True stopped at something that isn't a tensor
        detail = next((line.strip() for line in text.splitlines() if "GLOBAL" in line), "")
        return "refused: a pickle that asks to run code or build objects other than tensors" + (
            f" ({detail[:120]})" if detail else ""
        )
    first = text.splitlines()[0][:120] if text else "no details"
    return f"damaged, truncated or not a weights file ({type(err).__name__}: {first})"
