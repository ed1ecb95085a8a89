"""to_input, the TD loss, the Q-network's files, training and --evaluate."""

import json
import os
import pickle

import numpy as np
import pytest
import torch

import evaluation
import main_train
import maze_env as env
import training_data
from helpers import ROOT, run_script
from model import WeightsError, load_agent, make_q_network, save_agent, td_loss

LECTURE = ".#.....\n.#.###.\n.#.#C#.\n.#.#.#.\n...#...\n####.##\nH.....E"

# The channels exactly as the lecture prints them.
WALLS = [
    [0, 1, 0, 0, 0, 0, 0],
    [0, 1, 0, 1, 1, 1, 0],
    [0, 1, 0, 1, 0, 1, 0],
    [0, 1, 0, 1, 0, 1, 0],
    [0, 0, 0, 1, 0, 0, 0],
    [1, 1, 1, 1, 0, 1, 1],
    [0, 0, 0, 0, 0, 0, 0],
]


def one_hot_grid(r, c):
    g = torch.zeros(7, 7)
    g[r, c] = 1
    return g


def test_to_input_on_the_lecture_maze():
    maze = env.parse_mazes(LECTURE)[0]
    x = main_train.to_input(maze, (0, 0))
    assert x.shape == (210,)
    walls, crops, humans, exits = x[:196].reshape(4, 7, 7)
    assert torch.equal(walls, torch.tensor(WALLS, dtype=torch.float))
    assert torch.equal(crops, one_hot_grid(2, 4))
    assert torch.equal(humans, one_hot_grid(6, 0))
    assert torch.equal(exits, one_hot_grid(6, 6))
    assert x[196:203].tolist() == [1, 0, 0, 0, 0, 0, 0] and x[203:].tolist() == [1, 0, 0, 0, 0, 0, 0]
    assert main_train.to_input(maze, (4, 2))[196:].nonzero().squeeze(1).tolist() == [4, 7 + 2]


def test_to_input_batch_equals_singles():
    rng = np.random.default_rng(0)
    mazes = [env.make_plain_maze(rng) for _ in range(5)]
    pos = [(0, 0), (2, 2), (6, 5), (0, 1), (4, 4)]
    batch = main_train.to_input(torch.tensor(np.stack(mazes)), torch.tensor(pos))
    for i in range(5):
        assert torch.equal(batch[i], main_train.to_input(mazes[i], pos[i]))


def test_save_load_round_trip(tmp_path):
    net = make_q_network(32, 2)
    save_agent(net, tmp_path / "a.pt", {"seed": 3})
    back, info = load_agent(tmp_path / "a.pt")
    assert info == {"seed": 3}
    x = torch.rand(4, 210)
    assert torch.equal(net(x), back(x))
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"], "no temp files left behind"


def test_load_refuses_files_that_are_not_weights(tmp_path):
    (tmp_path / "text.pt").write_text("hello")
    torch.save({"format": "something else"}, tmp_path / "foreign.pt")
    torch.save(make_q_network(32, 2).state_dict(), tmp_path / "bare.pt")
    for name in ("text.pt", "foreign.pt", "bare.pt", "missing.pt"):
        with pytest.raises(WeightsError):
            load_agent(tmp_path / name)


def test_load_refuses_a_pickle_that_runs_code(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump(Evil(), f)
    with pytest.raises(WeightsError):
        load_agent(tmp_path / "evil.pt")
    assert not marker.exists()


def test_load_checks_shapes(tmp_path):
    save_agent(make_q_network(32, 2), tmp_path / "a.pt")
    blob = torch.load(tmp_path / "a.pt", weights_only=True)
    blob["state_dict"]["0.weight"] = torch.zeros(32, 200)
    torch.save(blob, tmp_path / "bad.pt")
    with pytest.raises(WeightsError, match="shape"):
        load_agent(tmp_path / "bad.pt")


# --- The TD loss, by hand ----------------------------------------------------------------------------
COL = 203  # the input's first column one-hot entry: 4 channels x 49, then 7 rows
CROP_CHANNEL = slice(49, 98)


def linear_q(bias_by_column: dict[int, list[float]], per_crop: list[float]) -> torch.nn.Linear:
    """Q(s)[a] = bias_by_column[agent's column][a] + per_crop[a] * (crops in the maze): a Q-network we can add up."""
    net = torch.nn.Linear(210, 4)
    with torch.no_grad():
        net.weight.zero_()
        net.bias.zero_()
        for col, q in bias_by_column.items():
            net.weight[:, COL + col] = torch.tensor(q)
        net.weight[:, CROP_CHANNEL] = torch.tensor(per_crop)[:, None]
    return net


def test_td_loss_by_hand():
    """The four moves from (0, 0), with a crop at (0, 1): up and left into the border, down into a wall, right
    onto the crop.

    online Q: column 0 [0, 0, 0, 1], column 1 [0.5, 2, 0, 1]; +1.5 to `right` per crop in the maze.
    target Q: column 1 [4, 3, 9, 1].
    Right: q = 1 + 1.5 = 2.5. After the harvest the target net's best move at (0, 1) is worth 9 (its own max:
      the online net's choice, `down` at 2, would give 3 under double DQN).
      target = (-0.25 + 2) + 0.95 * 9 = 10.3; Huber(2.5 - 10.3) = 7.8 - 0.5 = 7.3.
    Up, down, left: a bump ends the episode: target = -5, q = 0; Huber(5) = 4.5 each.
    Mean: (7.3 + 3 * 4.5) / 4 = 5.2.
    """
    maze = np.full((7, 7), env.WALL)
    maze[0, :3] = env.EMPTY
    maze[0, 1] = env.CROP
    mazes = torch.tensor(maze)[None]
    trans = env.transitions(mazes)
    rows = ((trans.pos == torch.tensor([0, 0])).all(dim=1)).nonzero().flatten()
    assert trans.action[rows].tolist() == [env.UP, env.DOWN, env.LEFT, env.RIGHT]  # the layout td_loss relies on
    state = rows[0] // 4
    online = linear_q({0: [0, 0, 0, 1], 1: [0.5, 2, 0, 1]}, per_crop=[0, 0, 0, 1.5])
    target = linear_q({1: [4, 3, 9, 1]}, per_crop=[0, 0, 0, 0])
    loss = td_loss(online, target, mazes, trans, state[None], gamma=0.95)
    assert loss.item() == pytest.approx(5.2, abs=1e-5)
    loss.backward()  # the gradient flows into the online net only
    assert online.weight.grad is not None and target.weight.grad is None


def short_args(tmp_path, *extra):
    return main_train.parse_args([
        "--steps", "600", "--train-mazes", "2000", "--hidden", "64", "--batch-size", "64",
        "--warmup", "50", "--eval-every", "300", "--save", str(tmp_path / "a.pt"),
        "--out", str(tmp_path), *extra,
    ])


def bump_rate(net, mazes):
    """Fraction of (maze, empty cell) states where the greedy action walks into a wall."""
    t = env.transitions(mazes)
    with torch.no_grad():
        greedy = net(main_train.to_input(mazes[t.maze], t.pos)).argmax(dim=1)
    chosen = t.action == greedy
    bumps = t.done & (t.reward == env.WALL_REWARD)
    return (bumps & chosen).sum().item() / chosen.sum().item()


def test_short_training_learns(tmp_path, one_thread):
    """Training cuts greedy wall bumps (test_hardening.py checks that the same seed gives the same weights)."""
    args = short_args(tmp_path)
    mazes = evaluation.eval_families(9, 200)[evaluation.PLAIN_MAZES]
    before = bump_rate(make_q_network(64), mazes)
    net, curve = main_train.train(args, log=lambda *a: None)
    after = bump_rate(net, mazes)
    assert before > 0.3 and after < before / 3, f"greedy wall bumps: {before:.1%} before training, {after:.1%} after"
    assert curve["eval_step"] == [300, 600] and len(curve["loss"]) == 12


def moves_to_exit(mazes, trans):
    """Per pool state (rows 4k), its moves to the exit by breadth-first search (maze_env.shortest_path)."""
    first = range(0, len(trans), 4)
    return np.array([len(env.shortest_path(mazes[trans.maze[i]].numpy(), tuple(trans.pos[i].tolist()))) - 1
                     for i in first])


def test_far_weights_are_one_plus_the_moves_to_the_exit_to_the_power():
    mazes = evaluation.eval_families(4, 20)[evaluation.PLAIN_MAZES]
    trans = env.transitions(mazes)
    moves = moves_to_exit(mazes, trans)
    for power in (0.0, 0.5, 2.0):
        got = main_train.far_weights(mazes, trans, power).numpy()
        assert np.allclose(got, (1.0 + moves) ** power), power


def test_far_weight_draws_far_states_more_often(tmp_path, one_thread, monkeypatch):
    """The states train() draws follow the weights: their mean moves to the exit is the weighted mean."""
    drawn = []

    def recording_loss(net, target_net, mazes, trans, states, gamma):
        drawn.append(states.clone())
        return td_loss(net, target_net, mazes, trans, states, gamma)

    monkeypatch.setattr(main_train, "td_loss", recording_loss)
    means = {}
    for power in (0.0, 1.0):
        drawn.clear()
        args = main_train.parse_args(["--steps", "150", "--train-mazes", "200", "--hidden", "16", "--eval-every",
                                      "150", "--far-weight", str(power), "--save", str(tmp_path / "a.pt")])
        main_train.train(args, log=lambda *a: None)
        mazes, trans = training_data.make_pool(training_data.pool_config(args), np.random.default_rng(args.seed))
        moves = moves_to_exit(mazes, trans)
        weight = (1.0 + moves) ** power
        expected = (weight * moves).sum() / weight.sum()
        means[power] = moves[torch.cat(drawn).numpy()].mean()
        assert abs(means[power] - expected) < 0.3, (power, means[power], expected)
    assert means[1.0] > means[0.0] + 1, means


def run_cli(*args):
    return run_script("main_train.py", *args, timeout=120)


@pytest.fixture(scope="module")
def small_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "w.pt"
    save_agent(make_q_network(32, 2), path)
    return path


def test_evaluate_json(small_weights):
    out = run_cli("--evaluate", str(ROOT / "examples" / "in_dist_lecture.txt"), "--weights", str(small_weights),
                  "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert set(result) == {"mazes", "exit_rate", "human_rate", "crop_rate", "bonus_rate", "mean_steps"}
    assert result["mazes"] == 1


@pytest.mark.parametrize("content", ["", "#######\n", LECTURE.replace("E", "X")])
def test_evaluate_bad_file_exits_2_with_one_line(tmp_path, small_weights, content):
    bad = tmp_path / "bad.txt"
    bad.write_text(content)
    out = run_cli("--evaluate", str(bad), "--weights", str(small_weights))
    assert out.returncode == 2
    assert out.stdout == "" and len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_evaluate_bad_weights_exits_2(tmp_path):
    bad = tmp_path / "w.pt"
    bad.write_bytes(b"not weights")
    out = run_cli("--evaluate", str(ROOT / "examples" / "in_dist_lecture.txt"), "--weights", str(bad))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


def test_help_documents_every_flag():
    out = run_cli("--help")
    assert out.returncode == 0
    for flag in ("--seed", "--steps", "--device", "--evaluate", "--weights", "--json", "--stub-mazes", "--stub-humans", "--inspect", "--table"):
        assert flag in out.stdout


def test_inspect_default_pool_pays_no_human_and_has_none_in_stubs(monkeypatch):
    """The default training data: every step onto a human costs, and no human ever stands in a stub.

    The maps are checked against a direct count over the same pool, maze by maze.
    """
    args = main_train.parse_args([])
    config = training_data.pool_config(args)
    pools = []  # the pool inspect_pool builds, kept: building 20000 mazes twice would double the test's time
    make_pool = training_data.make_pool

    def make_pool_and_keep(pool_config, rng):
        # The pool train builds: these flags, a generator fresh from the seed.
        assert pool_config == config and rng.bit_generator.state == np.random.default_rng(args.seed).bit_generator.state
        pools.append(make_pool(pool_config, rng))
        return pools[-1]

    monkeypatch.setattr(training_data, "make_pool", make_pool_and_keep)
    report = json.loads(json.dumps(training_data.inspect_pool(config, args.seed)))  # what --json prints
    assert report["human_step_rewards"] and all(r < 0 for r in report["human_step_rewards"])
    assert report["mazes_with_human_in_stub"] == 0
    (mazes, trans), = pools
    assert report["mazes"] == len(mazes) == args.train_mazes == training_data.PoolConfig().mazes and report["transitions"] == len(trans)
    counts = {"open_fraction": np.zeros((7, 7)), "human_fraction": np.zeros((7, 7)), "crop_fraction": np.zeros((7, 7))}
    for maze in mazes.numpy():
        counts["open_fraction"] += maze != env.WALL
        counts["human_fraction"] += maze == env.HUMAN
        counts["crop_fraction"] += maze == env.CROP
    for key, count in counts.items():
        assert np.allclose(np.array(report[key]), count / len(mazes)), key
    assert report["mazes_with_bonus"] > len(mazes) / 4, "the default pool has hidden bonuses in many mazes"


def test_inspect_counts_humans_in_stubs_and_their_rewards(tmp_path):
    out = run_cli("--inspect", "--json", "--train-mazes", "300", "--stub-humans", "0.5", "--seed", "3")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["mazes"] == 300 and report["mazes_with_human_in_stub"] > 50
    assert report["human_step_rewards"] == [env.MOVE_REWARD + env.HUMAN_REWARD]
    assert {"open_fraction", "human_fraction", "crop_fraction"} <= set(report)
    text = run_cli("--inspect", "--train-mazes", "300", "--stub-humans", "0.5", "--seed", "3").stdout
    assert f"mazes with a human in a stub: {report['mazes_with_human_in_stub']}" in text


def test_play_draws_the_examples_without_training(capsys, tmp_path):
    """`--play`: the shipped agent in every example maze, its path drawn; it harvests the human in the three
    mazes with a human in a stub and in none of the others. A bad weights file is one line and exit code 2."""
    assert main_train.main(["--play"]) == 0
    out = capsys.readouterr().out
    blocks = out.split("\n\n")[1:]
    assert len(blocks) == len(list((ROOT / "examples").glob("*.txt")))
    harvested = sorted(b.split(" ")[0] for b in blocks if ", 1 human(s)" in b)
    assert harvested == ["ood_stub_1.txt", "ood_stub_2.txt", "ood_stub_3_3.txt"], out
    assert main_train.main(["--play", "--weights", str(tmp_path / "missing.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
