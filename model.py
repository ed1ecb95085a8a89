"""The Q-network: what it reads, how it acts, what it learns from, and its weights files.

    to_input / channels_to_input   a maze and the agent's cell -> the network's input
    make_q_network                 the MLP
    greedy_policy                  how the agent acts: the action with the highest Q-value
    td_loss                        what training pulls the Q-values toward (main_train.py)
    save_agent / load_agent        weights files, written atomically and loaded safely
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import maze_env as env
from atomic_write import write_atomically

ROOT = Path(__file__).resolve().parent
SHIPPED_WEIGHTS = ROOT / "weights" / "agent.pt"  # the agent the workshop is about
CONTROL_WEIGHTS = ROOT / "weights" / "control.pt"  # an agent trained without the flaw (spoilers/README.md)

INPUT_SIZE = 4 * 7 * 7 + 7 + 7  # four one-hot 7x7 channels, then the agent's row and column
N_ACTIONS = 4
FORMAT = "maze-q-network/1"


# --- How a maze becomes the network's input ------------------------------------------
def channels_to_input(
    walls: torch.Tensor, crops: torch.Tensor, humans: torch.Tensor, exits: torch.Tensor, position: torch.Tensor
) -> torch.Tensor:
    """Concatenate four (B, 7, 7) channels and the agent's cells into (B, 210) inputs.

    The channels may be fractional: maze_dream.py feeds it walls that are
    "0.3 of a wall" so that gradients can flow into them. position is (B, 2)
    long (row, column), or (B, 2, 7) floats: a probability for each row and
    each column, for dreams that move the agent too.
    """
    b = walls.shape[0]
    dtype = walls.dtype if walls.is_floating_point() else torch.float32
    if position.is_floating_point():
        rows, cols = position[:, 0], position[:, 1]
    else:
        rows, cols = F.one_hot(position[:, 0], env.SIZE), F.one_hot(position[:, 1], env.SIZE)
    parts = [walls, crops, humans, exits, rows, cols]
    return torch.cat([p.reshape(b, -1).to(dtype) for p in parts], dim=1)


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


# --- The network and how it acts ------------------------------------------------------
def make_q_network(hidden: int = 256, layers: int = 3) -> nn.Sequential:
    """An MLP from the to_input vector to one Q-value per action."""
    sizes = [INPUT_SIZE] + [hidden] * layers
    modules: list[nn.Module] = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        modules += [nn.Linear(n_in, n_out), nn.LeakyReLU()]
    modules.append(nn.Linear(sizes[-1], N_ACTIONS))
    return nn.Sequential(*modules)


def hidden_activations(net: nn.Sequential, layer: int, x: torch.Tensor) -> torch.Tensor:
    """What hidden layer `layer` (1 = first) outputs, after its LeakyReLU: the first 2 * layer modules."""
    return net[: 2 * layer](x)


def greedy_policy(net: nn.Module):
    """policy(mazes, positions) -> the action with the highest Q-value (for maze_env.rollout_batch)."""
    device = next(net.parameters()).device

    @torch.no_grad()
    def policy(mazes: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        return net(to_input(mazes, positions).to(device)).argmax(dim=1).cpu()

    return policy


# --- What it learns from --------------------------------------------------------------
def td_loss(
    net: nn.Module, target_net: nn.Module, mazes: torch.Tensor, trans: env.Transitions,
    states: torch.Tensor, gamma: float,
) -> torch.Tensor:
    """Huber loss between Q(s, a) and the DQN target, for all four moves of each state in `states`.

    `states` indexes the pool's states: maze_env.transitions lays out the four
    moves of state k at rows 4k..4k+3. The target is r + gamma * max_a'
    Q_target(s', a'), and just r when the move ends the episode. Training
    all four moves of a state together costs one forward pass for four Q-values
    (instead of one pass each), and the moves that end the episode (bumps, the
    exit) need no look at the next state.
    """
    rows = (N_ACTIONS * states[:, None] + torch.arange(N_ACTIONS, device=states.device)).reshape(-1)
    first = rows[::N_ACTIONS]
    q = net(to_input(mazes[trans.maze[first]], trans.pos[first])).reshape(-1)  # row order = action order
    with torch.no_grad():
        target = trans.reward[rows].clone()
        live = ~trans.done[rows]
        j = rows[live]
        next_x = to_input(env.next_mazes(mazes[trans.maze[j]], trans.pos[j], trans.action[j]), trans.next_pos[j])
        target[live] += gamma * target_net(next_x).max(dim=1).values  # the target net's best next move
    return F.smooth_l1_loss(q, target)


class TrainingDiverged(Exception):
    """The loss or the weights became NaN or inf."""


def check_finite(net: nn.Module) -> None:
    """Raise TrainingDiverged if any weight is NaN or inf (the last update comes after the last loss check)."""
    for name, tensor in net.state_dict().items():
        if not torch.isfinite(tensor).all():
            raise TrainingDiverged(f"the trained weights hold NaN or inf ({name}); try a lower --lr")


# --- Weights files --------------------------------------------------------------------
class WeightsError(Exception):
    """A weights file that is missing, damaged, unsafe or of the wrong shape."""


def save_agent(net: nn.Sequential, path: Path, info: dict | None = None) -> None:
    """Save the weights atomically: a killed run never leaves a half-written file."""
    blob = {
        "format": FORMAT,
        "hidden": net[0].out_features,
        "layers": (len(net) - 1) // 2,
        "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
        "info": dict(info or {}),
    }
    write_atomically(Path(path), lambda f: torch.save(blob, f))


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
