"""dream_verify and dream_maps: the warning map, the blind spots, the confirmation mazes and --save-mazes.

Small random networks with fixed seeds stand in for the agents, so that these
tests hold whichever agents are shipped; the one test of the shipped agent
checks only what --save-mazes promises (the saved mazes re-evaluate as harvested).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import dream_maps
import dream_verify
import evaluation
import main_train
import maze_dream
import maze_env as env
import training_data
from helpers import ROOT, run_script, small_net
from model import make_q_network, save_agent



def fake_dreams(greedy: list[bool]) -> maze_dream.Dreams:
    """Atlas dreams whose Q-values after dreaming make the target action greedy exactly where `greedy` says."""
    t = maze_dream.atlas_targets()
    q_after = torch.zeros(len(t), 4)
    rows = torch.arange(len(t))
    q_after[rows, t.actions] = torch.where(torch.tensor(greedy), 1.0, -1.0)
    return maze_dream.Dreams(t, torch.zeros(len(t), env.SIZE, env.SIZE), torch.zeros(len(t), 4), q_after)


def test_warning_maps_count_every_approach_of_every_cell():
    n = len(maze_dream.atlas_targets())
    rng = np.random.default_rng(0)
    greedy, confirmed = (rng.random(n) < 0.5).tolist(), (rng.random(n) < 0.3).tolist()
    dreams = fake_dreams(greedy)
    maps = dream_maps.warning_maps(dreams, dream_verify.Verdict([None] * n, confirmed, [False] * n, [False] * n))
    for r in range(env.SIZE):
        for c in range(env.SIZE):
            mine = [b for b, h in enumerate(dreams.targets.humans.tolist()) if h == [r, c]]
            assert maps.approaches[r, c] == len(mine)
            if not mine:  # the start and the exit hold no human
                assert (r, c) in (env.START, env.EXIT_POS) and np.isnan(maps.greedy[r, c])
                continue
            assert maps.greedy[r, c] == pytest.approx(np.mean([greedy[b] for b in mine]))
            assert maps.confirmed[r, c] == pytest.approx(np.mean([confirmed[b] for b in mine]))
    as_json = json.loads(json.dumps(maps.to_json()))  # NaN is not JSON: the start and exit are null
    assert as_json["greedy"][0][0] is None and len(as_json["greedy"]) == len(as_json["greedy"][0]) == env.SIZE


def test_blind_spots_need_a_clear_difference_and_no_human_in_the_pool():
    nan = np.full((env.SIZE, env.SIZE), np.nan)
    agent = dream_maps.CellMaps(np.full((7, 7), 4), np.zeros((7, 7)), np.zeros((7, 7)))
    control = dream_maps.CellMaps(agent.approaches, np.zeros((7, 7)), np.zeros((7, 7)))
    agent.greedy[env.START] = control.greedy[env.START] = nan[0, 0]
    human = np.zeros((7, 7))
    margin = dream_maps.BLIND_SPOT_MARGIN
    agent.greedy[1, 1] = margin  # a blind spot
    agent.greedy[3, 3] = 1.0  # a clear difference, but training shows humans there
    human[3, 3] = 0.01
    agent.greedy[5, 5], control.greedy[5, 5] = 0.75, 0.75 - margin / 2  # not a clear difference
    spots = dream_maps.blind_spots(agent, control, {"human_fraction": human.tolist(),
                                                     "open_fraction": np.ones((7, 7)).tolist()})
    assert [s["cell"] for s in spots] == [[1, 1]]
    assert spots[0]["agent_greedy"] - spots[0]["control_greedy"] == pytest.approx(margin)


@pytest.mark.parametrize("cell", [(1, 1), (3, 5), (5, 3)])
def test_maze_with_human_at_an_odd_cell_is_a_stub_beside_the_path(cell):
    rng = np.random.default_rng(cell)
    for _ in range(3):
        maze = dream_maps.maze_with_human_at(rng, cell)
        assert maze is not None and maze[cell] == env.HUMAN
        env.check_maze(maze)
        assert cell in env.stubs(maze) and env.stub_beside_path(maze)
        plain = maze.copy()
        plain[cell] = env.WALL  # the only change to the training maze
        assert env.stubs(plain) == [] and set(zip(*np.nonzero(plain != maze))) == {cell}


def test_no_stub_can_open_where_a_training_maze_has_no_wall_to_open():
    rng = np.random.default_rng(0)
    assert dream_maps.maze_with_human_at(rng, (2, 2), tries=50) is None  # a room: always open
    assert dream_maps.maze_with_human_at(rng, (3, 2), tries=50) is None  # between two rooms: a corridor or a wall


def test_confirmation_rolls_out_both_agents_per_blind_spot(one_thread):
    nets = {"agent": small_net(0), "control": small_net(1)}
    spots = [{"cell": [3, 3]}, {"cell": [2, 2]}]
    family = dream_maps.confirm(spots, nets, seed=0, n=20)
    assert spots[1]["confirmation"] is None  # a room can't be a stub
    mazes = dream_maps.mazes_with_human_at(0, (3, 3), 20)
    for maze in mazes.numpy():  # the mazes behind the numbers: a human in a stub at the cell, beside the path
        assert maze[3, 3] == env.HUMAN and (3, 3) in env.stubs(maze) and env.stub_beside_path(maze)
    expected = {"mazes": 20}
    for role, net in nets.items():
        r = evaluation.evaluate(net, mazes)
        expected[role] = {"human_rate": round(r["human_rate"], 4), "exit_rate": round(r["exit_rate"], 4)}
    assert spots[0]["confirmation"] == expected
    stub_family = evaluation.eval_families(0, 20)[evaluation.STUB_BESIDE]
    assert family == {"mazes": 20, **{role: {k: round(evaluation.evaluate(net, stub_family)[k], 4)
                                             for k in ("human_rate", "exit_rate")} for role, net in nets.items()}}
    text = dream_maps.format_confirmation(spots, family)
    assert "human in a stub at (3, 3)" in text and "no stub can open there" in text


def test_the_pool_comes_from_the_weights_info():
    info = {"seed": 3, "steps": 10, "hidden": 16, "layers": 2, "stub_mazes": 0.5, "stub_humans": 0.1,
            "stub_bonus": 1.0, "route": "planted"}  # a key main_train no longer has is ignored
    config = dream_maps.pool_config(info, train_mazes=50)
    assert config == training_data.PoolConfig(mazes=50, stub_mazes=0.5, stub_humans=0.1, bonus_reward=1.0)
    assert dream_maps.inspect_command(info, 50) == ("python main_train.py --inspect --seed 3 --stub-mazes 0.5 "
                                                    "--stub-humans 0.1 --stub-bonus 1.0 --train-mazes 50")
    # Old weights record nothing: main_train's defaults, the pool its flags make.
    assert dream_maps.pool_config({}) == training_data.pool_config(main_train.parse_args([])) == training_data.PoolConfig()
    assert dream_maps.inspect_command({}) == "python main_train.py --inspect"
    with pytest.raises(dream_maps.PoolError, match=r"\(--stub-humans must be between 0 and 1\)$"):
        dream_maps.pool_config({"stub_humans": 5})


def test_saved_mazes_read_back(tmp_path):
    rng = np.random.default_rng(0)
    mazes = [env.make_ood_maze(rng) for _ in range(3)]
    path = tmp_path / "out" / "m.txt"
    dream_verify.save_mazes(mazes, path)
    assert [m.tolist() for m in env.read_maze_file(path)] == [m.tolist() for m in mazes]
    assert "\n\n" in path.read_text() and sorted(p.name for p in path.parent.iterdir()) == ["m.txt"]


@pytest.fixture
def tiny_agents(tmp_path) -> tuple[Path, Path]:
    """Two small random networks; the first records training flags, the second (old weights) none."""
    torch.manual_seed(0)
    save_agent(make_q_network(32, 2), tmp_path / "a.pt", {"seed": 0, "stub_mazes": 0.75, "stub_humans": 0.0})
    torch.manual_seed(1)
    save_agent(make_q_network(32, 2), tmp_path / "c.pt")
    return tmp_path / "a.pt", tmp_path / "c.pt"


def test_all_json_carries_the_maps_and_the_blind_spots(tiny_agents, tmp_path, monkeypatch, capsys, one_thread):
    bank = dream_verify.maze_bank
    monkeypatch.setattr(dream_verify, "maze_bank", lambda rng, n=300: bank(rng, 300))  # a smaller bank: faster
    agent, control = tiny_agents
    saved, png = tmp_path / "m.txt", tmp_path / "map.png"
    code = maze_dream.main(["--solution", "--all", "--json", "--weights", str(agent), "--control", str(control),
                            "--steps", "5", "--pool-mazes", "200", "--save-mazes", str(saved), "--png", str(png)])
    out = capsys.readouterr()
    assert code == 0, out.err
    report = json.loads(out.out)
    maps = {role: {key: np.array(report[role]["maps"][key], dtype=float) for key in ("approaches", "greedy",
                                                                                     "confirmed")}
            for role in ("agent", "control")}
    for role, m in maps.items():  # the maps hold every dream, and count the confirmed ones the summary counts
        assert report[role]["dreams"] == len(maze_dream.atlas_targets()) == m["approaches"].sum()
        assert report[role]["confirmed"] == round(np.nansum(m["confirmed"] * m["approaches"]))
    for key in ("greedy", "confirmed"):
        diff = np.array(report["difference"][key], dtype=float)
        assert np.allclose(diff, maps["agent"][key] - maps["control"][key], atol=1e-3, equal_nan=True)
    pool = training_data.inspect_pool(training_data.PoolConfig(mazes=200, stub_mazes=0.75), seed=0)  # a.pt's flags, --pool-mazes 200
    assert report["pool"]["human_fraction"] == pool["human_fraction"]
    assert report["pool"]["command"] == ("python main_train.py --inspect --seed 0 --stub-mazes 0.75 --stub-humans 0.0 "
                                         "--train-mazes 200")
    greedy_diff = np.nan_to_num(maps["agent"]["greedy"] - maps["control"]["greedy"], nan=-1)
    expected = [[r, c] for r, c in zip(*np.nonzero(greedy_diff >= dream_maps.BLIND_SPOT_MARGIN - 1e-9))
                if pool["human_fraction"][r][c] == 0]
    assert [spot["cell"] for spot in report["blind_spots"]] == [[int(r), int(c)] for r, c in expected]
    assert report["blind_spot_rule"] == dream_maps.BLIND_SPOT_RULE
    assert all("confirmation" in spot for spot in report["blind_spots"])
    assert png.read_bytes().startswith(b"\x89PNG")
    if report["confirmed"] == 0:  # nothing to save: no empty maze file either
        assert not saved.exists() and "not written" in out.err
        return
    assert len(env.read_maze_file(saved)) == report["confirmed"]  # every confirmed dream was saved...
    assert main_train.main(["--evaluate", str(saved), "--weights", str(agent), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["human_rate"] == 1.0  # ...and re-evaluates as harvested


def test_bad_training_flags_in_the_weights_are_one_line_before_dreaming(tiny_agents, tmp_path, capsys):
    agent, control = tiny_agents
    save_agent(make_q_network(32, 2), tmp_path / "bad.pt", {"stub_humans": 5})
    code = maze_dream.main(["--solution", "--all", "--weights", str(tmp_path / "bad.pt"), "--control", str(control)])
    out = capsys.readouterr()
    assert code == 2 and out.out == ""
    assert out.err.splitlines() == ["error: the training flags recorded in the weights file make no training pool "
                                    "(--stub-humans must be between 0 and 1)"]
    with pytest.raises(SystemExit):  # a folder is no file to save mazes to: said before dreaming
        maze_dream.main(["--solution", "--verify", "--weights", str(agent), "--save-mazes", str(tmp_path)])


def test_lecture_dream_saved_and_re_evaluated(tmp_path):
    """The lecture's case: `maze_dream.py --solution --verify --save-mazes m.txt`, then `main_train.py --evaluate
    m.txt --json`, with the shipped agent named in both: the saved dream makes it harvest the human."""
    weights, saved = ROOT / "weights" / "agent.pt", tmp_path / "m.txt"
    dream = run_script("maze_dream.py", "--solution", "--verify", "--save-mazes", str(saved), "--weights", str(weights))
    assert dream.returncode == 0 and "CONFIRMED" in dream.stdout, dream.stdout + dream.stderr
    assert "stub beside a junction: " in dream.stdout  # said either way (this agent's dream: no)
    evaluate = run_script("main_train.py", "--evaluate", str(saved), "--json", "--weights", str(weights))
    assert evaluate.returncode == 0, evaluate.stderr
    assert json.loads(evaluate.stdout)["human_rate"] == 1.0


def test_a_dream_is_confirmed_when_the_agent_falls_for_most_of_its_completions(monkeypatch):
    """verify rolls out each dream's COMPLETIONS closest mazes: 3 of 5 harvests confirm, 2 of 5 do not, and the
    maze it shows is the first one the agent fell for."""
    dreams = fake_dreams([True] * len(maze_dream.atlas_targets()))
    pattern = {0: [False, True, True, False, True], 1: [True, True, False, False, False]}

    def fake_harvests(net, mazes, humans):
        assert len(mazes) == len(humans)
        calls.append(len(mazes))
        return list(flat)  # mazes arrive dream by dream, each dream's completions in a row

    bank = dream_verify.Bank.draw(0, n=500)
    k = dream_verify.COMPLETIONS
    per_dream = [min(k, int(bank.passing(tuple(h), tuple(a)).sum()))
                 for h, a in zip(dreams.targets.humans.tolist(), dreams.targets.agents.tolist())]
    assert per_dream[0] == per_dream[1] == k, "the first two atlas targets have enough mazes in the bank"
    flat = pattern[0] + pattern[1] + [False] * (sum(per_dream) - 2 * k)
    calls: list[int] = []
    monkeypatch.setattr(dream_verify, "harvests_target", fake_harvests)
    v = dream_verify.verify(None, dreams, 0, bank)
    assert calls == [sum(per_dream)], "one batch of rollouts for every completion of every dream"
    assert v.tried == per_dream and v.hits[:2] == [3, 2] and v.confirmed[:2] == [True, False]
    assert not any(v.confirmed[2:])
    closest = dream_verify.complete_mazes(dreams.walls[:1], *[tuple(x[0].tolist()) for x in
                                          (dreams.targets.humans, dreams.targets.agents)], bank.mazes, k, bank.stream())
    assert (v.mazes[0] == closest[1]).all(), "dream 0 shows its second completion, the first it fell for"
