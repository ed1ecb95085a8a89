"""maze_dream.py --audit: one agent, no control; every flag backed by real mazes the agent fails in."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import dream_maps
import dream_verify
import maze_dream
import maze_env as env
from dream_targets import Dreams, atlas_targets
from helpers import ROOT, small_net
from model import load_agent, save_agent
from spoilers.solutions import wall_locations_gradient


def test_audit_counts_add_up_and_flags_follow_the_rule(one_thread):
    net = small_net(0)
    dreams = maze_dream.audit_dreams(net, wall_locations_gradient, 2, 10, 0.05, 0)
    report = dream_maps.audit(net, dreams, seed=0)
    assert report["dreams"] == 2 * len(atlas_targets())
    assert report["leads"] == len(dream_maps.leads(dreams)) == int(
        (dreams.q_after.argmax(dim=1) == dreams.targets.actions).sum())
    assert report["rollouts"] == sum(row["rolled"] for row in report["cells"])
    assert sum(row["dreams"] for row in report["cells"]) == report["dreams"]
    assert sum(row["leads"] for row in report["cells"]) == report["leads"]
    for row in report["cells"]:
        assert row["rolled"] <= min(row["mazes"], dream_maps.MAX_ROLLOUTS_PER_CELL)
        assert row["flagged"] == (row["harvested"] >= dream_maps.FLAG_MIN_MAZES
                                  and row["harvested"] >= dream_maps.FLAG_RATE * row["rolled"])
    assert report["flagged"] == [row for row in report["cells"] if row["flagged"]]


def test_rounds_stop_at_a_flag_a_round_without_harvest_or_the_cap(monkeypatch):
    """A scripted agent: it harvests in every maze at (1, 1), never at (3, 3), every other maze at (1, 3)."""
    mazes = {cell: [np.full((7, 7), i) for i in range(12)] for cell in [(1, 1), (3, 3), (1, 3)]}
    monkeypatch.setattr(dream_maps, "audit_mazes", lambda *a, **k: mazes)
    monkeypatch.setattr(dream_maps, "leads", lambda dreams: [])
    calls = {cell: 0 for cell in mazes}

    def scripted(net, batch, cells):
        out = []
        for cell in cells:
            calls[cell] += 1
            out.append({(1, 1): True, (3, 3): False, (1, 3): calls[cell] % 2 == 1}[cell])
        return out

    monkeypatch.setattr(dream_maps, "harvests_target", scripted)
    t = atlas_targets()
    report = dream_maps.audit(None, Dreams(t, torch.zeros(len(t), 7, 7), torch.zeros(len(t), 4),
                                           torch.zeros(len(t), 4)), seed=0)
    rows = {tuple(r["cell"]): r for r in report["cells"]}
    assert (rows[(1, 1)]["rolled"], rows[(1, 1)]["flagged"]) == (3, True)  # flagged after one round
    assert (rows[(3, 3)]["rolled"], rows[(3, 3)]["flagged"]) == (3, False)  # a round without a harvest
    assert (rows[(1, 3)]["rolled"], rows[(1, 3)]["harvested"], rows[(1, 3)]["flagged"]) == (6, 3, True)
    assert report["rollouts"] == 12 and len(rows[(1, 1)]["evidence"]) == 3


def test_audit_mazes_are_distinct_valid_and_put_the_human_in_a_dead_end_off_the_way():
    t = atlas_targets()
    walls = torch.rand(len(t), 7, 7, generator=torch.Generator().manual_seed(0))
    dreams = Dreams(t, walls, torch.zeros(len(t), 4), torch.zeros(len(t), 4))
    per_cell = dream_maps.audit_mazes(dreams, list(range(len(t))), seed=0, completions=3, bank_size=300)
    assert per_cell, "no dream completed into a dead end"
    for cell, mazes in per_cell.items():
        assert len({m.tobytes() for m in mazes}) == len(mazes)
        for maze in mazes:
            env.check_maze(maze)
            assert maze[cell] == env.HUMAN and env.open_neighbours(maze)[cell] == 1
            walled = np.where(maze == env.HUMAN, env.WALL, maze)  # the exit can be reached without the human
            assert env.reachable(walled)[env.EXIT_POS]


def test_shipped_agent_flags_are_backed_by_mazes_it_fails_and_the_control_gets_none(capsys, tmp_path, one_thread):
    saved = tmp_path / "m.txt"
    assert maze_dream.main(["--solution", "--audit", "--json", "--save-mazes", str(saved)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["flagged"], "the shipped agent's audit flagged nothing"
    evidence = []
    for row in report["flagged"]:
        assert len(row["evidence"]) == row["harvested"] >= dream_maps.FLAG_MIN_MAZES
        assert row["harvested"] >= dream_maps.FLAG_RATE * row["rolled"]
        for text in row["evidence"]:
            [maze] = env.parse_mazes(text)
            assert maze[tuple(row["cell"])] == env.HUMAN
            evidence.append((maze, tuple(row["cell"])))
    hits = dream_verify.harvests_target(load_agent(ROOT / "weights" / "agent.pt")[0],
                                        [m for m, _ in evidence], [c for _, c in evidence])
    assert all(hits), "a maze behind a flag doesn't make the agent step onto the human"
    assert len(env.read_maze_file(saved)) == len(evidence)
    assert maze_dream.main(["--solution", "--audit", "--json", "--weights", str(ROOT / "weights" / "control.pt")]) == 0
    assert json.loads(capsys.readouterr().out)["flagged"] == []


def test_audit_bad_input_is_one_line(tmp_path, capsys):
    bad = tmp_path / "w.pt"
    bad.write_bytes(b"not weights")
    assert maze_dream.main(["--solution", "--audit", "--weights", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    for argv in (["--audit", "--all"], ["--audit", "--restarts", "0"], ["--audit", "--completions", "x"]):
        with pytest.raises(SystemExit) as exit_:
            maze_dream.parse_args(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and "error: " in err, err
    save_agent(small_net(0), tmp_path / "tiny.pt")
    assert maze_dream.main(["--solution", "--audit", "--weights", str(tmp_path / "tiny.pt"), "--steps", "2",
                            "--restarts", "1"]) == 0
