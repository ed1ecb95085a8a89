"""Hardening: hand-typed mazes, a classmate's weights files, Ctrl-C and kill -9, seeds, NaN.

Every run of an entry point here is counted in TALLY (runs, tracebacks seen,
files written or changed); conftest.py prints the tally at the end of the
session, and test_readme_reliability_counts checks the README's figures
against the corpora below.

Most runs call an entry point's main(argv) in this process: that is the code a
command line runs, minus Python's start-up, so the whole corpus fits in the
default suite. A few cases per entry point also run as real subprocesses
(exit code, stderr, no traceback); the slow suite runs all of them that way.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import re
import selectors
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import main_train
import maze_dream
import maze_env as env
from helpers import ROOT, SUBPROCESS_ENV
from model import WeightsError, load_agent, make_q_network, save_agent

GOOD = ".#.....\n.#.###.\n.#.#C#.\n.#.#.#.\n...#...\n####.##\nH.....E\n"  # the lecture maze
OTHER = (ROOT / "examples" / "in_dist_1.txt").read_text()
HANG_GUARD = 300  # seconds; only there so that a hung subprocess fails the test instead of blocking CI

TALLY: Counter = Counter({"runs": 0, "tracebacks": 0, "files written or changed": 0})  # printed by conftest.py


def replace_line(text: str, number: int, new: str) -> str:
    lines = text.split("\n")
    lines[number - 1] = new
    return "\n".join(lines)


# --- The corpus of bad maze input -------------------------------------------------------------
@dataclass(frozen=True)
class BadMaze:
    """A kind of bad maze input and the part of the one-line error that must name the problem."""

    name: str
    data: bytes = b""  # the file's bytes (kind == "bytes")
    where: str = ""
    kind: str = "bytes"  # or "folder", "device", "missing": a path that isn't a maze file at all

    def create(self, path: Path, listed: bool = False) -> Path:
        """Make `path` this kind of bad input. listed: it must show up in a folder listing."""
        if self.kind == "bytes":
            path.write_bytes(self.data)
        elif self.kind == "folder":
            path.mkdir()
        elif self.kind == "device":
            path.symlink_to("/dev/zero")  # never ends: reading it all would fill the memory
        elif listed:  # "missing", as found in a folder: a link to nothing
            path.symlink_to(path.parent / "no-such-file.txt")
        return path


def utf8(text: str) -> bytes:
    return text.encode("utf-8")


BAD_MAZES = [
    BadMaze("empty file", b"", "no maze found"),
    BadMaze("only blank lines and spaces", b"\n   \n\n", "no maze found"),
    BadMaze("six lines", utf8("\n".join(GOOD.split("\n")[:6]) + "\n"), "maze 1 (line 1): has 6 lines"),
    BadMaze("eight lines", utf8(GOOD + ".......\n"), "maze 1 (line 1): has 8 lines"),
    BadMaze("a 6-character line", utf8(replace_line(GOOD, 1, ".#....")), "maze 1, line 1: has 6 characters"),
    BadMaze("an 8-character line", utf8(replace_line(GOOD, 5, "...#....")), "maze 1, line 5: has 8 characters"),
    BadMaze("a tab inside a line", utf8(replace_line(GOOD, 2, ".#\t###.")), "maze 1, line 2, column 3: unknown character '\\t'"),
    BadMaze("a tab after a line", utf8(replace_line(GOOD, 4, ".#.#.#.\t")), "maze 1, line 4, column 8: unknown character '\\t'"),
    BadMaze("an indented maze", utf8("".join("  " + line + "\n" for line in GOOD.split())), "maze 1, line 1, column 1: unknown character ' '"),
    BadMaze("a space inside a line", utf8(replace_line(GOOD, 6, "#### ##")), "maze 1, line 6, column 5: unknown character ' '"),
    BadMaze("an unknown letter", utf8(GOOD.replace("H", "X")), "maze 1, line 7, column 1: unknown character 'X'"),
    BadMaze("lowercase letters", utf8(GOOD.lower()), "maze 1, line 3, column 5: unknown character 'c'"),
    BadMaze("cell codes as numbers", utf8("1011111\n1010001\n1010201\n1010101\n1110111\n0000100\n3111111\n"), "maze 1, line 1, column 1: unknown character '1'"),
    BadMaze("look-alike Unicode from a web page", utf8(replace_line(GOOD, 3, "\u00b7#.#C#.")), "maze 1, line 3, column 1: unknown character '\u00b7'"),
    BadMaze("a non-breaking space after a line", utf8(replace_line(GOOD, 2, ".#.###.\u00a0")), "maze 1, line 2, column 8: unknown character '\\xa0'"),
    BadMaze("old Mac line endings (CR only)", utf8(GOOD.replace("\n", "\r")), "maze 1 (line 1): has 1 lines"),
    BadMaze("two mazes without a blank line between", utf8(GOOD + GOOD), "maze 1 (line 1): has 14 lines"),
    BadMaze("a comment line above the maze", utf8("# my maze\n" + GOOD), "maze 1 (line 1): has 8 lines"),
    BadMaze("two exits", utf8(replace_line(GOOD, 1, ".#....E")), "maze 1, line 7, column 7: a second exit"),
    BadMaze("no exit", utf8(GOOD.replace("E", ".")), "maze 1: has no exit"),
    BadMaze("a walled start", utf8("#" + GOOD[1:]), "maze 1, line 1, column 1: the start (top left) must be empty"),
    BadMaze("a human on the start", utf8("H" + GOOD[1:]), "maze 1, line 1, column 1: the start (top left) must be empty"),
    BadMaze("an unreachable exit", utf8(replace_line(GOOD, 6, "#######")), "maze 1, line 7, column 7: the exit can't be reached"),
    BadMaze("an unreachable human", utf8(replace_line(GOOD, 7, "H#....E")), "maze 1, line 7, column 1: this human can't be reached"),
    BadMaze("binary garbage (a PNG header)", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "not UTF-8 text (bad byte at offset 0)"),
    BadMaze("UTF-16 text (Notepad's 'Unicode')", GOOD.encode("utf-16"), "not UTF-8 text (bad byte at offset 0)"),
    BadMaze("a maze of NUL bytes", b"\x00" * 7 + b"\n" + utf8(GOOD.split("\n", 1)[1]), "maze 1, line 1, column 1: unknown character '\\x00'"),
    BadMaze("a huge file (2 MB of mazes)", utf8((GOOD + "\n") * 36_000), "larger than 1000000 bytes"),
    BadMaze("one very long line", b"#" * 200_000, "maze 1 (line 1): has 1 lines"),
    BadMaze("three mazes, the middle one broken", utf8(GOOD + "\n" + GOOD.replace("C", "x") + "\n" + OTHER), "maze 2, line 11, column 5: unknown character 'x'"),
    BadMaze("the last maze cut off (truncated file)", utf8(GOOD + "\n" + GOOD[:30]), "maze 2 (line 9): has 4 lines"),
    BadMaze("a folder instead of a file", kind="folder", where="can't read it (not a regular file)"),
    BadMaze("a device that never ends (/dev/zero)", kind="device", where="can't read it (not a regular file)"),
    BadMaze("a missing file", kind="missing", where="can't read it (No such file or directory)"),
]

# Accepted on purpose: what editors and operating systems do to a maze someone typed correctly.
ACCEPTED = [
    ("Windows line endings", GOOD.replace("\n", "\r\n")),
    ("a UTF-8 byte-order mark", "\ufeff" + GOOD),
    ("a byte-order mark and Windows line endings", "\ufeff" + GOOD.replace("\n", "\r\n")),
    ("trailing spaces", GOOD.replace("\n", "   \n")),
    ("extra blank lines, some with spaces", "\n\n" + GOOD + "\n  \n\n"),
    ("no newline at the end", GOOD.rstrip("\n")),
    ("mazes separated by several blank lines", GOOD + "\n\n\n" + OTHER),
]


# --- Entry points that read mazes ---------------------------------------------------------------
@dataclass(frozen=True)
class EntryPoint:
    name: str  # as the README names it
    script: str  # the file a user runs
    argv: Callable[[Path, Path, Path], list[str]]  # (maze file, weights, scratch folder) -> arguments
    in_examples: bool = False  # the maze file goes into the examples folder, not on the command line

    @property
    def main(self) -> Callable[[list[str]], int]:
        return main_train.main if self.script == "main_train.py" else maze_dream.main


def tiny_training(scratch: Path, *extra: str, steps: int = 100) -> list[str]:
    """A training run small enough for a test; weights and curve go to scratch/run/."""
    return ["--hidden", "32", "--train-mazes", "300", "--steps", str(steps), "--eval-every", str(steps),
            "--batch-size", "128", "--eval-mazes", "50", "--save", str(scratch / "run" / "agent.pt"),
            "--out", str(scratch / "run"), *extra]


MAZE_ENTRY_POINTS = [
    EntryPoint("main_train.py --evaluate FILE", "main_train.py",
               lambda maze, weights, scratch: ["--evaluate", str(maze), "--weights", str(weights)]),
    EntryPoint("main_train.py (training; reads examples/*.txt first)", "main_train.py",
               lambda maze, weights, scratch: tiny_training(scratch), in_examples=True),
    EntryPoint("maze_dream.py --init-maze FILE", "maze_dream.py",
               lambda maze, weights, scratch: ["--solution", "--weights", str(weights), "--init-maze", str(maze),
                                               "--steps", "1", "--png", str(scratch / "dream.png")]),
]


# --- Running an entry point and checking what it left behind -----------------------------------
SKIP_DIRS = {".git", "__pycache__", ".pytest_cache", ".hypothesis", ".venv"}


def snapshot(*folders: Path) -> dict[Path, str]:
    """Every path under the folders, with a digest of each regular file's content."""
    found = {}
    for folder in folders:
        for top, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS]  # pruned, not walked: .venv alone is thousands of files
            for name in dirs + files:
                path = Path(top) / name
                if path.is_symlink() or not path.is_file():
                    found[path] = "link" if path.is_symlink() else "folder"
                else:
                    found[path] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def count_changes(before: dict[Path, str], after: dict[Path, str]) -> list[Path]:
    """Files written, changed or removed between two snapshots; counted in TALLY."""
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    TALLY["files written or changed"] += len(changed)
    return changed


@dataclass
class Outcome:
    code: int | None
    out: str
    err: str


def run_in_process(main: Callable[[list[str]], int], argv: list[str]) -> Outcome:
    """main(argv) with stdout and stderr captured; an exception escaping main is a traceback."""
    out, err = io.StringIO(), io.StringIO()
    TALLY["runs"] += 1
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse errors
            code = exit_.code
        except BaseException:
            TALLY["tracebacks"] += 1
            raise
    return Outcome(code, out.getvalue(), err.getvalue())


def run_subprocess(script: str, argv: list[str], cwd: Path, examples: Path | None = None) -> Outcome:
    """The script as a user runs it, from cwd. examples: point main_train at another examples folder."""
    if examples is None:
        cmd = [sys.executable, str(ROOT / script), *argv]
    else:  # the real main() in a real process, with only the examples folder swapped
        code = (f"import sys; from pathlib import Path; sys.path.insert(0, {str(ROOT)!r}); import main_train; "
                "main_train.EXAMPLES = Path(sys.argv[1]); sys.exit(main_train.main(sys.argv[2:]))")
        cmd = [sys.executable, "-c", code, str(examples), *argv]
    TALLY["runs"] += 1
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=SUBPROCESS_ENV, timeout=HANG_GUARD)
    if "Traceback" in done.stderr:
        TALLY["tracebacks"] += 1
    return Outcome(done.returncode, done.stdout, done.stderr)


def assert_one_line_error(result: Outcome, *fragments: str) -> None:
    assert "Traceback" not in result.err, result.err
    assert result.code == 2, (result.code, result.err)
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert result.out == "", result.out


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "small.pt"
    torch.manual_seed(0)
    save_agent(make_q_network(32, 2), path)
    return path


def bad_maze_run(case: BadMaze, entry: EntryPoint, weights: Path, scratch: Path, monkeypatch, subprocess_: bool):
    """Run one entry point on one kind of bad maze; check exit 2, one line, nothing written."""
    cwd = scratch / "cwd"
    cwd.mkdir()
    folder = scratch / "examples"
    folder.mkdir()
    if entry.in_examples:
        (folder / "good.txt").write_text(GOOD)
        maze = case.create(folder / "bad.txt", listed=True)
    else:
        maze = case.create(scratch / "bad.txt")
    before = snapshot(ROOT, scratch, weights.parent)
    argv = entry.argv(maze, weights, scratch)
    if subprocess_:
        result = run_subprocess(entry.script, argv, cwd, folder if entry.in_examples else None)
    else:
        monkeypatch.chdir(cwd)  # anything written to a relative path would land here
        monkeypatch.setattr(main_train, "EXAMPLES", folder)
        result = run_in_process(entry.main, argv)
    assert count_changes(before, snapshot(ROOT, scratch, weights.parent)) == []
    assert_one_line_error(result, str(maze), case.where)


def slug(name: str) -> str:
    return re.sub(r"\W+", "-", name).strip("-")


def cross_product(cases: list, entries: list, sample: dict[str, str] | None = None) -> list:
    """Every (case, entry point) pair; with a sample (entry name -> case name), the others are marked slow."""
    params = []
    for entry in entries:
        for case in cases:
            slow = sample is not None and sample[entry.name] != case.name
            params.append(pytest.param(case, entry, id=f"{slug(case.name)}--{slug(entry.name)}",
                                       marks=[pytest.mark.slow] if slow else []))
    return params


# --- Bad mazes through every entry point -----------------------------------------------------------
@pytest.mark.parametrize("case, entry", cross_product(BAD_MAZES, MAZE_ENTRY_POINTS))
def test_bad_maze_in_process(case, entry, weights, tmp_path, monkeypatch):
    bad_maze_run(case, entry, weights, tmp_path, monkeypatch, subprocess_=False)


# As real subprocesses: one case per entry point in the default suite, all of them with -m slow.
MAZE_SAMPLE = {
    MAZE_ENTRY_POINTS[0].name: "binary garbage (a PNG header)",
    MAZE_ENTRY_POINTS[1].name: "three mazes, the middle one broken",
    MAZE_ENTRY_POINTS[2].name: "a huge file (2 MB of mazes)",
}


@pytest.mark.parametrize("case, entry", cross_product(BAD_MAZES, MAZE_ENTRY_POINTS, MAZE_SAMPLE))
def test_bad_maze_subprocess(case, entry, weights, tmp_path, monkeypatch):
    bad_maze_run(case, entry, weights, tmp_path, monkeypatch, subprocess_=True)


def test_bad_maze_corpus_is_broad_and_each_case_fails_for_its_own_reason():
    names = [c.name for c in BAD_MAZES]
    assert len(set(names)) == len(names) >= 20
    contents = [c.data for c in BAD_MAZES if c.kind == "bytes"]
    assert len(set(contents)) == len(contents)
    assert len({c.kind for c in BAD_MAZES}) == 4
    for case in BAD_MAZES:  # the text cases straight through parse_mazes, without files
        if case.kind == "bytes" and "UTF-8" not in case.where and len(case.data) <= env.MAX_FILE_BYTES:
            with pytest.raises(env.MazeFormatError, match=re.escape(case.where)):
                env.parse_mazes(case.data.decode("utf-8"), "f.txt")


# maze_dream's --png hands matplotlib a torch tensor, which numpy 2 warns about; not what this test is about.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
@pytest.mark.parametrize("name, text", ACCEPTED, ids=[slug(name) for name, _ in ACCEPTED])
def test_accepted_variants_read_like_the_clean_file(name, text, weights, tmp_path, monkeypatch):
    clean = GOOD + "\n" + OTHER if OTHER in text else GOOD
    (tmp_path / "clean.txt").write_text(clean)
    (tmp_path / "typed.txt").write_bytes(utf8(text))
    monkeypatch.chdir(tmp_path)
    for entry in (MAZE_ENTRY_POINTS[0], MAZE_ENTRY_POINTS[2]):
        clean_run, variant_run = (run_in_process(entry.main, entry.argv(tmp_path / f, weights, tmp_path))
                                  for f in ("clean.txt", "typed.txt"))
        assert (clean_run.code, variant_run.code) == (0, 0), variant_run.err
        assert variant_run.out == clean_run.out.replace("clean.txt", "typed.txt")  # the table names the file (same length)
        assert variant_run.err == clean_run.err
    read = main_train.read_examples(tmp_path)  # the training entry point reads examples/ this way
    assert [m.tolist() for m in read["typed.txt"]] == [m.tolist() for m in read["clean.txt"]]


# --- Property-based: random text never gives a traceback, and files round-trip ------------------
def mutated(text: str) -> st.SearchStrategy[str]:
    """The text with a few characters inserted, deleted or replaced: near misses reach the deep checks."""
    edit = st.tuples(st.sampled_from("idr"), st.integers(0, len(text)), st.sampled_from("#.CHE \t\r\n\ufeffxch1"))

    def apply(edits) -> str:
        out = text
        for op, i, ch in edits:
            i = min(i, len(out))
            out = out[:i] + ch + out[i:] if op == "i" else out[:i] + ("" if op == "d" else ch) + out[i + 1:]
        return out

    return st.lists(edit, min_size=1, max_size=4).map(apply)


maze_like_text = st.one_of(
    st.text(),
    st.text(alphabet="#.CHE \t\r\n\ufeff", max_size=150),
    mutated(GOOD),
    mutated(GOOD + "\n" + OTHER),
)


def check_outcome(read: Callable[[], list[np.ndarray]]) -> None:
    """Reading gives valid mazes or a one-line MazeFormatError; anything else is a bug."""
    try:
        mazes = read()
    except env.MazeFormatError as err:
        assert str(err).strip() and "\n" not in str(err), repr(str(err))
        return
    assert mazes
    for maze in mazes:
        assert maze.shape == (env.SIZE, env.SIZE)
        env.check_maze(maze)  # what parse_mazes returns passes the checks again


@settings(max_examples=300, deadline=None)
@given(maze_like_text)
def test_random_text_never_raises_anything_else(text):
    check_outcome(lambda: env.parse_mazes(text, "f.txt"))


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=300), maze_like_text.map(utf8)))
def test_random_bytes_in_a_file_never_raise_anything_else(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "random.txt"
    path.write_bytes(data)
    check_outcome(lambda: env.read_maze_file(path))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=200), mutated(GOOD).map(utf8)))
def test_random_bytes_through_evaluate_never_give_a_traceback(tmp_path_factory, weights, data):
    path = tmp_path_factory.getbasetemp() / "random-evaluate.txt"
    path.write_bytes(data)
    result = run_in_process(main_train.main, ["--evaluate", str(path), "--weights", str(weights), "--json"])
    if result.code == 2:
        assert_one_line_error(result, str(path))
    else:
        assert result.code == 0 and result.err == "", result.err


grids = st.lists(st.lists(st.sampled_from([env.WALL, env.EMPTY, env.CROP, env.HUMAN, env.EXIT]),
                          min_size=7, max_size=7), min_size=7, max_size=7).map(np.array)


@settings(max_examples=300, deadline=None)
@given(grids)
def test_any_grid_round_trips_or_fails_exactly_like_check_maze(grid):
    text = env.format_maze(grid)
    try:
        env.check_maze(grid, "<text>: maze 1")
    except env.MazeFormatError as err:
        with pytest.raises(env.MazeFormatError) as parsed:
            env.parse_mazes(text)
        assert str(parsed.value) == str(err)
    else:
        [back] = env.parse_mazes(text)
        assert np.array_equal(back, grid)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.sampled_from(["training", "ood"])), min_size=1, max_size=4),
       st.sampled_from(["\n", "\r\n"]), st.booleans(), st.sampled_from(["", "  "]), st.integers(1, 3))
def test_generated_mazes_round_trip_through_text(specs, newline, bom, trailing, blank_lines):
    mazes = []
    for seed, family in specs:
        rng = np.random.default_rng(seed)
        mazes.append(env.make_plain_maze(rng) if family == "training" else env.make_ood_maze(rng))
    text = ("\n" * (blank_lines + 1)).join(env.format_maze(m) for m in mazes)
    text = ("\ufeff" if bom else "") + text.replace("\n", trailing + "\n").replace("\n", newline)
    back = env.parse_mazes(text)
    assert len(back) == len(mazes)
    for a, b in zip(mazes, back):
        assert np.array_equal(a, b)


# --- Weights files ---------------------------------------------------------------------------------
class RunsCode:
    """Unpickling this runs a shell command that creates `marker`."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def good_blob() -> dict:
    """What save_agent writes for a small network, as a dict to spoil."""
    net = make_q_network(32, 2)
    return {"format": "maze-q-network/1", "hidden": 32, "layers": 2,
            "state_dict": {k: v.clone() for k, v in net.state_dict().items()}, "info": {}}


def write_evil_pickle(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps(RunsCode(marker)))


def write_evil_torch_file(path: Path, marker: Path) -> None:
    blob = good_blob()
    blob["info"] = {"note": RunsCode(marker)}  # a real weights file with a payload tucked inside
    torch.save(blob, path)


def write_truncated(path: Path, marker: Path) -> None:
    save_agent(make_q_network(32, 2), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def spoiled(change: Callable[[dict], None]) -> Callable[[Path, Path], None]:
    """A writer of a weights file that save_agent would write, with one thing changed."""
    def write(path: Path, marker: Path) -> None:
        blob = good_blob()
        change(blob)
        torch.save(blob, path)

    return write


def wrong_shape(blob: dict) -> None:
    blob["state_dict"]["0.weight"] = torch.zeros(32, 200)


def nan_weight(blob: dict) -> None:
    blob["state_dict"]["2.bias"][0] = float("nan")


@dataclass(frozen=True)
class BadWeights:
    name: str
    write: Callable[[Path, Path], None]  # (path, marker file the payload would create)
    where: str  # part of the one-line error


BAD_WEIGHTS = [
    BadWeights("a pickle that would run code", write_evil_pickle, "refused: a pickle that asks to run code"),
    BadWeights("a weights file with code tucked inside", write_evil_torch_file, "refused: a pickle that asks to run code"),
    BadWeights("wrong shapes", spoiled(wrong_shape), "0.weight has shape (32, 200), expected (32, 210)"),
    BadWeights("a truncated file", write_truncated, "damaged, truncated or not a weights file"),
    BadWeights("an empty file", lambda path, marker: path.write_bytes(b""), "damaged, truncated or not a weights file"),
    BadWeights("a maze text file", lambda path, marker: path.write_text(GOOD), "damaged, truncated or not a weights file"),
    BadWeights("a bare state_dict", lambda path, marker: torch.save(make_q_network(32, 2).state_dict(), path),
               "not a maze-q-network/1 weights file"),
    BadWeights("a missing layer", spoiled(lambda b: b["state_dict"].pop("4.weight")), "don't match a 2x32 Q-network"),
    BadWeights("an absurd network size", spoiled(lambda b: b.update(hidden=10**9)), "bad network size"),
    BadWeights("NaN in the weights", spoiled(nan_weight), "2.bias holds NaN or inf"),
    BadWeights("a folder", lambda path, marker: path.mkdir(), "not a regular file"),
    BadWeights("a device (/dev/zero)", lambda path, marker: path.symlink_to("/dev/zero"), "not a regular file"),
    BadWeights("a missing file", lambda path, marker: None, "no such weights file"),
]


@dataclass(frozen=True)
class WeightsEntryPoint:
    name: str
    script: str
    argv: Callable[[Path, Path, Path], list[str]]  # (weights to test, good weights, scratch folder) -> arguments

    @property
    def main(self) -> Callable[[list[str]], int]:
        return main_train.main if self.script == "main_train.py" else maze_dream.main


WEIGHTS_ENTRY_POINTS = [
    WeightsEntryPoint("main_train.py --evaluate FILE --weights W", "main_train.py",
                      lambda w, good, scratch: ["--evaluate", str(ROOT / "examples" / "in_dist_lecture.txt"),
                                                "--weights", str(w)]),
    WeightsEntryPoint("maze_dream.py --weights W", "maze_dream.py",
                      lambda w, good, scratch: ["--solution", "--weights", str(w), "--steps", "1",
                                                "--png", str(scratch / "dream.png")]),
    WeightsEntryPoint("maze_dream.py --all --control W", "maze_dream.py",
                      lambda w, good, scratch: ["--solution", "--all", "--weights", str(good), "--control", str(w),
                                                "--steps", "1", "--png", str(scratch / "dream.png")]),
]


def bad_weights_run(case: BadWeights, entry: WeightsEntryPoint, weights: Path, scratch: Path, monkeypatch,
                    subprocess_: bool) -> None:
    """Run one entry point on one kind of bad weights file; check exit 2, one line, no code run, nothing written."""
    cwd = scratch / "cwd"
    cwd.mkdir()
    marker = scratch / "the-payload-ran"
    bad = scratch / "bad.pt"
    case.write(bad, marker)
    before = snapshot(ROOT, scratch, weights.parent)
    argv = entry.argv(bad, weights, scratch)
    if subprocess_:
        result = run_subprocess(entry.script, argv, cwd)
    else:
        monkeypatch.chdir(cwd)
        result = run_in_process(entry.main, argv)
    assert not marker.exists(), "loading the file ran its code"
    assert count_changes(before, snapshot(ROOT, scratch, weights.parent)) == []
    assert_one_line_error(result, str(bad), case.where)


@pytest.mark.parametrize("case, entry", cross_product(BAD_WEIGHTS, WEIGHTS_ENTRY_POINTS))
def test_bad_weights_in_process(case, entry, weights, tmp_path, monkeypatch):
    bad_weights_run(case, entry, weights, tmp_path, monkeypatch, subprocess_=False)


WEIGHTS_SAMPLE = {
    WEIGHTS_ENTRY_POINTS[0].name: "a pickle that would run code",
    WEIGHTS_ENTRY_POINTS[1].name: "a truncated file",
    WEIGHTS_ENTRY_POINTS[2].name: "wrong shapes",
}


@pytest.mark.parametrize("case, entry", cross_product(BAD_WEIGHTS, WEIGHTS_ENTRY_POINTS, WEIGHTS_SAMPLE))
def test_bad_weights_subprocess(case, entry, weights, tmp_path, monkeypatch):
    bad_weights_run(case, entry, weights, tmp_path, monkeypatch, subprocess_=True)


def test_the_payloads_in_the_evil_files_are_real(tmp_path):
    """The refusal tests mean something only if an ordinary unpickle would run the payload."""
    for make, unsafe_load in ((write_evil_pickle, lambda path: pickle.loads(path.read_bytes())),
                              (write_evil_torch_file, lambda path: torch.load(path, weights_only=False))):
        marker = tmp_path / f"ran-{make.__name__}"
        make(tmp_path / "evil.pt", marker)
        with pytest.raises(WeightsError, match="refused"):
            load_agent(tmp_path / "evil.pt")
        assert not marker.exists()
        unsafe_load(tmp_path / "evil.pt")  # what load_agent must never do
        assert marker.exists()


# --- Killed runs -----------------------------------------------------------------------------------
def reset_sigint() -> None:
    """In the child: a shell that starts jobs in the background makes them ignore SIGINT; undo that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_training(scratch: Path) -> subprocess.Popen:
    """main_train.py with tiny settings and far too many steps to finish before we stop it."""
    cmd = [sys.executable, str(ROOT / "main_train.py"), *tiny_training(scratch, "--no-examples", steps=1_000_000)]
    TALLY["runs"] += 1
    return subprocess.Popen(cmd, cwd=scratch, env=SUBPROCESS_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=reset_sigint)


def wait_for_training(proc: subprocess.Popen) -> bytes:
    """Read stderr until tqdm's 'training' bar shows: the run is inside train()."""
    seen = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stderr, selectors.EVENT_READ)
        while b"training" not in seen:
            if not sel.select(timeout=HANG_GUARD):
                proc.kill()
                pytest.fail("the training run never started")
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                pytest.fail(f"the run ended before training: {seen.decode(errors='replace')}")
            seen += chunk
    return seen


def message_lines(err: str) -> list[str]:
    """stderr without tqdm's progress bar."""
    return [line for line in re.split(r"[\r\n]", err) if line.strip() and not line.startswith("training:")]


@pytest.fixture
def previous_weights(tmp_path) -> tuple[Path, bytes]:
    """A valid weights file already at the --save path, as left by an earlier run."""
    path = tmp_path / "run" / "agent.pt"
    torch.manual_seed(1)
    save_agent(make_q_network(32, 2), path)
    return path, path.read_bytes()


def files_besides(previous: tuple[Path, bytes]) -> list[Path]:
    """Check the earlier weights file is byte for byte the same and loads; return the other files there."""
    path, data = previous
    if path.read_bytes() != data:
        TALLY["files written or changed"] += 1
        pytest.fail("the previous weights file changed")
    load_agent(path)
    return sorted(p for p in path.parent.iterdir() if p != path)


def assert_nothing_else(previous: tuple[Path, bytes]) -> None:
    others = files_besides(previous)
    TALLY["files written or changed"] += len(others)
    assert others == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_signal_during_training_leaves_the_previous_weights_intact(sig, tmp_path, previous_weights):
    proc = start_training(tmp_path)
    seen = wait_for_training(proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=HANG_GUARD)
    err = (seen + err).decode(errors="replace")
    TALLY["tracebacks"] += "Traceback" in err
    assert "Traceback" not in err, err
    assert_nothing_else(previous_weights)
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        assert message_lines(err) == ["interrupted: nothing was saved"], err
    else:
        assert proc.returncode == -signal.SIGKILL


KILLED_WHILE_SAVING = """\
import io, os, signal, sys
sys.path.insert(0, {root!r})
import torch, main_train
real_save = torch.save

def save_half_then_signal(obj, f, *args, **kwargs):
    buffer = io.BytesIO()
    real_save(obj, buffer, *args, **kwargs)
    data = buffer.getvalue()
    f.write(data[: len(data) // 2])
    f.flush()
    os.kill(os.getpid(), signal.{sig})  # halfway through writing the file

torch.save = save_half_then_signal
sys.exit(main_train.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig", ["SIGINT", "SIGKILL"])
def test_signal_while_saving_leaves_the_previous_weights_intact(sig, tmp_path, previous_weights):
    code = KILLED_WHILE_SAVING.format(root=str(ROOT), sig=sig)
    TALLY["runs"] += 1
    done = subprocess.run([sys.executable, "-c", code, *tiny_training(tmp_path, "--no-examples", steps=20)],
                          capture_output=True, text=True, cwd=tmp_path, env=SUBPROCESS_ENV, timeout=HANG_GUARD,
                          preexec_fn=reset_sigint)
    TALLY["tracebacks"] += "Traceback" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    if sig == "SIGINT":  # Python gets to clean up: save_agent removes its half-written temp file
        assert done.returncode == 130
        assert message_lines(done.stderr) == ["interrupted: nothing was saved"], done.stderr
        assert_nothing_else(previous_weights)
    else:  # nothing runs after SIGKILL: the half-written temp file stays, under a name nothing loads
        assert done.returncode == -signal.SIGKILL
        [temp] = files_besides(previous_weights)
        assert temp.name.startswith(".agent.pt.") and temp.suffix == ".tmp", temp
        with pytest.raises(WeightsError):
            load_agent(temp)
        TALLY["hidden .tmp files left by SIGKILL while saving"] += 1


# --- Reproducibility -------------------------------------------------------------------------------
def test_same_seed_gives_identical_weights_and_tables(tmp_path):
    runs = []
    for name in ("a", "b"):  # both at once, one core each
        cmd = [sys.executable, str(ROOT / "main_train.py"), "--seed", "3", "--no-examples",
               *tiny_training(tmp_path / name, steps=150)]
        TALLY["runs"] += 1
        runs.append(subprocess.Popen(cmd, cwd=tmp_path, env=SUBPROCESS_ENV, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True))
    outputs = [proc.communicate(timeout=HANG_GUARD) for proc in runs]
    assert [proc.returncode for proc in runs] == [0, 0], outputs
    tables = [out[out.index("Greedy rollouts"):] for out, _ in outputs]
    assert tables[0] == tables[1]
    assert len(tables[0].strip().splitlines()) == 7, tables[0]  # two title lines, header, four families
    a, b = (tmp_path / name / "run" / "agent.pt" for name in ("a", "b"))
    assert a.read_bytes() == b.read_bytes()
    (net_a, _), (net_b, _) = load_agent(a), load_agent(b)
    for (name, x), y in zip(net_a.state_dict().items(), net_b.state_dict().values()):
        assert torch.equal(x, y), name


# --- Numerical sanity ----------------------------------------------------------------------------
@pytest.mark.parametrize("lr", ["1e12", "inf"])
def test_diverging_training_stops_with_a_clear_message_and_saves_nothing(lr, tmp_path, previous_weights, one_thread):
    result = run_in_process(main_train.main, tiny_training(tmp_path, "--no-examples", "--lr", lr))
    assert result.code == 1
    lines = message_lines(result.err)
    assert len(lines) == 1, result.err
    assert re.fullmatch(r"error: the loss became (nan|inf) at step \d+; try a lower --lr; nothing was saved", lines[0])
    assert_nothing_else(previous_weights)


def test_weights_that_break_after_the_last_loss_check_are_not_saved(tmp_path, previous_weights, monkeypatch):
    def train_ending_in_inf(args, log=print):
        net = make_q_network(32, 2)
        with torch.no_grad():
            net[2].weight[0, 0] = float("inf")
        return net.eval(), {"step": [], "loss": [], "eval_step": []}

    monkeypatch.setattr(main_train, "train", train_ending_in_inf)
    result = run_in_process(main_train.main, tiny_training(tmp_path, "--no-examples"))
    assert result.code == 1
    assert result.err == "error: the trained weights hold NaN or inf (2.weight); try a lower --lr; nothing was saved\n"
    assert_nothing_else(previous_weights)


# --- The README's figures ----------------------------------------------------------------------------
def test_readme_reliability_counts():
    """The reliability section (docs/reference.md, linked from the README) quotes these counts; they must match
    the corpora above."""
    text = (ROOT / "docs" / "reference.md").read_text()
    section = text[text.index("## Reliability"):]
    if "\n## " in section:
        section = section[: section.index("\n## ")]
    section = " ".join(section.split())  # phrases may be wrapped across lines
    in_process_runs = len(BAD_MAZES) * len(MAZE_ENTRY_POINTS) + len(BAD_WEIGHTS) * len(WEIGHTS_ENTRY_POINTS)
    expected = [
        f"{len(BAD_MAZES)} kinds of bad maze input",
        f"{len(ACCEPTED)} variants accepted on purpose",
        f"{len(MAZE_ENTRY_POINTS)} entry points that read mazes",
        f"{len(BAD_WEIGHTS)} kinds of bad weights file",
        f"{len(WEIGHTS_ENTRY_POINTS)} entry points that read weights",
        f"{in_process_runs} bad-input runs",
        "Tracebacks seen: 0",
        "Files corrupted: 0",
    ]
    for phrase in expected:
        assert phrase in section, f"the README's reliability section should say {phrase!r}"
    assert len(BAD_MAZES) >= 20
