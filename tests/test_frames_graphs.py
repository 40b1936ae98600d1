"""Tests for companion.frames.graphs: sorting frames for S_n, graph frame averaging, 1-WL."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.frames import (
    GINBackbone,
    GraphFrameAveraging,
    automorphism_count,
    canonical_graphs,
    circulant_graph,
    cycle_graph,
    disjoint_union,
    from_edges,
    graph_frame,
    hypercube_graph,
    laplacian,
    relabel,
    spectral_node_keys,
    wl_colors,
    wl_equivalent,
    wl_hard_pairs,
)

F64 = torch.float64


def _random_graph(seed: int, n: int, p: float = 0.45) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    upper = (torch.rand(n, n, generator=g) < p).triu(1)
    return (upper | upper.T).to(F64)


def _perm(seed: int, n: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def _canonical_set(adj: torch.Tensor, x: torch.Tensor | None = None) -> set[bytes]:
    fr = graph_frame(adj, x)
    a, xs = canonical_graphs(adj, x, fr.orderings())
    if xs is None:
        return {m.numpy().tobytes() for m in a}
    return {m.numpy().tobytes() + f.numpy().tobytes() for m, f in zip(a, xs, strict=True)}


def _isomorphic_brute_force(a: torch.Tensor, b: torch.Tensor) -> bool:
    a, b = a.numpy(), b.numpy()
    n = a.shape[0]
    return any(np.array_equal(a[np.ix_(p, p)], b) for p in itertools.permutations(range(n)))


# --------------------------------------------------------------------------- frames


def test_laplacian_rows_sum_to_zero_and_match_degree():
    a = _random_graph(0, 7)
    lap = laplacian(a)
    assert torch.allclose(lap.sum(-1), torch.zeros(7, dtype=F64))
    assert torch.equal(lap.diagonal(), a.sum(-1))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 8))
def test_spectral_keys_are_permutation_equivariant(seed, n):
    a, p = _random_graph(seed, n), _perm(seed + 1, n)
    keys, keys_moved = spectral_node_keys(a), spectral_node_keys(relabel(a, p))
    assert torch.equal(keys_moved[p], keys)  # node i of A is node p[i] of the relabelled graph


def test_keys_ignore_the_eigenvector_sign_and_basis():
    # a cycle has 2-dimensional eigenspaces: keys equal the row norms of any orthonormal basis
    a = cycle_graph(6)
    keys = spectral_node_keys(a)
    evals = torch.linalg.eigvalsh(laplacian(a))
    assert keys.shape == (6, len(torch.unique(torch.round(evals, decimals=6))))
    assert torch.allclose(keys, keys[:1].expand_as(keys))  # vertex-transitive: all equal


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 7))
def test_frame_is_equivariant_canonical_graphs_do_not_depend_on_labels(seed, n):
    a, p = _random_graph(seed, n), _perm(seed + 7, n)
    assert _canonical_set(a) == _canonical_set(relabel(a, p))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 7))
def test_automorphism_group_order_divides_frame_size(seed, n):
    a = _random_graph(seed, n)
    fr = graph_frame(a)
    assert fr.size % automorphism_count(a) == 0


def test_frame_sizes_with_and_without_automorphisms():
    # an asymmetric graph (trivial automorphism group) with a simple spectrum: one ordering
    asym = from_edges(6, [(0, 1), (0, 3), (0, 5), (1, 2), (1, 3), (1, 4), (4, 5)])
    assert automorphism_count(asym) == 1
    assert graph_frame(asym).size == 1
    # the path 0-1-2-3: Aut = {id, reversal}; keys tie the two ends and the two middles
    path = from_edges(4, [(0, 1), (1, 2), (2, 3)])
    assert automorphism_count(path) == 2 and graph_frame(path).size == 4
    # vertex-transitive graphs: every key is equal, the frame is all of S_n
    for a in (cycle_graph(6), hypercube_graph(3), circulant_graph(7, (1, 2))):
        n = a.shape[0]
        assert graph_frame(a).size == math.factorial(n)
    # two components of different sizes are told apart by the zero eigenspace
    assert graph_frame(disjoint_union(cycle_graph(5), cycle_graph(3))).size == math.factorial(
        5
    ) * math.factorial(3)


def test_orderings_are_distinct_sort_the_keys_and_match_size():
    a = from_edges(6, [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5)])
    fr = graph_frame(a)
    orders = fr.orderings()
    assert orders.shape == (fr.size, 6)
    assert len({tuple(o) for o in orders.tolist()}) == fr.size
    for o in orders:
        assert sorted(o.tolist()) == list(range(6))
        k = fr.keys[o].numpy()
        assert all(tuple(k[j]) <= tuple(k[j + 1]) for j in range(5))
    drawn = fr.sample(50, generator=torch.Generator().manual_seed(0))
    allowed = {tuple(o) for o in orders.tolist()}
    assert all(tuple(o) in allowed for o in drawn.tolist())


def test_node_features_split_ties():
    a = cycle_graph(4)
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0]], dtype=F64)
    assert graph_frame(a).size == 24
    assert graph_frame(a, x).size == 1


# --------------------------------------------------------------------------- frame averaging


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 7))
def test_frame_averaged_gin_with_ids_is_exactly_invariant(seed, n):
    torch.manual_seed(seed)
    backbone = GINBackbone(d_in=2, hidden=8, layers=2, out=3, node_ids=8).double()
    fa = GraphFrameAveraging(backbone)
    a, p = _random_graph(seed, n), _perm(seed + 3, n)
    x = torch.randn(n, 2, dtype=F64, generator=torch.Generator().manual_seed(seed))
    x_moved = torch.empty_like(x)
    x_moved[p] = x
    with torch.no_grad():
        y, y_moved = fa(a, x), fa(relabel(a, p), x_moved)
    assert torch.allclose(y, y_moved, atol=1e-12, rtol=1e-10)


def test_backbone_alone_is_not_invariant():
    torch.manual_seed(0)
    backbone = GINBackbone(hidden=8, layers=2, out=3, node_ids=8).double()
    a = _random_graph(1, 7)
    p = _perm(2, 7)
    with torch.no_grad():
        diff = (backbone(a[None]) - backbone(relabel(a, p)[None])).abs().max()
    assert diff > 1e-3


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 6))
def test_node_level_frame_averaging_is_equivariant(seed, n):
    torch.manual_seed(seed)
    backbone = GINBackbone(hidden=6, layers=2, node_ids=6, node_level=True).double()
    fa = GraphFrameAveraging(backbone, output="node")
    a, p = _random_graph(seed, n), _perm(seed + 5, n)
    with torch.no_grad():
        y, y_moved = fa(a), fa(relabel(a, p))
    assert y.shape == (n, 6)
    assert torch.allclose(y_moved[p], y, atol=1e-12)


def test_frame_averaging_of_an_invariant_backbone_changes_nothing():
    torch.manual_seed(0)
    gin = GINBackbone(hidden=8, layers=2, out=3).double()
    a = _random_graph(4, 6)
    with torch.no_grad():
        assert torch.allclose(GraphFrameAveraging(gin)(a), gin(a[None])[0], atol=1e-12)


def test_sampled_frame_average_uses_frame_elements_only():
    calls = []

    def backbone(adj, x):
        calls.append(adj)
        return adj.sum(dim=(1, 2))[:, None]

    fa = GraphFrameAveraging(backbone, max_frame=10, n_samples=16)
    a = cycle_graph(6)  # 720 elements > max_frame: sampled
    y = fa(a, generator=torch.Generator().manual_seed(0))
    assert calls[0].shape == (16, 6, 6)
    assert torch.allclose(y, torch.tensor([12.0], dtype=F64))
    with pytest.raises(ValueError, match="n_samples"):
        GraphFrameAveraging(backbone, max_frame=10)(a)


# --------------------------------------------------------------------------- 1-WL and pairs


def test_wl_separates_what_it_should():
    path = from_edges(4, [(0, 1), (1, 2), (2, 3)])
    star = from_edges(4, [(0, 1), (0, 2), (0, 3)])
    assert not wl_equivalent(path, star)
    assert wl_equivalent(path, relabel(path, _perm(0, 4)))
    colors = wl_colors(path)
    assert colors[0] == colors[3] and colors[1] == colors[2] and colors[0] != colors[1]


def test_hard_pairs_are_wl_equivalent_but_not_isomorphic():
    for name, a, b in wl_hard_pairs():
        assert wl_equivalent(a, b), name
        assert _canonical_set(a).isdisjoint(_canonical_set(b)), name
        if a.shape[0] <= 8:
            assert not _isomorphic_brute_force(a, b), name


def test_gin_cannot_separate_a_hard_pair_but_frame_averaged_gin_with_ids_can():
    _, a, b = wl_hard_pairs()[0]  # C6 vs two triangles
    torch.manual_seed(0)
    gin = GINBackbone(hidden=16, out=4).double()
    fa = GraphFrameAveraging(GINBackbone(hidden=16, out=4, node_ids=6).double())
    with torch.no_grad():
        assert (gin(a[None]) - gin(b[None])).abs().max() < 1e-12
        assert (fa(a) - fa(b)).abs().max() > 1e-6


# --------------------------------------------------------------------------- bad input


def test_bad_input():
    a = cycle_graph(4)
    with pytest.raises(TypeError, match="adj"):
        graph_frame(a.long())
    with pytest.raises(TypeError, match="adj"):
        graph_frame(a.numpy())
    with pytest.raises(ValueError, match="adj"):
        graph_frame(torch.zeros(3, 4, dtype=F64))
    bad = a.clone()
    bad[0, 1] = 0.0
    with pytest.raises(ValueError, match="symmetric"):
        graph_frame(bad)
    nan = a.clone()
    nan[0, 1] = nan[1, 0] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        graph_frame(nan)
    loop = a + torch.eye(4, dtype=F64)
    with pytest.raises(ValueError, match="diagonal"):
        graph_frame(loop)
    with pytest.raises(ValueError, match="x"):
        graph_frame(a, torch.zeros(3, 1, dtype=F64))
    with pytest.raises(ValueError, match="x"):
        graph_frame(a, torch.full((4, 1), float("inf"), dtype=F64))
    with pytest.raises(ValueError, match="decimals"):
        spectral_node_keys(a, decimals=-1)
    with pytest.raises(ValueError, match="tol"):
        spectral_node_keys(a, tol=0.0)
    with pytest.raises(ValueError, match="limit"):
        graph_frame(cycle_graph(6)).orderings(limit=10)
    with pytest.raises(ValueError, match="output"):
        GraphFrameAveraging(lambda a, x: a, output="edge")
    with pytest.raises(TypeError, match="backbone"):
        GraphFrameAveraging(3)
    with pytest.raises(ValueError, match="perm"):
        relabel(a, torch.tensor([0, 0, 1, 2]))
    with pytest.raises(ValueError, match="edges"):
        from_edges(3, [(0, 3)])
    with pytest.raises(ValueError, match="skip"):
        circulant_graph(4, (4,))
    with pytest.raises(ValueError, match="node_ids"):
        GINBackbone(node_ids=3)(cycle_graph(4)[None].float())
    with pytest.raises(ValueError, match="limit"):
        automorphism_count(cycle_graph(10))
