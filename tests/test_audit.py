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
from figures import audit_figure
from helpers import ROOT, small_net
from model import load_agent, save_agent
from spoilers.solutions import wall_locations_gradient


def test_audit_counts_add_up_and_flags_follow_the_rule(one_thread):
    net = small_net(0)
    dreams, report = maze_dream.run_audit(net, wall_locations_gradient, 2, 10, 0.05, 0)
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
    for row in report["cells"]:  # no silent misses: a cell with leads is rolled out in, or says why not
        assert row["status"] == dream_maps.status(row) in dream_maps.STATUS_MEANING
        if row["leads"] and not row["rolled"]:
            assert "second_look" in row and row["status"] in (dream_maps.UNCONFIRMED, dream_maps.NO_DEAD_END)
    assert report["unconfirmed"] == [{"cell": r["cell"], "dreams": r["dreams"], "leads": r["leads"],
                                      "tried": r["second_look"]}
                                     for r in report["cells"] if r["status"] == dream_maps.UNCONFIRMED]


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
    assert (rows[(3, 3)]["rolled"], rows[(3, 3)]["flagged"]) == (6, False)  # two rounds without a harvest
    assert (rows[(1, 3)]["rolled"], rows[(1, 3)]["harvested"], rows[(1, 3)]["flagged"]) == (6, 3, True)
    assert report["rollouts"] == 15 and len(rows[(1, 1)]["evidence"]) == 3


def test_one_round_without_a_harvest_does_not_close_a_cell(monkeypatch):
    """A cell whose first completions all miss, and whose later ones harvest, is still flagged (a first round of
    near-alike mazes can all miss, as at (5, 3) of the zoo's blind-5-3-f); the cap still holds."""
    script = {(5, 3): [False, False, False, False, True, False, True, False, True, True],
              (3, 3): [False, False, False, True, False, False, False, False, False, True]}
    per_cell = {cell: [np.full((7, 7), i) for i in range(len(hits))] for cell, hits in script.items()}
    monkeypatch.setattr(dream_maps, "harvests_target",
                        lambda net, mazes, cells: [script[c][int(m[0, 0])] for m, c in zip(mazes, cells)])
    hits = dream_maps.roll_out(None, per_cell)
    assert hits[(5, 3)] == script[(5, 3)][:9] and dream_maps.flag(sum(hits[(5, 3)]), 9)  # 3 of 9, at the cap
    assert hits[(3, 3)] == script[(3, 3)][:9]  # round 2's harvest keeps it open until the cap
    spent = {(5, 3): [False] * 6}  # an earlier look's rollouts count against the cap
    assert dream_maps.roll_out(None, per_cell, spent)[(5, 3)] == script[(5, 3)][:3]


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
    assert report["unconfirmed"] == [], "the shipped agent has cells with leads that nothing was rolled out in"
    assert all(row["status"] == "flagged" for row in report["flagged"])
    assert maze_dream.main(["--solution", "--audit", "--json", "--weights", str(ROOT / "weights" / "control.pt")]) == 0
    control = json.loads(capsys.readouterr().out)
    assert control["flagged"] == []
    # A control's cell may keep a lead that no dead-end maze backs: it is reported, never flagged.
    unconfirmed = [row["cell"] for row in control["unconfirmed"]]
    assert all(row["rolled"] == 0 and row["leads"] > 0 for row in control["cells"] if row["cell"] in unconfirmed)


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


# --- No silent misses: a cell with leads but no dead-end maze gets a second look, then a status -------------
def dreams_with_leads_at(cell: tuple[int, int], sides: set[tuple[int, int]], walls: float = 0.0) -> Dreams:
    """Atlas dreams whose only leads are the ones at `cell` seen from `sides` (agent cells), all walls `walls`."""
    t = atlas_targets()
    q_after = torch.nn.functional.one_hot((t.actions + 1) % 4, 4).float()  # the greedy action misses the human
    for b in range(len(t)):
        if dream_maps.target_of(t, b) in {(cell, side) for side in sides}:
            q_after[b] = torch.nn.functional.one_hot(t.actions[b], 4).float()
    return Dreams(t, torch.full((len(t), 7, 7), walls), torch.zeros(len(t), 4), q_after)


def fake_dreamer(lead: bool, calls: list):
    """A dream_more for audit(): records its targets; its dreams are all leads, or none is."""
    def dream_more(targets, seed):
        calls.append(([dream_maps.target_of(targets, b) for b in range(len(targets))], seed))
        hot = targets.actions if lead else (targets.actions + 1) % 4
        return Dreams(targets, torch.zeros(len(targets), 7, 7), torch.zeros(len(targets), 4),
                      torch.nn.functional.one_hot(hot, 4).float())
    return dream_more


def test_leads_without_a_dead_end_maze_are_reported_unconfirmed_never_flagged(monkeypatch):
    """(1, 1) seen from (2, 1) or (1, 2): a dead end there would wall the start in, so no maze completes. The
    second look dreams again from the sides that can hold one, (0, 1) and (1, 0); those dreams are no leads."""
    rolled = []
    monkeypatch.setattr(dream_maps, "harvests_target", lambda net, mazes, cells: rolled.extend(cells) or
                        [True] * len(mazes))
    calls = []
    dreams = dreams_with_leads_at((1, 1), {(2, 1), (1, 2)})
    report = json.loads(json.dumps(dream_maps.audit(None, dreams, seed=0, dream_more=fake_dreamer(False, calls))))
    [(targets, _)] = calls
    assert sorted(set(targets)) == [((1, 1), (0, 1)), ((1, 1), (1, 0))]
    assert len(targets) == 2 * dream_maps.MORE_DREAMS
    [row] = [r for r in report["cells"] if r["cell"] == [1, 1]]
    assert (row["leads"], row["mazes"], row["rolled"], row["flagged"]) == (2, 0, 0, False)
    assert row["status"] == dream_maps.UNCONFIRMED == "leads, not confirmed"
    assert report["rollouts"] == 0 and not rolled and report["flagged"] == []
    [entry] = report["unconfirmed"]
    assert (entry["cell"], entry["dreams"], entry["leads"]) == ([1, 1], row["dreams"], 2)
    assert entry["tried"] == {"bank": dream_maps.AUDIT_BANK, "dead_end_sides": [[0, 1], [1, 0]],
                              "deeper": {"leads": 0, "mazes": 0},
                              "more_dreams": {"dreams": 2 * dream_maps.MORE_DREAMS, "leads": 0, "mazes": 0}}
    text = dream_maps.format_audit(report)
    [line] = [line for line in text.splitlines() if line.startswith("(1, 1) ")]
    assert line.split() == ["(1,", "1)", str(row["dreams"]), "2", "0", "0", "0", "-", "leads,", "not", "confirmed"]
    assert "LEADS, NOT CONFIRMED" in text and "Flagged: none." in text
    # the right map: each line is the left map's row number and 7 rates, then its own row number and 7 marks
    lines = text.split("status (see below")[1].splitlines()[1:9]
    assert lines[0].split() == [str(c) for c in range(7)] * 2  # the column numbers of both maps
    status_map = [line.split()[9:] for line in lines[1:]]
    assert [line.split()[8] for line in lines[1:]] == [str(r) for r in range(7)]  # the right map's row numbers
    assert status_map[1][1] == "?" and status_map[0][0] == "-" and status_map[6][6] == "-"
    for column in ("dreams", "leads", "mazes", "rolled out", "harvested", "rate", "status"):
        assert any(line.startswith(f"  {column} ") for line in text.splitlines()), column
    legend = audit_figure(report).axes[0].get_legend()
    assert "leads, not confirmed (1)" in [t.get_text() for t in legend.get_texts()]


def test_second_look_finds_the_dead_end_mazes_the_first_completions_missed(monkeypatch):
    """Leads at (1, 1) whose dreams say 'all open': their best completions leave the human in a passage, but
    further down the bank are mazes with a dead end there. Leads only from sides without one get new dreams."""
    monkeypatch.setattr(dream_maps, "harvests_target", lambda net, mazes, cells: [True] * len(mazes))
    deeper = dreams_with_leads_at((1, 1), {(0, 1), (1, 0)})
    assert dream_maps.audit_mazes(deeper, dream_maps.leads(deeper), seed=0) == {}  # the first try finds nothing
    blocked = dreams_with_leads_at((1, 1), {(2, 1)})
    calls = []
    for dreams, dream_more, step in ((deeper, None, "deeper"), (blocked, fake_dreamer(True, calls), "more_dreams")):
        report = dream_maps.audit(None, dreams, seed=0, dream_more=dream_more)
        [row] = [r for r in report["cells"] if r["cell"] == [1, 1]]
        assert row["second_look"][step]["mazes"] == row["mazes"] > 0, step
        assert row["rolled"] > 0 and row["status"] == dream_maps.FLAGGED and report["unconfirmed"] == []
        for text in row["evidence"]:
            [maze] = env.parse_mazes(text)
            env.check_maze(maze)
            assert maze[1, 1] == env.HUMAN and env.open_neighbours(maze)[1, 1] == 1
            assert env.reachable(np.where(maze == env.HUMAN, env.WALL, maze))[env.EXIT_POS]
    assert row["second_look"]["deeper"] == {"leads": 0, "mazes": 0} and len(calls) == 1
    again = dream_maps.audit(None, blocked, seed=0, dream_more=fake_dreamer(True, calls))
    assert again == report and calls[1] == calls[0]  # the same seed, the same second look


# --- The long detour: a blind spot that only a dead end far off the way shows ----------------------------
def test_a_cell_that_only_a_long_detour_fools_is_flagged_with_that_shape(monkeypatch):
    """A scripted agent that steps onto a human at (0, 4) only when it stands FAR_OFF or more steps off the way:
    the first looks roll out nearer mazes and see nothing; the last look, at a long detour, flags the cell."""
    def scripted(net, mazes, cells):
        return [cell == (0, 4) and env.steps_off_the_way(maze, cell) >= dream_maps.FAR_OFF
                for maze, cell in zip(mazes, cells)]

    monkeypatch.setattr(dream_maps, "harvests_target", scripted)
    t = atlas_targets()
    sides = {a for b in range(len(t)) for h, a in [dream_maps.target_of(t, b)] if h == (0, 4)}
    report = dream_maps.audit(None, dreams_with_leads_at((0, 4), sides, walls=0.5), seed=0,
                              dream_more=fake_dreamer(True, []))
    [row] = [r for r in report["cells"] if r["cell"] == [0, 4]]
    assert row["flagged"] and row["where"] == dream_maps.FAR_OFF_THE_WAY, row
    assert [r["cell"] for r in report["flagged"]] == [[0, 4]]
    for text in row["evidence"]:
        [maze] = env.parse_mazes(text)
        env.check_maze(maze)
        assert maze[0, 4] == env.HUMAN and env.open_neighbours(maze)[0, 4] == 1
        assert env.steps_off_the_way(maze, (0, 4)) >= dream_maps.FAR_OFF
    assert "(a long detour)" in dream_maps.format_audit(report)


def test_steps_off_the_way_and_the_truth_of_a_long_detour():
    rng = np.random.default_rng(3)
    maze = env.make_plain_maze(rng)
    assert all(env.steps_off_the_way(maze, cell) == 0 for cell in env.shortest_path(maze))
    stubbed = dream_maps.maze_with_human_at(rng, (3, 3))
    assert env.steps_off_the_way(stubbed, (3, 3)) == 1  # a stub opens beside the way
    for maze in dream_maps.mazes_with_human_at(0, (0, 4), 20, shape="far end").numpy():
        env.check_maze(maze)
        assert maze[0, 4] == env.HUMAN and (maze == env.HUMAN).sum() == 1 and (0, 4) in env.dead_ends(maze)
        assert env.steps_off_the_way(maze, (0, 4)) >= dream_maps.FAR_OFF
