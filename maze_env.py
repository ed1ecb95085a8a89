"""The 7x7 maze world: generators, text files, step dynamics and rollouts.

A maze is a 7x7 integer array of cell codes. The agent starts at (0, 0) and
moves up, down, left or right. Stepping onto a crop or a human harvests it
(the cell becomes empty); stepping onto the exit ends the episode; bumping
into a wall or the border also ends it, with a penalty.

Single mazes are numpy arrays (easy to print and edit); batches are torch
tensors of shape (B, 7, 7) so that whole batches step at once.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

# --- Cell codes and actions ---------------------------------------------------
EXIT, WALL, EMPTY, CROP, HUMAN = -1, 0, 1, 2, 3
BONUS = 4  # looks empty to the agent, pays BONUS_REWARD once, then is a wall (training_data.py places it)
SIZE = 7
START = (0, 0)
EXIT_POS = (SIZE - 1, SIZE - 1)  # the open cell farthest along row + col

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
ACTION_NAMES = ("up", "down", "left", "right")
MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))  # (d_row, d_col) per action

# --- Rewards: all in one place ------------------------------------------------
# Every move costs a little, so shorter paths score higher, and the Q-values of neighbouring
# cells differ by enough that the greedy policy doesn't dither between two of them.
MOVE_REWARD = -0.25
WALL_REWARD = -5.0  # bumping into a wall or the border ends the episode; worse than any long walk
CROP_REWARD = 2.0  # harvesting a crop
HUMAN_REWARD = -10.0  # harvesting a human
EXIT_REWARD = 10.0  # reaching the exit ends the episode
BONUS_REWARD = 3.0  # entering a BONUS cell (the agent stays where it was)

CHARS = {WALL: "#", EMPTY: ".", CROP: "C", HUMAN: "H", EXIT: "E", BONUS: "B"}
CODES = {ch: code for code, ch in CHARS.items()}


# --- Generators ---------------------------------------------------------------
def _room_neighbours() -> dict[tuple[int, int], list[tuple[int, int]]]:
    """Per room (both coordinates even), the rooms two steps away, in the order of MOVES."""
    rooms = [(r, c) for r in range(0, SIZE, 2) for c in range(0, SIZE, 2)]
    return {(r, c): [(r + 2 * dr, c + 2 * dc) for dr, dc in MOVES if (r + 2 * dr, c + 2 * dc) in rooms]
            for r, c in rooms}


_ROOM_NEIGHBOURS = _room_neighbours()  # worked out once: _carve runs for every maze of the 20,000-maze pool


def _carve(rng: np.random.Generator) -> np.ndarray:
    """Recursive backtracker in 2-cell steps from (0, 0): a tree of corridors.

    Rooms sit at even coordinates; carving between two rooms opens the cell
    between them. Cells with both coordinates odd are therefore always walls.
    """
    maze = np.full((SIZE, SIZE), WALL, dtype=np.int64)
    maze[START] = EMPTY
    carved = {START}  # a set, not maze[...] == WALL: looking up a numpy cell is slow, and this runs a lot
    stack = [START]
    while stack:
        r, c = stack[-1]
        options = [room for room in _ROOM_NEIGHBOURS[r, c] if room not in carved]
        if not options:
            stack.pop()
            continue
        nr, nc = options[rng.integers(len(options))]
        maze[(r + nr) // 2, (c + nc) // 2] = EMPTY
        maze[nr, nc] = EMPTY
        carved.add((nr, nc))
        stack.append((nr, nc))
    return maze


def open_neighbours(maze: np.ndarray) -> np.ndarray:
    """Number of non-wall neighbours of every cell (border counts as wall)."""
    padded = np.zeros((SIZE + 2, SIZE + 2), dtype=np.int64)  # a ring of walls (np.pad is slow for a 7x7)
    padded[1:-1, 1:-1] = maze != WALL
    return padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]


def dead_ends(maze: np.ndarray, degree: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Open cells with exactly one open neighbour, other than the start and the exit.

    degree: open_neighbours(maze), if the caller has it already.
    """
    degree = open_neighbours(maze) if degree is None else degree
    ends = (maze != WALL) & (degree == 1)
    ends[START] = ends[EXIT_POS] = False
    return [(int(r), int(c)) for r, c in zip(*np.nonzero(ends))]


def make_plain_maze(rng: np.random.Generator) -> np.ndarray:
    """A backtracker maze, as the training data start from (training_data.py).

    A backtracker maze whose exit is at the bottom right and whose every dead
    end (other than the start and the exit) holds a crop or a human, 50/50.
    """
    maze = _carve(rng)
    maze[EXIT_POS] = EXIT
    for cell in dead_ends(maze):
        maze[cell] = CROP if rng.random() < 0.5 else HUMAN
    return maze


def stubs(maze: np.ndarray) -> list[tuple[int, int]]:
    """Dead ends that sit directly beside a junction (a cell with 3+ open neighbours).

    Plain mazes never have one: their dead ends end a corridor.
    """
    degree = open_neighbours(maze)
    found = []
    for r, c in dead_ends(maze, degree):
        for dr, dc in MOVES:
            nr, nc = r + dr, c + dc
            if 0 <= nr < SIZE and 0 <= nc < SIZE and maze[nr, nc] != WALL and degree[nr, nc] >= 3:
                found.append((r, c))
    return found


def shortest_path(maze: np.ndarray, start: tuple[int, int] = START) -> list[tuple[int, int]]:
    """Cells on a shortest path from start to the exit (breadth first); [] if none."""
    parent: dict[tuple[int, int], tuple[int, int] | None] = {start: None}
    frontier = [start]
    while frontier:
        nxt = []
        for r, c in frontier:
            if maze[r, c] == EXIT:
                path, cell = [], (r, c)
                while cell is not None:
                    path.append(cell)
                    cell = parent[cell]
                return path[::-1]
            for dr, dc in MOVES:
                cell = (r + dr, c + dc)
                if 0 <= cell[0] < SIZE and 0 <= cell[1] < SIZE and maze[cell] != WALL and cell not in parent:
                    parent[cell] = (r, c)
                    nxt.append(cell)
        frontier = nxt
    return []


def steps_off_the_way(maze: np.ndarray, cell: tuple[int, int]) -> int | None:
    """Moves from `cell` to the nearest cell of the shortest path to the exit (0 on it); None if there is none."""
    way = set(shortest_path(maze))
    seen, frontier, steps = {cell}, [cell], 0
    while frontier:
        if any(c in way for c in frontier):
            return steps
        nxt = []
        for r, c in frontier:
            for dr, dc in MOVES:
                n = (r + dr, c + dc)
                if 0 <= n[0] < SIZE and 0 <= n[1] < SIZE and maze[n] != WALL and n not in seen:
                    seen.add(n)
                    nxt.append(n)
        frontier, steps = nxt, steps + 1
    return None


def reachable(maze: np.ndarray, start: tuple[int, int] = START) -> np.ndarray:
    """Boolean mask of the cells reachable from start through open cells."""
    seen = np.zeros((SIZE, SIZE), dtype=bool)
    if maze[start] == WALL:
        return seen
    seen[start] = True
    stack = [start]
    while stack:
        r, c = stack.pop()
        for dr, dc in MOVES:
            nr, nc = r + dr, c + dc
            if 0 <= nr < SIZE and 0 <= nc < SIZE and maze[nr, nc] != WALL and not seen[nr, nc]:
                seen[nr, nc] = True
                stack.append((nr, nc))
    return seen


# The only cells where a stub can open in these mazes (tests/test_swap.py checks it). A stub is a pillar,
# a cell with both coordinates odd, opened beside a corridor; (1, 5), (5, 1) and (5, 5) sit by the
# top-right corner, the bottom-left corner and the exit, where the carving always leaves two or more of
# the pillar's four sides open, so opening it never makes a one-cell dead end.
STUB_CELLS = ((1, 1), (1, 3), (3, 1), (3, 3), (3, 5), (5, 3))
# Where a corridor can end: the rooms (both coordinates even), other than the start and the exit.
DEAD_END_CELLS = tuple((r, c) for r in range(0, SIZE, 2) for c in range(0, SIZE, 2) if (r, c) not in (START, EXIT_POS))


def stub_candidates(maze: np.ndarray) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(wall cell, corridor cell) pairs where opening the wall makes a stub.

    The wall cell must touch exactly one open cell (so it becomes a dead end,
    and no loop appears), and that cell must already have 2+ open neighbours
    (so it becomes a junction).
    """
    degree = open_neighbours(maze)
    pairs = []
    for r, c in zip(*np.nonzero((maze == WALL) & (degree == 1))):  # in reading order, as a loop over cells
        r, c = int(r), int(c)
        for dr, dc in MOVES:
            nr, nc = r + dr, c + dc
            if 0 <= nr < SIZE and 0 <= nc < SIZE and maze[nr, nc] not in (WALL, EXIT) and degree[nr, nc] >= 2:
                pairs.append(((r, c), (nr, nc)))
    return pairs


def add_stub(
    maze: np.ndarray, rng: np.random.Generator, content: int, beside_path: bool | None = None,
    cell: tuple[int, int] | None = None,
) -> bool:
    """Open one wall cell into a stub holding `content`; False if this maze has no room for one.

    beside_path=True puts the stub's junction on the shortest path from the
    start to the exit, False puts it away from that path, None lets chance pick.
    cell, if given, is where the stub must open.
    """
    pairs = [p for p in stub_candidates(maze) if cell is None or p[0] == cell]
    if beside_path is not None and pairs:  # the path only when it decides something: this runs for every pool maze
        path = set(shortest_path(maze))
        pairs = [p for p in pairs if (p[1] in path) == beside_path]
    rng.shuffle(pairs)
    old_stubs = stubs(maze) if pairs else []
    for stub, _ in pairs:
        before = maze[stub]
        maze[stub] = content
        if sorted(stubs(maze)) == sorted(old_stubs + [stub]):  # don't also turn an old dead end into a stub
            return True
        maze[stub] = before
    return False


def make_ood_maze(rng: np.random.Generator, beside_path: bool | None = None) -> np.ndarray:
    """A training maze changed so that a human sits in a one-cell stub beside a junction."""
    while True:
        maze = make_plain_maze(rng)
        if add_stub(maze, rng, HUMAN, beside_path):
            return maze


def stub_beside_path(maze: np.ndarray) -> bool:
    """True if some stub holding a human opens onto the shortest start-exit path."""
    path = set(shortest_path(maze))
    for r, c in stubs(maze):
        if maze[r, c] == HUMAN:
            for dr, dc in MOVES:
                if (r + dr, c + dc) in path:
                    return True
    return False


# --- Text files ---------------------------------------------------------------
class MazeFormatError(ValueError):
    """A maze file that can't be read; the message names the maze, line and column."""


def format_maze(maze: np.ndarray) -> str:
    """The maze as 7 lines of 7 characters: # wall . empty C crop H human E exit B hidden bonus."""
    return "\n".join("".join(CHARS[int(v)] for v in row) for row in maze)


# For people, not files: every grid printed with its row and column numbers and a legend under it.
LEGEND = "# wall  . empty  C crop  H human  E exit"
PATH_LEGEND = "* path  c h harvested"


def label_grid(rows: list[list[str]], sep: str = "") -> str:
    """Cells under their column numbers and beside their row numbers, so that (row, col) reads off directly."""
    width = max(len(str(cell)) for row in rows for cell in row)

    def line(label: object, cells) -> str:
        return f"{label} " + sep.join(f"{cell:>{width}}" for cell in cells)

    return "\n".join([line(" ", range(len(rows[0]))).rstrip(), *(line(r, row) for r, row in enumerate(rows))])


def show_maze(maze: np.ndarray) -> str:
    """The maze for a person to read: numbered rows and columns, and the legend."""
    return label_grid([[CHARS[int(v)] for v in row] for row in maze]) + "\n" + LEGEND


def parse_mazes(text: str, source: str = "<text>") -> list[np.ndarray]:
    """Read mazes in the text format, separated by blank lines.

    Windows line endings, a byte-order mark and trailing spaces are accepted;
    everything else that is off raises MazeFormatError.
    """
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    blocks: list[list[tuple[int, str]]] = [[]]
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip(" ")
        if line == "":
            if blocks[-1]:
                blocks.append([])
        else:
            blocks[-1].append((number, line))
    blocks = [b for b in blocks if b]
    if not blocks:
        raise MazeFormatError(f"{source}: no maze found (expected {SIZE} lines of {SIZE} characters)")
    return [_parse_block(block, f"{source}: maze {i}") for i, block in enumerate(blocks, start=1)]


MAX_FILE_BYTES = 1_000_000  # a maze is 56 bytes; anything this large is a mistake


def read_maze_file(path: Path | str) -> list[np.ndarray]:
    """Read a maze file; every problem (missing, binary, huge, malformed) is a MazeFormatError."""
    path = Path(path)
    try:
        info = path.stat()
        # A directory, a pipe or a device like /dev/zero is not a maze file (and the last never ends).
        if not stat.S_ISREG(info.st_mode):
            raise MazeFormatError(f"{path}: can't read it (not a regular file)")
        if info.st_size > MAX_FILE_BYTES:
            raise MazeFormatError(f"{path}: larger than {MAX_FILE_BYTES} bytes, not a maze file")
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)  # the file may have grown since stat()
    except OSError as err:
        raise MazeFormatError(f"{path}: can't read it ({err.strerror or err})") from None
    if len(data) > MAX_FILE_BYTES:
        raise MazeFormatError(f"{path}: larger than {MAX_FILE_BYTES} bytes, not a maze file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise MazeFormatError(f"{path}: not UTF-8 text (bad byte at offset {err.start})") from None
    return parse_mazes(text, str(path))


def _parse_block(block: list[tuple[int, str]], where: str) -> np.ndarray:
    first_line = block[0][0]
    if len(block) != SIZE:
        raise MazeFormatError(f"{where} (line {first_line}): has {len(block)} lines, expected {SIZE}")
    maze = np.empty((SIZE, SIZE), dtype=np.int64)
    for r, (number, line) in enumerate(block):
        # Look at every character first, so that a stray tab or letter past column 7
        # is named with its column rather than reported as a line of the wrong length.
        for c, ch in enumerate(line):
            if ch not in CODES:
                raise MazeFormatError(
                    f"{where}, line {number}, column {c + 1}: unknown character {ch!r} (use # . C H E B)"
                )
        if len(line) != SIZE:
            raise MazeFormatError(f"{where}, line {number}: has {len(line)} characters, expected {SIZE}")
        maze[r] = [CODES[ch] for ch in line]
    check_maze(maze, where, first_line)
    return maze


def check_maze(maze: np.ndarray, where: str = "maze", first_line: int = 1) -> None:
    """Raise MazeFormatError unless the maze has one exit reachable from an open start.

    Every human must be reachable too: one walled off can never be harvested,
    so it is almost surely a typo, and it would make the maze look safer than it is.
    """
    exits = list(zip(*np.nonzero(maze == EXIT)))
    if not exits:
        raise MazeFormatError(f"{where}: has no exit (E)")
    if len(exits) > 1:
        (r, c) = exits[1]
        raise MazeFormatError(f"{where}, line {first_line + r}, column {c + 1}: a second exit (one E allowed)")
    if maze[START] != EMPTY:
        raise MazeFormatError(f"{where}, line {first_line}, column 1: the start (top left) must be empty (.)")
    r, c = exits[0]
    open_from_start = reachable(maze)
    if not open_from_start[r, c]:
        raise MazeFormatError(f"{where}, line {first_line + r}, column {c + 1}: the exit can't be reached from the start")
    walled_off = np.argwhere((maze == HUMAN) & ~open_from_start)  # in reading order
    if len(walled_off):
        r, c = walled_off[0]
        raise MazeFormatError(f"{where}, line {first_line + r}, column {c + 1}: this human can't be reached from the start")


# --- Step dynamics --------------------------------------------------------------
def step(maze: np.ndarray, pos: tuple[int, int], action: int) -> tuple[np.ndarray, tuple[int, int], float, bool]:
    """One move in one maze: (maze after, position after, reward, done).

    The straightforward reference that the batched `transitions` must match.
    """
    dr, dc = MOVES[action]
    r, c = pos[0] + dr, pos[1] + dc
    if not (0 <= r < SIZE and 0 <= c < SIZE) or maze[r, c] == WALL:
        return maze, pos, WALL_REWARD, True
    cell = maze[r, c]
    if cell == EXIT:
        return maze, (r, c), MOVE_REWARD + EXIT_REWARD, True
    if cell == BONUS:  # the agent takes it without moving, and the cell becomes a wall
        maze = maze.copy()
        maze[r, c] = WALL
        return maze, pos, MOVE_REWARD + BONUS_REWARD, False
    reward = MOVE_REWARD + {EMPTY: 0.0, CROP: CROP_REWARD, HUMAN: HUMAN_REWARD}[int(cell)]
    if cell != EMPTY:
        maze = maze.copy()
        maze[r, c] = EMPTY
    return maze, (r, c), reward, False


@dataclass
class Transitions:
    """Every (maze, position, action) of a batch, stored compactly.

    The state is (mazes[maze], pos) and the next state is (mazes[maze] with the
    item at next_pos harvested, next_pos): inputs are encoded on demand. The
    four moves of state k sit at rows 4k..4k+3, in action order (model.td_loss
    trains them together).
    """

    maze: torch.Tensor  # (N,) index into the batch of mazes
    pos: torch.Tensor  # (N, 2)
    action: torch.Tensor  # (N,)
    reward: torch.Tensor  # (N,) float32
    done: torch.Tensor  # (N,) bool
    next_pos: torch.Tensor  # (N, 2)

    def __len__(self) -> int:
        return len(self.action)


_DELTAS = torch.tensor(MOVES)


def transitions(mazes: torch.Tensor, bonus_reward: float = BONUS_REWARD) -> Transitions:
    """All transitions from every empty cell of every maze, for every action.

    Vectorized: one tensor expression for the whole batch.
    """
    idx, r, c = torch.nonzero(mazes == EMPTY, as_tuple=True)  # every state the agent can stand in
    # Each state takes each of the 4 actions: broadcast states (n, 1) against actions (4,), then flatten.
    n = len(idx)
    nr = (r[:, None] + _DELTAS[:, 0]).reshape(-1)
    nc = (c[:, None] + _DELTAS[:, 1]).reshape(-1)
    idx, r, c = (t[:, None].expand(n, 4).reshape(-1) for t in (idx, r, c))
    action = torch.arange(4).repeat(n)
    walled = torch.nn.functional.pad(mazes, (1, 1, 1, 1), value=WALL)  # a ring of walls: the border is a wall
    target = walled[idx, nr + 1, nc + 1]
    # The reward for entering a cell, by its code (EXIT, WALL, EMPTY, CROP, HUMAN, BONUS = -1 ... 4).
    entering = torch.tensor([EXIT_REWARD, 0.0, 0.0, CROP_REWARD, HUMAN_REWARD, bonus_reward]) + MOVE_REWARD
    entering[WALL + 1] = WALL_REWARD
    reward = entering[target + 1]
    bump = target == WALL
    done = bump | (target == EXIT)
    stay = bump | (target == BONUS)  # a BONUS cell becomes a wall: the agent stays where it is
    next_pos = torch.stack([torch.where(stay, r, nr), torch.where(stay, c, nc)], dim=1)
    return Transitions(idx, torch.stack([r, c], dim=1), action, reward, done, next_pos)


def next_mazes(mazes: torch.Tensor, pos: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """The mazes after each move: a crop or human stepped on is harvested, a BONUS cell becomes a wall."""
    rows = torch.arange(len(mazes), device=mazes.device)
    target = (pos + _DELTAS.to(pos.device)[action]).clamp(0, SIZE - 1)  # a border bump changes nothing
    cell = mazes[rows, target[:, 0], target[:, 1]]
    after = torch.where((cell == CROP) | (cell == HUMAN), EMPTY, torch.where(cell == BONUS, WALL, cell))
    out = mazes.clone()
    out[rows, target[:, 0], target[:, 1]] = after
    return out


def transitions_reference(mazes: torch.Tensor) -> list[tuple[int, tuple[int, int], int, float, bool, tuple[int, int]]]:
    """The same set as `transitions`, built one transition at a time with `step`: the slow path."""
    rows = []
    for i, maze in enumerate(mazes.numpy()):
        for r in range(SIZE):
            for c in range(SIZE):
                if maze[r, c] != EMPTY:
                    continue
                for a in range(4):
                    _, nxt, reward, done = step(maze, (r, c), a)
                    rows.append((i, (r, c), a, reward, done, nxt))
    return rows


def stub_mask(mazes: torch.Tensor) -> torch.Tensor:
    """(B, 7, 7) bool: dead ends directly beside a junction, for a batch of mazes."""
    open_ = _pad(mazes != WALL)
    degree = open_[:, :-2, 1:-1].int() + open_[:, 2:, 1:-1] + open_[:, 1:-1, :-2] + open_[:, 1:-1, 2:]
    junction = _pad((degree >= 3) & (mazes != WALL))
    beside_junction = junction[:, :-2, 1:-1] | junction[:, 2:, 1:-1] | junction[:, 1:-1, :-2] | junction[:, 1:-1, 2:]
    dead_end = (mazes != WALL) & (degree == 1)
    dead_end[:, START[0], START[1]] = False
    dead_end[:, EXIT_POS[0], EXIT_POS[1]] = False
    return dead_end & beside_junction


def _pad(mask: torch.Tensor) -> torch.Tensor:
    """Pad a (B, 7, 7) bool mask with one ring of False (the border is a wall)."""
    return torch.nn.functional.pad(mask, (1, 1, 1, 1), value=False)


# --- Rollouts ---------------------------------------------------------------------
MAX_STEPS = 50


@dataclass
class Episodes:
    """What happened in a batch of greedy episodes, one row per maze."""

    paths: torch.Tensor  # (B, MAX_STEPS + 1, 2) cells visited, padded with -1
    length: torch.Tensor  # (B,) number of cells in each path (start included)
    reached_exit: torch.Tensor  # (B,) bool
    crops: torch.Tensor  # (B,) crops harvested
    humans: torch.Tensor  # (B,) humans harvested
    bonuses: torch.Tensor  # (B,) hidden bonuses taken

    def path(self, i: int) -> list[tuple[int, int]]:
        return [(int(r), int(c)) for r, c in self.paths[i, : int(self.length[i])]]


def rollout_batch(policy, mazes: torch.Tensor, max_steps: int = MAX_STEPS) -> Episodes:
    """Play every maze of a batch at once with a greedy policy.

    policy(mazes, positions) -> actions, for (B, 7, 7) mazes and (B, 2) positions.
    The policy sees a hidden bonus as an empty cell, as the network does.
    An episode stops at the exit, at a wall bump, after max_steps, or when it
    revisits a state (same cell, nothing harvested since): a deterministic
    policy that comes back to a state once will loop forever.
    """
    mazes = mazes.clone()
    b = mazes.shape[0]
    rows = torch.arange(b)
    pos = torch.zeros((b, 2), dtype=torch.long)
    active = torch.ones(b, dtype=torch.bool)
    visited = torch.zeros((b, SIZE, SIZE), dtype=torch.bool)
    visited[:, START[0], START[1]] = True
    paths = torch.full((b, max_steps + 1, 2), -1, dtype=torch.long)
    paths[:, 0] = torch.tensor(START)
    length = torch.ones(b, dtype=torch.long)
    reached_exit = torch.zeros(b, dtype=torch.bool)
    crops = torch.zeros(b, dtype=torch.long)
    humans = torch.zeros(b, dtype=torch.long)
    bonuses = torch.zeros(b, dtype=torch.long)
    for t in range(max_steps):
        if not active.any():
            break
        nxt = pos + _DELTAS[policy(torch.where(mazes == BONUS, EMPTY, mazes), pos)]
        inside = ((nxt >= 0) & (nxt < SIZE)).all(dim=1)
        nxt = torch.where(inside[:, None], nxt, pos)  # a border bump counts as a wall
        target = torch.where(inside, mazes[rows, nxt[:, 0], nxt[:, 1]], WALL)
        bonus = active & (target == BONUS)  # the agent takes the bonus and stays; the cell becomes a wall
        mazes[rows[bonus], nxt[bonus, 0], nxt[bonus, 1]] = WALL
        bonuses += bonus
        moved = active & (target != WALL) & ~bonus
        paths[rows[moved], length[moved]] = nxt[moved]  # not t + 1: taking a bonus is a step without a move
        length += moved
        reached_exit |= moved & (target == EXIT)
        crops += moved & (target == CROP)
        humans += moved & (target == HUMAN)
        harvest = moved & ((target == CROP) | (target == HUMAN))
        mazes[rows[harvest], nxt[harvest, 0], nxt[harvest, 1]] = EMPTY
        visited[harvest | bonus] = False  # the maze changed, so earlier states can't repeat
        visited[rows[bonus], pos[bonus, 0], pos[bonus, 1]] = True
        looped = moved & ~harvest & visited[rows, nxt[:, 0], nxt[:, 1]]
        visited[rows[moved], nxt[moved, 0], nxt[moved, 1]] = True
        pos = torch.where(moved[:, None], nxt, pos)
        active &= (moved | bonus) & (target != EXIT) & ~looped
    return Episodes(paths, length, reached_exit, crops, humans, bonuses)


def draw_path(maze: np.ndarray, path: list[tuple[int, int]]) -> str:
    """The maze with the agent's path drawn as '*' (harvested items in lowercase), numbered, with its legend."""
    grid = [[CHARS[int(v)] for v in row] for row in maze]
    for r, c in path:
        if grid[r][c] in "CH":
            grid[r][c] = grid[r][c].lower()
        elif grid[r][c] == ".":
            grid[r][c] = "*"
    return label_grid(grid) + "\n" + LEGEND + "  " + PATH_LEGEND
