"""Check your answers to the workshop's exercises against the reference answers.

    python check.py            # every exercise
    python check.py 1          # exercise 1 only (2, 3 likewise)
    python check.py 1 --hint   # a hint for exercise 1; --hint 2 and --hint 3 give more

1. wall_locations_gradient in maze_dream.py: which way should the walls move?
2. warning_cells in maze_dream.py: when is a dream a warning?
3. unit_gradient in maze_dream_more.py: dream a neuron.

Each exercise gets one line: correct, not done yet, or what is wrong and what
to change. The exit code is 0 only when every exercise checked is correct.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Exercise:
    number: int
    module: str
    function: str


EXERCISES = [
    Exercise(1, "maze_dream", "wall_locations_gradient"),
    Exercise(2, "maze_dream", "warning_cells"),
    Exercise(3, "maze_dream_more", "unit_gradient"),
]


def check(exercise: Exercise) -> tuple[bool, str]:
    """(correct?, one line) for one exercise."""
    where = f"Exercise {exercise.number}, {exercise.function} ({exercise.module}.py)"
    try:  # your file: a syntax error in it is one line, not a traceback
        fn = getattr(importlib.import_module(exercise.module), exercise.function)
    except SyntaxError as err:
        return False, f"{where}: {exercise.module}.py has a syntax error on line {err.lineno}: {err.msg}"
    except Exception as err:
        return False, f"{where}: importing {exercise.module}.py failed: {type(err).__name__}: {err}"
    from spoilers import checks, diagnose

    if exercise.number == 1:
        mistake = diagnose.check_answer(fn)
    elif exercise.number == 2:
        mistake = checks.check_warning_cells(fn)
    else:
        mistake = checks.check_unit_gradient(fn)
    if mistake is None:
        return True, f"{where}: correct, it agrees with the reference answer."
    if mistake.key == "todo":
        return False, (f"{where}: not done yet, its TODO is still open. "
                       f"Stuck? python check.py {exercise.number} --hint")
    return False, f"{where}: not right yet. {mistake.message}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("exercise", nargs="?", type=int, choices=[e.number for e in EXERCISES],
                   help="the exercise to check (default: all)")
    p.add_argument("--hint", nargs="?", type=int, const=1, choices=[1, 2, 3], metavar="K",
                   help="print hint K (1: the idea, 2: the calls, 3: where the answer is) instead of checking")
    args = p.parse_args(argv)
    if args.hint is not None and args.exercise is None:
        p.error("--hint needs an exercise number, e.g. `python check.py 1 --hint`")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.hint is not None:
        from spoilers.hints import HINTS

        print(f"Exercise {args.exercise}, hint {args.hint} of 3: {HINTS[args.exercise][args.hint - 1]}")
        if args.hint < 3:
            print(f"More: python check.py {args.exercise} --hint {args.hint + 1}")
        return 0
    chosen = [e for e in EXERCISES if args.exercise in (None, e.number)]
    results = [check(e) for e in chosen]
    for _, line in results:
        print(line)
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
