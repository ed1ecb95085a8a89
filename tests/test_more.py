"""maze_dream_more.py: the neuron objective, the penalties, and a short close-the-loop run (tiny nets)."""

import argparse

import pytest
import torch

import maze_dream as md
import maze_dream_more as more
from model import channels_to_input, make_q_network


@pytest.fixture
def tiny_net():
    torch.manual_seed(0)
    return make_q_network(hidden=16, layers=2).requires_grad_(False)


def activation(net, layer, units, walls, targets):
    crops, humans, exits, _ = md.fixed_channels(targets)
    x = channels_to_input(walls, crops, humans, exits, targets.agents)
    return more.hidden_activations(net, layer, x)[torch.arange(len(units)), units]


@pytest.mark.parametrize("layer", [1, 2])
def test_neuron_gradient_raises_the_activation(tiny_net, layer):
    targets = more.repeat_targets(md.lecture_target(), 4)
    units = torch.tensor([0, 3, 7, 15])
    walls = torch.rand(4, 7, 7, generator=torch.Generator().manual_seed(1))
    crops, humans, exits, _ = md.fixed_channels(targets)
    before = walls.clone()
    g = more.reference_unit_gradient(tiny_net, layer, units, walls, crops, humans, exits, targets.agents)
    assert torch.equal(walls, before) and g.shape == walls.shape and g.abs().sum() > 0
    step = 1e-3 * g / g.flatten(1).norm(dim=1).clamp(min=1e-12)[:, None, None]
    assert (activation(tiny_net, layer, units, walls + step, targets)
            > activation(tiny_net, layer, units, walls, targets)).all()


def test_dream_units_and_stub_counts(tiny_net):
    dreams, act = more.dream_units(tiny_net, 2, [1, 2, 3], md.lecture_target(), steps=20, lr=0.05)
    assert act.shape == (3, 1) and dreams.walls.shape == (3, 7, 7)
    assert more.stub_counts(dreams, 3).shape == (3,)


def test_ablation_zeroes_only_that_unit(tiny_net):
    cut = more.ablated(tiny_net, 1, [5])
    assert (cut[2].weight[:, 5] == 0).all() and (tiny_net[2].weight[:, 5] != 0).any()
    assert torch.equal(cut[2].weight[:, 4], tiny_net[2].weight[:, 4])


@pytest.mark.parametrize("term", ["l1", "tv", "discrete", "diversity"])
def test_each_penalty_lowers_its_own_term(term):
    restarts = 3
    walls = torch.rand(restarts * 5, 7, 7, generator=torch.Generator().manual_seed(2)) * 0.8 + 0.1
    pen = more.Penalties(restarts=restarts, **{term: 1.0})
    before = more.penalty_terms(walls, restarts)[term]
    after = more.penalty_terms(walls - 1e-3 * more.penalty_gradient(walls, pen), restarts)[term]
    assert after < before


def test_regularized_gradient_without_penalties_is_the_q_gradient(tiny_net):
    t = md.atlas_targets()
    crops, humans, exits, _ = md.fixed_channels(t)
    walls = torch.rand(len(t), 7, 7, generator=torch.Generator().manual_seed(3))
    plain = more.wall_locations_gradient(tiny_net, walls, crops, humans, exits, t.agents, t.actions)
    reg = more.regularized_gradient_fn(more.Penalties())(tiny_net, walls, crops, humans, exits, t.agents, t.actions)
    assert torch.allclose(plain, reg)


def test_restarts_keep_one_dream_per_target(tiny_net):
    t = md.make_targets([((3, 3), (4, 3)), ((1, 1), (1, 0))])
    d = more.regularized_dream(tiny_net, t, more.Penalties(restarts=3, diversity=0.1), steps=5, lr=0.05, seed=0)
    assert d.walls.shape == (2, 7, 7) and len(d.targets) == 2


def test_short_close_loop_run(tiny_net):
    args = argparse.Namespace(seed=0, plain_mazes=30, setting="none", dream_steps=5, lr_dream=0.05, per_dream=2,
                              ft_steps=3, batch_size=32, ft_lr=1e-3, oracle=True)
    tuned = more.close_loop(tiny_net, args, log=lambda s: None)
    assert list(tuned)[0] == "before fine-tuning" and len(tuned) == 4
    assert not torch.equal(tuned["plain mazes only (control)"][0].weight, tiny_net[0].weight)
    families = {k: v[:20] for k, v in more.eval_families(0, 20).items()}
    table = more.rates_table(tuned, families)
    assert "plain + dream mazes" in table and "%" in table


def test_dreaming_the_position_too_raises_the_activation(tiny_net):
    t = md.lecture_target()
    crops, humans, exits, _ = md.fixed_channels(t)
    _, _, start = more.dream_unit_and_position(tiny_net, 1, 4, t, steps=0, lr=0.05)
    walls, position, act = more.dream_unit_and_position(tiny_net, 1, 4, t, steps=20, lr=0.05)
    assert walls.shape == (1, 7, 7) and position.shape == (1, 2, 7)
    assert torch.allclose(position.sum(dim=-1), torch.ones(1, 2))
    assert act > start


def test_sure_stub_needs_sure_walls():
    human, agent = (3, 3), (4, 3)
    walls = torch.zeros(7, 7)
    walls[2, 3] = walls[3, 2] = walls[3, 4] = 1.0  # the human walled in on three sides; the agent's cell is open
    assert more.shows_sure_stub(walls, human, agent)
    assert not more.shows_sure_stub(walls * 0.6, human, agent)  # above 0.5 but not sure: no
    walls[4, 2] = walls[4, 4] = walls[5, 3] = 1.0  # the agent's cell a dead end, not a junction
    assert not more.shows_sure_stub(walls, human, agent)
