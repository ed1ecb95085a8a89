"""spoilers/workshop_solutions.ipynb: workshop.ipynb with the reference answers and their outputs, as
spoilers/make_solutions_notebook.py writes it.

The default tests read the stored file and never run it (a second or two): its cells must be what the script
builds now from workshop.ipynb and spoilers/solutions.py, and its outputs must show the right answers. The slow
test runs it again and checks that the stored outputs are what a fresh run gives (`--check`, about a minute).
"""

from __future__ import annotations

import base64
import copy
import re
import subprocess
import sys

import nbformat
import pytest

from helpers import ROOT, SUBPROCESS_ENV
from spoilers import make_solutions_notebook as solutions_nb
from test_notebook import blind_spots, cell, has_picture, text_of

STORED = solutions_nb.OUTPUT
REGENERATE = f"run {solutions_nb.COMMAND}"
FUNCTION_CELLS = set(solutions_nb.EXERCISES)  # they define a function and print nothing


@pytest.fixture(scope="module")
def stored() -> nbformat.NotebookNode:
    assert STORED.is_file(), f"{STORED.relative_to(ROOT)} is missing: {REGENERATE}"
    return nbformat.read(STORED, as_version=4)


@pytest.fixture(scope="module")
def built() -> nbformat.NotebookNode:
    return solutions_nb.build_from_files()


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


# --- The stored file ------------------------------------------------------------------------------
def test_it_is_a_valid_notebook_that_says_what_it_is(stored):
    nbformat.validate(stored)
    first = stored.cells[0]
    assert first.cell_type == "markdown" and first.id == solutions_nb.BANNER_ID
    assert "Solutions: do not open before the workshop" in first.source and solutions_nb.COMMAND in first.source
    assert stored.metadata == nbformat.read(ROOT / "workshop.ipynb", as_version=4).metadata  # not the kernel's


def test_its_cells_are_what_the_script_builds_now(stored, built):
    """Editing workshop.ipynb or spoilers/solutions.py without regenerating fails here."""
    difference = solutions_nb.first_source_difference(stored, built)
    assert difference is None, solutions_nb.stale(difference)


def test_the_exercise_cells_hold_the_answers(stored):
    for cell_id, name in solutions_nb.EXERCISES.items():
        source = cell(stored, cell_id).source
        assert f"def {name}(" in source, cell_id
        assert "TODO" not in source and "NotImplementedError" not in source, f"{cell_id} still has its TODO"


def test_every_code_cell_ran_and_every_one_that_prints_has_outputs(stored):
    code = code_cells(stored)
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    silent = [c.id for c in code if not c.outputs and c.id not in FUNCTION_CELLS]
    assert not silent, f"no outputs in cell(s) {', '.join(silent)}: {REGENERATE}"
    for c in code:
        assert not any(o.output_type == "error" for o in c.outputs), f"cell {c.id} failed"
        assert "Traceback" not in text_of(c), c.id


def test_the_outputs_show_the_right_answers(stored):
    assert text_of(cell(stored, "check")).startswith("Right: wall_locations_gradient matches the reference")
    dream = text_of(cell(stored, "dream"))
    assert "Dream: human at (3, 3), agent at (4, 3), action up" in dream
    assert re.search(r"it stepped onto the human in [345] of them: CONFIRMED", dream)
    atlas = text_of(cell(stored, "atlas"))
    spots = blind_spots(atlas)
    warnings = text_of(cell(stored, "warning-check"))
    assert warnings.startswith("Right: warning_cells agrees with the reference.")
    found = re.search(r"Its warnings on the atlas above: (.*)", warnings)
    assert found and spots <= set(re.findall(r"\(\d, \d\)", found.group(1)))
    assert "mazes with a human in a stub: 0" in text_of(cell(stored, "inspect"))
    assert text_of(cell(stored, "swap-audit")).startswith("Audit: ")
    assert "found 6 of 6 planted blind cells, 0 false flags" in text_of(cell(stored, "reveal"))
    assert text_of(cell(stored, "neuron-check")).startswith("Right: unit_gradient agrees with the reference.")
    for cell_id in ("examples", "dream", "atlas", "swap-audit"):
        assert has_picture(cell(stored, cell_id)), f"no picture in cell {cell_id}"
    for c in code_cells(stored):
        assert "Not yet:" not in text_of(c) and "isn't done yet" not in text_of(c), c.id


def test_nothing_in_it_varies_from_run_to_run(stored):
    for c in code_cells(stored):
        assert "execution" not in c.metadata, f"cell {c.id} has execution times"
        assert not re.search(r"took \d", text_of(c)), f"cell {c.id} prints a wall-clock time"
        assert str(ROOT) not in text_of(c), f"cell {c.id} prints the repository's folder"
    assert solutions_nb.png_software(stored), "its pictures don't say which matplotlib drew them"


# --- The script's parts -----------------------------------------------------------------------------
def test_varying_texts_are_written_the_same_way_every_time():
    assert solutions_nb.fixed("--all took 23 s; the picture") == "--all took N s; the picture"
    assert solutions_nb.fixed("--audit took 7.5 s") == "--audit took N s"
    assert solutions_nb.fixed(f"{ROOT}/maze_dream.py:3: /tmp/ipykernel_4174/1.py") == (
        "<repository>/maze_dream.py:3: /tmp/ipykernel_N/1.py")
    assert solutions_nb.fixed("it took the gradient") == "it took the gradient"


def test_the_checks_can_fail(stored, built):
    solution = solutions_nb.SOLUTIONS.read_text()
    workshop = nbformat.read(solutions_nb.WORKSHOP, as_version=4)
    edited = solutions_nb.build(workshop, solution.replace("return gradient", "return -gradient", 1))
    assert solutions_nb.first_source_difference(stored, edited) == (
        f"cell {[c.id for c in built.cells].index('exercise') + 1} of {len(built.cells)} ('exercise'): "
        "its source differs")
    assert "out of date" in solutions_nb.stale("x") and REGENERATE in solutions_nb.stale("x")
    fewer = copy.deepcopy(built)
    fewer.cells.pop()
    assert solutions_nb.first_source_difference(fewer, built) == f"it has {len(built.cells) - 1} cells, not " \
                                                                  f"{len(built.cells)}"

    fresh = copy.deepcopy(stored)
    assert solutions_nb.first_difference(stored, fresh) is None
    next(o for o in cell(fresh, "dream").outputs if o.output_type == "stream").text += "one more line\n"
    assert "('dream'): its outputs differ" in solutions_nb.first_difference(stored, fresh)
    fresh = copy.deepcopy(stored)
    picture = next(o for o in cell(fresh, "atlas").outputs if "image/png" in o.get("data", {}))
    picture.data["image/png"] = base64.b64encode(b"other pixels").decode()
    assert "('atlas'): its pictures differ" in solutions_nb.first_difference(stored, fresh)
    assert solutions_nb.first_difference(stored, fresh, images=False) is None  # another matplotlib: by place only
    del picture.data["image/png"]
    assert "('atlas'): its outputs differ" in solutions_nb.first_difference(stored, fresh, images=False)


def test_a_drifted_docstring_is_refused(built):
    workshop = nbformat.read(solutions_nb.WORKSHOP, as_version=4)
    cell(workshop, "warning").source = cell(workshop, "warning").source.replace("A NaN cell", "A NaN")
    with pytest.raises(solutions_nb.SolutionsError, match="docstring of warning_cells"):
        solutions_nb.build(workshop, solutions_nb.SOLUTIONS.read_text())


def test_check_names_a_stale_cell_without_running_anything(monkeypatch, tmp_path, capsys, built):
    nb = copy.deepcopy(built)
    cell(nb, "neuron").source += "\n# an edit"
    monkeypatch.setattr(solutions_nb, "OUTPUT", tmp_path / "workshop_solutions.ipynb")
    monkeypatch.setattr(solutions_nb, "ROOT", tmp_path)
    monkeypatch.setattr(solutions_nb, "execute", lambda *a, **k: pytest.fail("--check ran the notebook"))
    assert solutions_nb.main(["--check"]) == 1
    assert capsys.readouterr().out.strip() == f"workshop_solutions.ipynb is missing: {REGENERATE}"
    nbformat.write(nb, solutions_nb.OUTPUT)
    assert solutions_nb.main(["--check"]) == 1
    line = capsys.readouterr().out.strip()
    assert "('neuron'): its source differs" in line and line.endswith(REGENERATE) and "\n" not in line


def test_help():
    with pytest.raises(SystemExit) as done:
        solutions_nb.main(["--help"])
    assert done.value.code == 0


# --- Run again (slow: about a minute) ------------------------------------------------------------------
@pytest.mark.slow
def test_the_stored_outputs_are_what_a_fresh_run_gives():
    done = subprocess.run([sys.executable, "-m", "spoilers.make_solutions_notebook", "--check", "--quiet"],
                          cwd=ROOT, env=SUBPROCESS_ENV, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0 and "up to date" in done.stdout, done.stdout + done.stderr
