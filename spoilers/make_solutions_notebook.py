"""SPOILERS: build spoilers/workshop_solutions.ipynb, the workshop notebook with the reference answers and outputs.

    python -m spoilers.make_solutions_notebook           # write it (about a minute on 2 cores)
    python -m spoilers.make_solutions_notebook --check   # exit 1 if the stored one is out of date

It reads workshop.ipynb, puts the reference bodies of spoilers/solutions.py
into the three exercise cells (the cells' signatures and docstrings stay as
they are, and must be the solution's), adds a first cell that says what the
notebook is, runs it top to bottom in a python3 kernel from the repository's
folder (torch on one thread) and writes it atomically. What would differ
from run to run is left out or written the same way every time: no
execution times in the metadata, workshop.ipynb's notebook metadata (not the
kernel's), a printed wall-clock time "took 23 s" written "took N s", the
repository's folder written "<repository>".

Run it again after changing workshop.ipynb, spoilers/solutions.py or
anything the notebook prints: tests/test_solutions_notebook.py fails until
you do. `--check` compares the pictures' bytes only when the matplotlib that
drew them is the one installed; with another, only where they are. Like
workshop.ipynb, the notebook writes runs/audit.json (git ignores runs/).
"""

from __future__ import annotations

import argparse
import base64
import copy
import os
import re
import struct
import sys
import time
from pathlib import Path

import nbformat

from atomic_write import write_atomically
from spoilers.function_source import TODO_END, TODO_START, function_parts

ROOT = Path(__file__).resolve().parent.parent
WORKSHOP = ROOT / "workshop.ipynb"
SOLUTIONS = ROOT / "spoilers" / "solutions.py"
OUTPUT = ROOT / "spoilers" / "workshop_solutions.ipynb"
COMMAND = "python -m spoilers.make_solutions_notebook"
EXERCISES = {"exercise": "wall_locations_gradient", "warning": "warning_cells", "neuron": "unit_gradient"}
BANNER_ID = "solutions"
BANNER = (
    f"**Solutions: do not open before the workshop; regenerate with `{COMMAND}`.**\n\n"
    "This is `workshop.ipynb` with the reference answers of `spoilers/solutions.py` in its three exercise cells, "
    "run from top to bottom in the repository's folder. A wall-clock time is written \"took N s\". To run it "
    "yourself, copy it to the repository's folder first: its cells read files from there."
)
# What a run prints that differs from run to run or from checkout to checkout, and what it is written as.
VARYING = [
    (re.compile(r"\btook \d+(?:\.\d+)? s\b"), "took N s"),  # a wall-clock time: "--all took 23 s"
    (re.compile(r"\bipykernel_\d+\b"), "ipykernel_N"),  # the kernel's process id, in a warning's file name
    (re.compile(re.escape(str(ROOT)) + r"\b"), "<repository>"),  # where the repository is
]
CELL_TIMEOUT = 600  # seconds; the longest cell takes about half a minute


class SolutionsError(Exception):
    """The notebook can't be built or run; the message is one line."""


# --- Building: workshop.ipynb with the reference answers ------------------------------------------
def solved_source(cell_source: str, solution: str, name: str) -> str:
    """An exercise cell's source with the function's body replaced by the reference's, without the TODO lines."""
    text = cell_source + "\n"  # Jupyter keeps no newline at the end of a cell
    head, body = function_parts(text, name)
    solution_head, solution_body = function_parts(solution, name)
    if head != solution_head:
        raise SolutionsError(f"the signature or docstring of {name} in workshop.ipynb and spoilers/solutions.py "
                             "differ: make them the same first")
    answer = "".join(line for line in solution_body.splitlines(keepends=True)
                     if line.strip() not in (TODO_START, TODO_END))
    start = text.index(head) + len(head)
    return (text[:start] + answer + text[start + len(body):]).removesuffix("\n")


def build(workshop: nbformat.NotebookNode, solution: str) -> nbformat.NotebookNode:
    """The solutions notebook, not yet run: the workshop's cells with the answers in, after a banner cell."""
    nb = copy.deepcopy(workshop)
    for cell in nb.cells:
        if cell.get("id") in EXERCISES:
            cell.source = solved_source(cell.source, solution, EXERCISES[cell.id])
    missing = set(EXERCISES) - {cell.get("id") for cell in nb.cells}
    if missing:
        raise SolutionsError(f"workshop.ipynb has no cell with the id {', '.join(sorted(missing))}")
    banner = nbformat.v4.new_markdown_cell(BANNER)
    banner.id = BANNER_ID
    nb.cells.insert(0, banner)
    return nb


def build_from_files() -> nbformat.NotebookNode:
    return build(nbformat.read(WORKSHOP, as_version=4), SOLUTIONS.read_text())


# --- Running it -------------------------------------------------------------------------------------
def execute(nb: nbformat.NotebookNode, quiet: bool = False) -> nbformat.NotebookNode:
    """Run every cell in a fresh python3 kernel in the repository's folder, on one torch thread; progress on
    stderr. Returns the notebook with its outputs, made the same from run to run (normalise)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    start = time.perf_counter()

    def progress(cell: nbformat.NotebookNode, cell_index: int) -> None:
        if not quiet and cell.cell_type == "code":
            print(f"[{time.perf_counter() - start:4.0f} s] cell {code.index(cell_index) + 1} of {len(code)}: "
                  f"{cell.get('id')}", file=sys.stderr, flush=True)

    nb = copy.deepcopy(nb)
    metadata = copy.deepcopy(nb.metadata)  # the kernel adds its own: left out
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", record_timing=False,
                            coalesce_streams=True, on_cell_start=progress,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # not its warning about TCP
                            resources={"metadata": {"path": str(ROOT)}})
    # One torch thread: on 2 busy cores it is several times faster than two; a fixed hash seed for set order.
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    try:
        client.execute(env=env)
    except CellExecutionError as err:
        failed = next((c.get("id") for c in nb.cells if any(o.output_type == "error" for o in c.get("outputs", []))),
                      "?")
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # without the traceback's colours
        last = next((line for line in reversed(plain.strip().splitlines()) if line.strip()), "")
        raise SolutionsError(f"cell {failed!r} failed: {last}") from None
    if not quiet:
        print(f"[{time.perf_counter() - start:4.0f} s] done", file=sys.stderr)
    return normalise(nb, metadata)


def normalise(nb: nbformat.NotebookNode, metadata: dict) -> nbformat.NotebookNode:
    """What varies between runs, taken out: the kernel's metadata, execution times, printed wall-clock times (and
    the other texts of VARYING)."""
    nb.metadata = copy.deepcopy(metadata)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                output.text = fixed(output.text)
            for key, value in output.get("data", {}).items():
                if key.startswith("text/"):
                    output.data[key] = fixed(value)
    return nb


def fixed(text: str) -> str:
    """The text with what varies between runs (VARYING) written the same way every time."""
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)
    return text


# --- Comparing: is the stored notebook what a run gives now? --------------------------------------
def as_text(nb: nbformat.NotebookNode) -> str:
    """The notebook file's contents."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def where(nb: nbformat.NotebookNode, i: int) -> str:
    return f"cell {i + 1} of {len(nb.cells)} ({nb.cells[i].get('id')!r})"


def first_source_difference(stored: nbformat.NotebookNode, built: nbformat.NotebookNode) -> str | None:
    """Where the stored notebook's cells (ids, kinds, sources) first differ from the built one's; None: nowhere."""
    for i, (old, new) in enumerate(zip(stored.cells, built.cells)):
        for key, what in (("id", "id"), ("cell_type", "kind"), ("source", "source")):
            if old.get(key) != new.get(key):
                return f"{where(built, i)}: its {what} differs"
    if len(stored.cells) != len(built.cells):
        return f"it has {len(stored.cells)} cells, not {len(built.cells)}"
    return None


def png_software(nb: nbformat.NotebookNode) -> set[str]:
    """What drew the notebook's PNGs, from their Software chunk: matplotlib writes its version there."""
    names = set()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            png = base64.b64decode(output.get("data", {}).get("image/png", ""))
            i = 8  # after the PNG signature: chunks of length, type, data, CRC
            while i + 8 <= len(png):
                (length,), kind = struct.unpack(">I", png[i : i + 4]), png[i + 4 : i + 8]
                if kind == b"tEXt" and png[i + 8 : i + 8 + length].startswith(b"Software\0"):
                    names.add(png[i + 17 : i + 8 + length].decode("latin-1"))
                i += 12 + length
    return names


def without_images(outputs: list) -> list:
    """The outputs with every image's bytes replaced by its kind: which cells show pictures, not their pixels."""
    outputs = copy.deepcopy(outputs)
    for output in outputs:
        for key in output.get("data", {}):
            if key.startswith("image/"):
                output.data[key] = f"<{key}>"
    return outputs


def first_difference(stored: nbformat.NotebookNode, fresh: nbformat.NotebookNode, images: bool = True) -> str | None:
    """Where the stored notebook first differs from a fresh run's (sources, then outputs); None: nowhere. With
    images=False, pictures are compared by where they are and what kind they are, not by their bytes."""
    difference = first_source_difference(stored, fresh)
    if difference:
        return difference
    compared = (lambda outputs: outputs) if images else without_images
    for i, (old, new) in enumerate(zip(stored.cells, fresh.cells)):
        old_outputs, new_outputs = old.get("outputs", []), new.get("outputs", [])
        if compared(old_outputs) != compared(new_outputs):
            what = "pictures" if without_images(old_outputs) == without_images(new_outputs) else "outputs"
            return f"{where(fresh, i)}: its {what} differ"
        if old.get("execution_count") != new.get("execution_count") or old.metadata != new.metadata:
            return f"{where(fresh, i)}: its execution count or metadata differ"
    if stored.metadata != fresh.metadata:
        return "the notebook's metadata differ"
    return None


def stale(message: str) -> str:
    return f"{OUTPUT.relative_to(ROOT)} is out of date ({message}): run {COMMAND}"


def check(quiet: bool = False) -> tuple[str | None, str]:
    """(None if the stored notebook is what a run gives now, else one line saying where it first differs; a note
    on how pictures were compared). Sources are compared first, without running anything. The pictures' bytes
    are compared only when the same matplotlib drew them: another version draws other pixels."""
    if not OUTPUT.is_file():
        return f"{OUTPUT.relative_to(ROOT)} is missing: run {COMMAND}", ""
    stored = nbformat.read(OUTPUT, as_version=4)
    built = build_from_files()
    difference = first_source_difference(stored, built)
    if difference:
        return stale(difference), ""
    fresh = execute(built, quiet)
    images = png_software(stored) == png_software(fresh)
    drawn, here = (", ".join(sorted(png_software(nb))) or "nothing" for nb in (stored, fresh))
    note = "" if images else f" (its pictures compared by place only: drawn by {drawn}, this is {here})"
    difference = first_difference(stored, fresh, images)
    if difference is None and images and OUTPUT.read_text() != as_text(fresh):
        difference = "its JSON is laid out differently"
    return (stale(difference) if difference else None), note


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="write no notebook; exit 1 if the stored one differs "
                                                        "from what a run gives now, naming the first cell that does")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = p.parse_args(argv)
    try:
        if args.check:
            problem, note = check(args.quiet)
            print(problem or f"{OUTPUT.relative_to(ROOT)} is up to date{note}")
            return 1 if problem else 0
        nb = execute(build_from_files(), args.quiet)
        write_atomically(OUTPUT, lambda f: f.write(as_text(nb).encode()))
    except SolutionsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
