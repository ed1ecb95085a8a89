"""The parts of an exercise function's source: its head (signature and docstring), its body, its TODO block.

The tests compare the exercises with spoilers/solutions.py part by part, and
spoilers/make_solutions_notebook.py puts the reference bodies into the
notebook's exercise cells; both split functions here.
"""

from __future__ import annotations

import ast

TODO_START, TODO_END = "# TODO START", "# TODO END"


def function_parts(text: str, name: str = "wall_locations_gradient") -> tuple[str, str]:
    """(head, body) of a function (wall_locations_gradient by default): its signature and docstring, then the
    rest of it, with the comments that close it (ast stops at the last statement)."""
    lines = text.splitlines(keepends=True)
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == name)
    end = node.end_lineno
    while end < len(lines) and lines[end].startswith("    #"):
        end += 1
    doc_end = node.body[0].end_lineno
    return "".join(lines[node.lineno - 1 : doc_end]), "".join(lines[doc_end:end])


def split_todo(body: str) -> tuple[str, str, str] | None:
    """(before, block, after) around the TODO lines; None if they are gone."""
    if body.count(TODO_START) != 1 or body.count(TODO_END) != 1:
        return None
    before, rest = body.split(TODO_START)
    block, after = rest.split(TODO_END)
    return before, block, after
