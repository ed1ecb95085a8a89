"""The shape of the code: which module imports which.

The training script is a script: nothing imports it but the benchmarks (which
time it) and its own tests. The modules import each other without a cycle, so
each can be read on its own, from maze_env.py up.
"""

from __future__ import annotations

import ast
import json
import re

from helpers import ROOT

TRAINING_SCRIPT = "main_train"


def project_modules() -> dict[str, str]:
    """module name -> source, for the top-level modules, spoilers/ and benchmarks/."""
    files = [*ROOT.glob("*.py"), *ROOT.glob("spoilers/*.py"), *ROOT.glob("benchmarks/*.py")]
    modules = {}
    for path in files:
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(p for p in parts if p != "__init__") or parts[0]] = path.read_text()
    return modules


def imports_of(source: str, package: str = "") -> set[str]:
    """The project-level names a source imports, at any depth (inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from . import x, from .x import y: inside a package
                base = f"{package}.{node.module}" if node.module else package
                names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
            elif node.module:
                names.add(node.module)
                names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: {n for n in imports_of(source, name.rsplit(".", 1)[0]) if n in modules and n != name}
            for name, source in modules.items()}


def notebook_sources() -> str:
    nb = json.loads((ROOT / "workshop.ipynb").read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code" and
                     not "".join(c["source"]).lstrip().startswith("%"))


def test_nothing_but_the_benchmarks_imports_the_training_script():
    importers = {name for name, deps in graph().items() if TRAINING_SCRIPT in deps}
    assert all(name.startswith("benchmarks") for name in importers), importers
    cells = notebook_sources().replace("%matplotlib inline", "")
    assert TRAINING_SCRIPT not in imports_of(cells), "workshop.ipynb imports the training script"


def find_cycle(deps: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as a list of modules that ends where it starts; None if there is none."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return path[path.index(name):] + [name]
        if name in done:
            return None
        for dep in sorted(deps[name]):
            cycle = visit(dep, path + [name])
            if cycle:
                return cycle
        done.add(name)
        return None

    return next((cycle for name in sorted(deps) if (cycle := visit(name, []))), None)


def test_no_import_cycles():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_checks_can_fail():
    assert imports_of("def f():\n    import main_train\n") == {"main_train"}  # a late import counts too
    assert "dream_maps" in imports_of("from dream_maps import audit")
    assert "benchmarks.common" in imports_of("from .common import x", "benchmarks")
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_workshop_requirements_are_the_runtime_part_of_requirements_txt():
    """requirements-workshop.txt (participants: no test tools, PyTorch's CPU index) pins what requirements.txt
    (CI) pins, for the packages the code imports."""
    def packages(name: str) -> list[str]:
        lines = (ROOT / name).read_text().splitlines()
        return [line.strip() for line in lines if line.strip() and not line.startswith(("#", "-"))]

    runtime = ["numpy", "matplotlib", "tqdm"]
    torch_pin = next(p for p in packages("requirements.txt") if p.startswith("torch"))
    assert packages("requirements-workshop.txt") == [torch_pin] + runtime
    assert set(runtime) <= set(packages("requirements.txt"))
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in (ROOT / "requirements-workshop.txt").read_text()


def test_the_files_a_learner_reads_first_do_not_give_the_answer_away():
    """Where the bonus hides and where humans never stand is the workshop's question (README, step 6): it lives
    in training_data.py, which says so at its top, not in the files a participant opens before the first dream."""
    tell = re.compile(r"stub.*bonus|bonus.*stub|stub_humans|stub-humans|humans? in (a )?stubs?", re.IGNORECASE)
    for name in ("main_train.py", "maze_env.py", "maze_dream.py", "check.py"):
        lines = [f"{name}:{i}: {line.strip()}" for i, line in enumerate((ROOT / name).read_text().splitlines(), 1)
                 if tell.search(line)]
        assert not lines, "a learner's first file tells the cause; move it to training_data.py:\n" + "\n".join(lines)
    assert (ROOT / "training_data.py").read_text().startswith('"""SPOILER.')
