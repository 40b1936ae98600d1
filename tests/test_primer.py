"""Tests of companion.primer: the task, the models, and training."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import groups as G
from companion import primer


@given(seed=st.integers(0, 2**31 - 1))
@settings(max_examples=20, deadline=None)
def test_target_and_gated_net_are_o3_and_permutation_equivariant(seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 5, 3, generator=gen, dtype=torch.float64)
    g = G.haar_o3(16, generator=gen, dtype=torch.float64)
    p = G.permutation_matrix(G.random_permutation(16, 5, generator=gen), dtype=torch.float64)
    torch.manual_seed(seed)
    net = primer.GatedVectorNet(hidden=16).double()
    for f in (primer.weighted_centroid, net):
        assert G.equivariance_error(f, x, g, G.VECTOR, G.VECTOR) < 1e-10
        assert G.invariance_error(f, x, p, G.PERMUTATION) < 1e-10


def test_plain_mlp_is_not_equivariant():
    torch.manual_seed(0)
    x = torch.randn(64, 4, 3)
    g = G.haar_o3(64, generator=torch.Generator().manual_seed(0))
    assert G.equivariance_error(primer.PointMLP(4), x, g, G.VECTOR, G.VECTOR) > 1e-2


def test_make_pointclouds_shapes_stretch_and_seed():
    x, y = primer.make_pointclouds(4000, 3, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4000, 3, 3) and y.shape == (4000, 3)
    std = x.reshape(-1, 3).std(0)
    torch.testing.assert_close(std, torch.tensor([0.6, 0.6, 1.6]), atol=0.05, rtol=0)
    xr, _ = primer.make_pointclouds(
        4000, 3, rotate=True, generator=torch.Generator().manual_seed(0)
    )
    assert (
        xr.reshape(-1, 3).std(0).max() - xr.reshape(-1, 3).std(0).min() < 0.1
    )  # isotropic after rotation
    x2, _ = primer.make_pointclouds(4000, 3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)


def test_training_reduces_loss_with_every_option():
    gen = torch.Generator().manual_seed(0)
    x, y = primer.make_pointclouds(256, 4, generator=gen)
    for options in ({}, {"augment": True}, {"equiv_weight": 1.0}):
        torch.manual_seed(0)
        model = primer.PointMLP(4, hidden=32)
        before = primer.mse(model, x, y)
        res = primer.train_regressor(model, x, y, steps=150, generator=gen, **options)
        assert len(res.losses) == 150
        assert primer.mse(model, x, y) < before
        if "equiv_weight" in options:
            assert max(res.penalties) > 0


def test_bad_input():
    with pytest.raises(ValueError, match="x must have shape"):
        primer.weighted_centroid(torch.randn(2, 3, 2))
    with pytest.raises(ValueError, match="stretch"):
        primer.make_pointclouds(2, 3, stretch=(1, 1, 0))
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        primer.make_pointclouds(0)
    with pytest.raises(ValueError, match="x must have shape"):
        primer.PointMLP(4)(torch.randn(2, 5, 3))
    x, y = primer.make_pointclouds(8, 4)
    with pytest.raises(ValueError, match="same number of samples"):
        primer.train_regressor(primer.PointMLP(4), x, y[:4])
    with pytest.raises(ValueError, match="equiv_weight"):
        primer.train_regressor(primer.PointMLP(4), x, y, equiv_weight=-1.0)
