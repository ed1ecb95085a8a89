"""The maze world: generators, stubs, text files, dynamics, rollouts."""

import numpy as np
import pytest
import torch

import maze_env as env
import training_data
from maze_env import CROP, EMPTY, EXIT, HUMAN, WALL

LECTURE_MAZE = np.array([
    [1, 0, 1, 1, 1, 1, 1],
    [1, 0, 1, 0, 0, 0, 1],
    [1, 0, 1, 0, 2, 0, 1],
    [1, 0, 1, 0, 1, 0, 1],
    [1, 1, 1, 0, 1, 1, 1],
    [0, 0, 0, 0, 1, 0, 0],
    [3, 1, 1, 1, 1, 1, -1],
])


def training_mazes(n, seed=0):
    rng = np.random.default_rng(seed)
    return [env.make_plain_maze(rng) for _ in range(n)]


def test_training_mazes_are_trees_with_items_in_every_dead_end():
    for maze in training_mazes(500):
        assert maze[0, 0] == EMPTY and maze[6, 6] == EXIT
        assert (maze[1::2, 1::2] == WALL).all(), "cells with both coordinates odd are walls"
        open_cells = maze != WALL
        assert (env.reachable(maze) == open_cells).all()
        # 16 rooms joined by 15 corridors: a tree, so no loops
        assert open_cells.sum() == 16 + 15
        for cell in env.dead_ends(maze):
            assert maze[cell] in (CROP, HUMAN)
        assert not ((maze == CROP) | (maze == HUMAN))[open_cells & (env.open_neighbours(maze) > 1)].any()


def test_training_generator_never_makes_a_stub():
    mazes = training_mazes(3000, seed=1)
    assert sum(len(env.stubs(m)) for m in mazes) == 0


def test_crops_and_humans_are_about_50_50():
    mazes = np.stack(training_mazes(1000, seed=2))
    crops, humans = (mazes == CROP).sum(), (mazes == HUMAN).sum()
    assert 0.45 < crops / (crops + humans) < 0.55


@pytest.mark.parametrize("beside_path", [True, False, None])
def test_every_ood_maze_has_a_human_in_a_stub(beside_path):
    rng = np.random.default_rng(3)
    for _ in range(300):
        maze = env.make_ood_maze(rng, beside_path=beside_path)
        found = env.stubs(maze)
        assert len(found) == 1 and maze[found[0]] == HUMAN
        assert (env.reachable(maze) == (maze != WALL)).all(), "every open cell reachable"
        assert env.shortest_path(maze)[-1] == (6, 6)
        if beside_path is not None:
            assert env.stub_beside_path(maze) == beside_path


def test_stubs_on_a_hand_made_maze():
    maze = env.parse_mazes(
        "..C....\n"
        "#.####.\n"
        "#H####.\n"
        "######.\n"
        "######.\n"
        "####H#.\n"
        "###...E\n"
    )[0]
    # (2, 1) ends a corridor; (5, 4) and (6, 3) are dead ends beside the junction (6, 4).
    assert sorted(env.dead_ends(maze)) == [(2, 1), (5, 4), (6, 3)]
    assert env.stubs(maze) == [(5, 4), (6, 3)]
    assert env.stub_mask(torch.tensor(maze)[None])[0].nonzero().tolist() == [[5, 4], [6, 3]]


def test_stub_mask_matches_stubs():
    rng = np.random.default_rng(4)
    mazes = [env.make_ood_maze(rng) for _ in range(200)] + training_mazes(100)
    mask = env.stub_mask(torch.tensor(np.stack(mazes)))
    for maze, m in zip(mazes, mask):
        assert sorted(map(tuple, m.nonzero().tolist())) == sorted(env.stubs(maze))


def test_format_and_parse_round_trip():
    rng = np.random.default_rng(5)
    mazes = training_mazes(20) + [env.make_ood_maze(rng) for _ in range(20)] + [LECTURE_MAZE]
    text = "\n\n".join(env.format_maze(m) for m in mazes)
    back = env.parse_mazes(text)
    assert len(back) == len(mazes)
    for a, b in zip(mazes, back):
        assert (a == b).all()


def test_lecture_maze_text():
    text = ".#.....\n.#.###.\n.#.#C#.\n.#.#.#.\n...#...\n####.##\nH.....E"
    assert env.format_maze(LECTURE_MAZE) == text
    assert (env.parse_mazes(text)[0] == LECTURE_MAZE).all()


def test_lecture_maze_is_in_distribution():
    assert env.stubs(LECTURE_MAZE) == []
    assert all(LECTURE_MAZE[c] in (CROP, HUMAN) for c in env.dead_ends(LECTURE_MAZE))


GOOD = LECTURE_MAZE_TEXT = ".#.....\n.#.###.\n.#.#C#.\n.#.#.#.\n...#...\n####.##\nH.....E"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "no maze"),
        ("\n\n  \n", "no maze"),
        (GOOD.rsplit("\n", 1)[0], "has 6 lines"),
        (GOOD + "\n.......", "has 8 lines"),
        (GOOD.replace(".#.....", ".#....", 1), "line 1: has 6 characters"),
        (GOOD.replace("...#...", "...#....", 1), "line 5: has 8 characters"),
        (GOOD.replace("H", "X"), "line 7, column 1: unknown character 'X'"),
        (GOOD.replace("C", "c"), "line 3, column 5: unknown character 'c'"),
        (GOOD.replace(".#.###.", ".#\t###.", 1), "line 2, column 3: unknown character '\\t'"),
        (GOOD.replace("E", "."), "no exit"),
        (GOOD.replace(".#.....", ".#....E", 1), "line 7, column 7: a second exit"),
        ("#" + GOOD[1:], "line 1, column 1: the start"),
        (GOOD.replace("####.##", "#######"), "exit can't be reached"),
        (GOOD + "\n\n" + GOOD.replace("E", "."), "maze 2: has no exit"),
    ],
)
def test_bad_maze_text_names_the_place(text, expected):
    with pytest.raises(env.MazeFormatError, match=None) as info:
        env.parse_mazes(text, "f.txt")
    assert expected in str(info.value), str(info.value)
    assert str(info.value).startswith("f.txt")
    assert "\n" not in str(info.value)


def test_accepted_variants():
    for text in (GOOD.replace("\n", "\r\n"), "\ufeff" + GOOD, GOOD.replace("\n", "  \n"), "\n\n" + GOOD + "\n\n\n"):
        assert (env.parse_mazes(text)[0] == LECTURE_MAZE).all()


def test_read_maze_file_errors(tmp_path):
    with pytest.raises(env.MazeFormatError, match="can't read"):
        env.read_maze_file(tmp_path / "missing.txt")
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(env.MazeFormatError, match="not UTF-8"):
        env.read_maze_file(tmp_path / "bin")
    with pytest.raises(env.MazeFormatError, match="can't read"):
        env.read_maze_file(tmp_path)


# --- Dynamics ---------------------------------------------------------------------
def test_step_on_hand_made_maze():
    maze = env.parse_mazes(".C#....\n.H#....\n.......\n.......\n.......\n.......\n......E")[0]
    after, pos, reward, done = env.step(maze, (0, 0), env.RIGHT)
    assert pos == (0, 1) and reward == env.MOVE_REWARD + env.CROP_REWARD and not done
    assert after[0, 1] == EMPTY and maze[0, 1] == CROP, "harvest empties the cell, input untouched"
    _, pos, reward, done = env.step(after, (0, 1), env.RIGHT)
    assert (pos, reward, done) == ((0, 1), env.WALL_REWARD, True)
    _, pos, reward, done = env.step(maze, (0, 0), env.UP)
    assert (pos, reward, done) == ((0, 0), env.WALL_REWARD, True), "the border is a wall"
    after, pos, reward, done = env.step(maze, (0, 0), env.DOWN)
    assert (pos, reward, done) == ((1, 0), env.MOVE_REWARD, False)
    after, pos, reward, done = env.step(maze, (1, 0), env.RIGHT)
    assert reward == env.MOVE_REWARD + env.HUMAN_REWARD and after[1, 1] == EMPTY
    _, pos, reward, done = env.step(maze, (6, 5), env.RIGHT)
    assert (pos, reward, done) == ((6, 6), env.MOVE_REWARD + env.EXIT_REWARD, True)


def random_batch(seed, n=60):
    rng = np.random.default_rng(seed)
    mazes = [env.make_plain_maze(rng) for _ in range(n // 2)] + [env.make_ood_maze(rng) for _ in range(n // 2)]
    for maze in mazes[::3]:
        env.add_stub(maze, rng, env.BONUS)  # a hidden bonus, as in the training pool
    mazes = torch.tensor(np.stack(mazes))
    drop = torch.tensor(rng.random(mazes.shape) < 0.3) & ((mazes == CROP) | (mazes == HUMAN))
    mazes[drop] = EMPTY
    return mazes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorized_transitions_equal_the_reference(seed):
    mazes = random_batch(seed)
    t = env.transitions(mazes)
    fast = sorted(
        (int(m), (int(p[0]), int(p[1])), int(a), round(float(r), 5), bool(d), (int(q[0]), int(q[1])))
        for m, p, a, r, d, q in zip(t.maze, t.pos, t.action, t.reward, t.done, t.next_pos)
    )
    slow = sorted((m, p, a, round(r, 5), d, q) for m, p, a, r, d, q in env.transitions_reference(mazes))
    assert len(fast) == len(slow) > 0
    assert fast == slow


def test_bonus_mazes_hide_bonuses_in_stubs_and_never_a_human():
    rng = np.random.default_rng(5)
    for _ in range(100):
        maze = training_data.make_bonus_maze(rng)
        bonus = maze == env.BONUS
        assert 1 <= bonus.sum() <= 2
        stub = env.stub_mask(torch.tensor(maze)[None])[0].numpy()
        assert (stub[bonus]).all() and not (stub & (maze == HUMAN)).any()


def test_bonus_mazes_with_human_share_put_humans_in_stubs():
    rng = np.random.default_rng(6)
    mazes = torch.tensor(np.stack([training_data.make_bonus_maze(rng, human_share=1.0) for _ in range(50)]))
    assert not (mazes == env.BONUS).any()
    assert (env.stub_mask(mazes) & (mazes == HUMAN)).any(dim=2).any(dim=1).all()


def test_rollout_takes_a_bonus_and_stays():
    maze = torch.tensor(env.parse_mazes(".#.....\n.......\n.......\n.......\n.......\n.......\n......E")[0])
    maze[0, 1] = env.BONUS
    seen = []

    def right_then_down(mazes, pos):
        seen.append(mazes.clone())
        return torch.tensor([env.RIGHT if len(seen) == 1 else env.DOWN])

    ep = env.rollout_batch(right_then_down, maze[None], max_steps=3)
    assert ep.bonuses.tolist() == [1], "stepping into the bonus takes it"
    assert not (seen[0] == env.BONUS).any(), "the policy sees a hidden bonus as an empty cell"
    assert seen[1][0, 0, 1] == WALL, "the stub caves in once the bonus is taken"
    assert ep.path(0) == [(0, 0), (1, 0), (2, 0)], "taking the bonus doesn't move the agent"


def constant_policy(action):
    return lambda mazes, pos: torch.full((len(mazes),), action)


def test_rollout_counts_and_stops():
    mazes = torch.tensor(np.stack(env.parse_mazes(
        ".CH...E\n#######\n.......\n.......\n.......\n.......\n.......\n\n"
        ".C.....\n######.\n.......\n.......\n.......\n.......\n......E"
    )))
    ep = env.rollout_batch(constant_policy(env.RIGHT), mazes)
    assert ep.reached_exit.tolist() == [True, False]
    assert ep.crops.tolist() == [1, 1] and ep.humans.tolist() == [1, 0]
    assert ep.path(0) == [(0, c) for c in range(7)]
    assert ep.path(1) == [(0, c) for c in range(7)], "stops at the border"


def test_rollout_stops_on_a_loop():
    maze = torch.tensor(env.parse_mazes("..#....\n..#....\n.......\n.......\n.......\n.......\n......E")[0])
    state = {"n": 0}

    def back_and_forth(mazes, pos):
        state["n"] += 1
        return torch.full((1,), env.RIGHT if state["n"] % 2 else env.LEFT)

    ep = env.rollout_batch(back_and_forth, maze[None])
    assert ep.path(0) == [(0, 0), (0, 1), (0, 0)]
    assert not ep.reached_exit[0]


def test_next_mazes_match_step():
    mazes = random_batch(11)
    t = env.transitions(mazes)
    after = env.next_mazes(mazes[t.maze], t.pos, t.action)
    for j in range(0, len(t), 7):
        maze = mazes[int(t.maze[j])].numpy()
        expected, pos, _, _ = env.step(maze, tuple(t.pos[j].tolist()), int(t.action[j]))
        assert (after[j].numpy() == expected).all()
        assert pos == tuple(t.next_pos[j].tolist())


def test_a_bonus_stub_pays_once_and_caves_in():
    maze = env.parse_mazes(GOOD)[0]
    maze[3, 3] = env.BONUS
    after, pos, reward, done = env.step(maze, (3, 2), env.RIGHT)
    assert (pos, reward, done) == ((3, 2), env.MOVE_REWARD + env.BONUS_REWARD, False)
    assert after[3, 3] == WALL


def test_a_hidden_bonus_is_written_as_b_and_read_back():
    rng = np.random.default_rng(4)
    maze = training_data.make_bonus_maze(rng)
    text = env.format_maze(maze)
    assert "B" in text and text.count("B") == int((maze == env.BONUS).sum())
    [back] = env.parse_mazes(text)
    assert np.array_equal(back, maze)


def test_training_maze_mixes_plain_and_bonus_mazes_as_the_pool_asks():
    rng = np.random.default_rng(5)
    assert all((training_data.make_training_maze(rng, stub_mazes=1.0) == env.BONUS).any() for _ in range(20))
    assert not any(env.stubs(training_data.make_training_maze(rng, stub_mazes=0.0)) for _ in range(20))
    with_humans = [training_data.make_training_maze(rng, stub_mazes=1.0, human_share=1.0) for _ in range(20)]
    assert all(not (m == env.BONUS).any() and any(m[cell] == env.HUMAN for cell in env.stubs(m)) for m in with_humans)


def test_pool_config_names_the_flag_of_a_bad_value():
    assert training_data.PoolConfig().problem() is None
    assert training_data.PoolConfig(stub_humans=1.5).problem() == "--stub-humans must be between 0 and 1"
    assert training_data.PoolConfig(mazes=0).problem() == "--train-mazes must be at least 1"
    assert training_data.PoolConfig.from_info({"stub_bonus": 1.0, "hidden": 8}) == training_data.PoolConfig(bonus_reward=1.0)


def test_printed_mazes_have_numbered_rows_and_columns_and_a_legend():
    maze = env.make_plain_maze(np.random.default_rng(3))
    path = env.shortest_path(maze)
    lines = env.draw_path(maze, path).splitlines()
    assert lines[0] == "  0123456" and [line[:2] for line in lines[1:8]] == [f"{r} " for r in range(7)]
    assert lines[8] == f"{env.LEGEND}  {env.PATH_LEGEND}" and len(lines) == 9
    drawn = [line[2:] for line in lines[1:8]]
    assert all(drawn[r][c] in "*E" for r, c in path)  # the path, cell by cell, where the numbers say
    assert "\n".join(drawn).replace("*", ".") == env.format_maze(maze)
    shown = env.show_maze(maze).splitlines()
    assert [line[2:] for line in shown[1:8]] == env.format_maze(maze).splitlines() and shown[8] == env.LEGEND
