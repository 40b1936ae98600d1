r"""Frames for the permutation group :math:`S_n`: any graph backbone becomes permutation invariant.

A graph on ``n`` nodes is an adjacency matrix ``A: (n, n)`` (symmetric, 0/1 or weighted,
zero diagonal) with optional node features ``X: (n, d)``. A permutation :math:`\tau \in S_n`
relabels it, :math:`(\tau\cdot A)_{\tau(i)\tau(j)} = A_{ij}`, :math:`(\tau\cdot X)_{\tau(i)} = X_i`.
A graph function is *invariant* if it ignores relabelling. Puny et al. (ICLR 2022, §3.2
and §5.2) build a frame for :math:`S_n` by **sorting the nodes** by a permutation-equivariant,
sign-invariant spectral key and keeping every ordering that the sort leaves open:

* Laplacian :math:`L = D - A = \sum_\lambda \lambda P_\lambda` with :math:`P_\lambda` the orthogonal
  projector onto the eigenspace of :math:`\lambda`.
* Node key :math:`k_i = \big(\sqrt{(P_{\lambda_1})_{ii}}, \dots, \sqrt{(P_{\lambda_m})_{ii}}\big)`,
  one entry per distinct eigenvalue, in increasing order of :math:`\lambda`. For a simple
  eigenvalue with unit eigenvector :math:`u` this is :math:`|u_i|` (the sign ambiguity of
  :math:`u` is gone); for a repeated one it is the row norm of any orthonormal eigenbasis
  (the basis ambiguity is gone). Since :math:`P_\lambda(\tau\cdot A) = \Pi_\tau P_\lambda(A)\Pi_\tau^\top`,
  :math:`k(\tau\cdot A)_{\tau(i)} = k(A)_i`: the key is equivariant. Keys are rounded to
  ``decimals`` digits so that equal keys compare equal in floating point (the paper's code
  rounds to 2 digits; we default to 6).
* Frame :math:`\mathcal F(A) = \{\text{orderings } o \text{ of the nodes with } k_{o_1} \le k_{o_2} \le \dots\}`
  (lexicographic order). If a block of ``b`` nodes share a key, all ``b!`` orders of that block
  are in the frame, so :math:`|\mathcal F| = \prod_{\text{blocks}} b!`; relabelling the graph
  relabels every ordering, :math:`\mathcal F(\tau\cdot A) = \tau\,\mathcal F(A)`.

An ordering ``o`` (a row of :meth:`GraphFrame.orderings`) gives the **canonical graph**
``A[o][:, o]``, ``X[o]`` (canonical node ``j`` is original node ``o[j]``). The set of
canonical graphs is the same for every relabelling of the input, so the frame average

.. math::
    \langle\phi\rangle_{\mathcal F}(A, X) = \frac{1}{|\mathcal F(A)|}\sum_{o\in\mathcal F(A)}
        \phi\big(A[o][:, o],\, X[o]\big)

is exactly invariant for *any* backbone :math:`\phi` — for example a GNN that also reads the
canonical position of each node ("GIN+ID"), which message passing alone cannot. For a
node-level output :math:`\phi(\cdot)\in\mathbb R^{n\times c}`, mapping each output back to the
original labels, :math:`Y_{o_j} = \phi(\dots)_j`, before averaging gives exact equivariance.

Automorphisms make frames large: if :math:`\pi` is an automorphism, nodes ``i`` and
:math:`\pi(i)` have the same key, so every orbit of :math:`\mathrm{Aut}(A)` lies in one tie
block and :math:`|\mathrm{Aut}(A)|` divides :math:`|\mathcal F(A)|` (Lagrange). For a
vertex-transitive graph (a cycle, a circulant graph) all keys are equal and the frame is all
of :math:`S_n`. :class:`GraphFrameAveraging` averages over the whole frame up to
``max_frame`` elements (exact), or over ``n_samples`` uniform draws from it (invariant only
in distribution — the paper's practice for large frames).

This module also holds the tools the chapter needs to show the "beyond 1-WL" separation:
dense GIN backbones (:class:`GINBackbone`), the 1-WL colour refinement test
(:func:`wl_colors`, :func:`wl_equivalent`) and small graph constructors.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..checks import check_choice, check_int, check_number, check_tensor

__all__ = [
    "laplacian",
    "spectral_node_keys",
    "GraphFrame",
    "graph_frame",
    "canonical_graphs",
    "GraphFrameAveraging",
    "GINBackbone",
    "wl_colors",
    "wl_equivalent",
    "from_edges",
    "cycle_graph",
    "circulant_graph",
    "complete_graph",
    "hypercube_graph",
    "disjoint_union",
    "relabel",
    "automorphism_count",
    "wl_hard_pairs",
]


def _check_adj(adj: object, name: str = "adj") -> torch.Tensor:
    adj = check_tensor(adj, name, ndim=2, floating=True)
    if adj.shape[0] != adj.shape[1] or adj.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix (n, n), got {tuple(adj.shape)}")
    if not torch.isfinite(adj).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if not torch.equal(adj, adj.T):
        raise ValueError(f"{name} must be symmetric (an undirected graph)")
    if (adj.diagonal() != 0).any():
        raise ValueError(f"{name} must have a zero diagonal (no self-loops)")
    return adj


def _check_features(x: object, n: int, name: str = "x") -> torch.Tensor:
    x = check_tensor(x, name, ndim=2, floating=True)
    if x.shape[0] != n:
        raise ValueError(f"{name} must have one row per node ({n}), got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return x


def laplacian(adj: torch.Tensor) -> torch.Tensor:
    r"""The graph Laplacian :math:`L = D - A` of ``adj: (n, n)``; ``(n, n)``."""
    adj = _check_adj(adj)
    return torch.diag(adj.sum(-1)) - adj


def spectral_node_keys(adj: torch.Tensor, *, decimals: int = 6, tol: float = 1e-6) -> torch.Tensor:
    r"""Sign- and basis-invariant spectral keys :math:`k_i`, ``(n, m)`` float64 (module docstring).

    Column ``c`` is :math:`\sqrt{(P_{\lambda_c})_{ii}}` for the ``c``-th distinct Laplacian
    eigenvalue (eigenvalues closer than ``tol · max(1, λ_max)`` count as one), rounded to
    ``decimals`` digits. Computed in float64 whatever the input dtype.
    """
    adj = _check_adj(adj)
    decimals = check_int(decimals, "decimals", minimum=0)
    tol = check_number(tol, "tol", minimum=0.0, maximum=1.0, open_min=True, open_max=True)
    evals, evecs = torch.linalg.eigh(laplacian(adj.double()))
    scale = max(1.0, float(evals.abs().max()))
    # group consecutive (sorted) eigenvalues into eigenspaces
    starts = [0] + [i for i in range(1, len(evals)) if evals[i] - evals[i - 1] > tol * scale]
    bounds = starts + [len(evals)]
    cols = [evecs[:, a:b].pow(2).sum(-1).sqrt() for a, b in itertools.pairwise(bounds)]
    keys = torch.stack(cols, dim=-1)
    return torch.round(keys, decimals=decimals) + 0.0  # + 0.0 turns -0.0 into 0.0


@dataclass(frozen=True)
class GraphFrame:
    r"""The sorting frame of one graph (module docstring).

    Attributes:
        order: one sorted ordering ``(n,)`` (long): canonical node ``j`` is node ``order[j]``.
        blocks: ``((start, size), ...)`` — runs of tied keys in sorted position, ``size ≥ 2``.
        keys: the node keys ``(n, m)`` used for sorting (float64).
    """

    order: torch.Tensor
    blocks: tuple[tuple[int, int], ...]
    keys: torch.Tensor

    @property
    def n(self) -> int:
        """Number of nodes."""
        return int(self.order.numel())

    @property
    def size(self) -> int:
        r""":math:`|\mathcal F| = \prod_{\text{blocks}} b!` (an exact Python int)."""
        return math.prod(math.factorial(b) for _, b in self.blocks)

    def orderings(self, limit: int = 100_000) -> torch.Tensor:
        """All ``size`` orderings ``(size, n)`` (long); ``ValueError`` if ``size > limit``."""
        limit = check_int(limit, "limit", minimum=1)
        if self.size > limit:
            raise ValueError(
                f"the frame has {self.size} elements, more than limit={limit}; "
                "use sample() or raise the limit"
            )
        rows = np.array(self.order.tolist(), dtype=np.int64)[None]
        for start, b in self.blocks:
            seg = rows[:, start : start + b]
            perms = np.array(list(_permutations(b)), dtype=np.int64)  # (b!, b)
            new = np.repeat(rows, len(perms), axis=0)
            new[:, start : start + b] = np.take_along_axis(
                np.repeat(seg, len(perms), axis=0), np.tile(perms, (len(rows), 1)), axis=1
            )
            rows = new
        return torch.from_numpy(rows)

    def sample(self, k: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """``k`` orderings drawn uniformly (with replacement) from the frame, ``(k, n)`` long."""
        k = check_int(k, "k", minimum=1)
        rows = self.order.expand(k, -1).clone()
        for start, b in self.blocks:
            shuffle = torch.argsort(torch.rand(k, b, generator=generator), dim=1)
            rows[:, start : start + b] = torch.gather(rows[:, start : start + b], 1, shuffle)
        return rows


def _permutations(b: int):
    import itertools

    return itertools.permutations(range(b))


def graph_frame(
    adj: torch.Tensor,
    x: torch.Tensor | None = None,
    *,
    decimals: int = 6,
    tol: float = 1e-6,
) -> GraphFrame:
    r"""The sorting frame of the graph ``adj: (n, n)`` (module docstring).

    Nodes are sorted lexicographically by their :func:`spectral_node_keys`; node features
    ``x: (n, d)``, if given, are rounded and sorted on first (they are equivariant too, and
    split ties the spectrum leaves). Returns a :class:`GraphFrame`.
    """
    adj = _check_adj(adj)
    keys = spectral_node_keys(adj, decimals=decimals, tol=tol)
    if x is not None:
        x = _check_features(x, adj.shape[0])
        keys = torch.cat([torch.round(x.double(), decimals=decimals) + 0.0, keys], dim=-1)
    k = keys.numpy()
    order = np.lexsort(k.T[::-1])  # the first column is the primary key
    sk = k[order]
    same = np.all(sk[1:] == sk[:-1], axis=1)  # same[j]: positions j and j + 1 tie
    blocks, j = [], 0
    while j < len(same):
        if same[j]:
            start = j
            while j < len(same) and same[j]:
                j += 1
            blocks.append((start, j - start + 1))
        j += 1
    return GraphFrame(torch.from_numpy(order.copy()), tuple(blocks), keys)


def canonical_graphs(
    adj: torch.Tensor, x: torch.Tensor | None, orderings: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``A[o][:, o]`` and ``X[o]`` for every ordering ``o`` of ``orderings: (k, n)``: ``(k, n, n)``, ``(k, n, d)``."""
    adj = _check_adj(adj)
    orderings = check_tensor(orderings, "orderings", ndim=2, last_dims=(adj.shape[0],))
    o = orderings.to(adj.device)
    a = adj[o[:, :, None], o[:, None, :]]
    return a, (None if x is None else x[o])


class GraphFrameAveraging(nn.Module):
    r"""Wrap a graph backbone so that it becomes exactly permutation invariant (or equivariant).

    The backbone is called as ``backbone(adj, x)`` on a batch of canonical graphs,
    ``adj: (k, n, n)``, ``x: (k, n, d)`` (or ``None``), and returns ``(k, c)`` for
    ``output="graph"`` or ``(k, n, c)`` for ``output="node"``.

    Args:
        backbone: any callable; no symmetry is assumed (it may read node positions).
        output: ``"graph"`` (invariant, ``(c,)``) or ``"node"`` (equivariant, ``(n, c)``).
        max_frame: average over the whole frame if it has at most this many elements.
        n_samples: for a larger frame, average over this many uniform draws (invariant only
            in distribution); ``None`` (default) raises ``ValueError`` instead.
        decimals, tol: passed to :func:`graph_frame`.
        max_batch: split the backbone calls into chunks of at most this many graphs.

    ``forward(adj: (n, n), x: (n, d) | None = None, *, generator=None)`` handles one graph
    (graphs in a data set have different frames and sizes).
    """

    def __init__(
        self,
        backbone: Callable[..., torch.Tensor],
        *,
        output: str = "graph",
        max_frame: int = 50_000,
        n_samples: int | None = None,
        decimals: int = 6,
        tol: float = 1e-6,
        max_batch: int | None = None,
    ) -> None:
        super().__init__()
        if not callable(backbone):
            raise TypeError(f"backbone must be callable, got {type(backbone).__name__}")
        output = check_choice(output, "output", ("graph", "node"))
        self.backbone = backbone
        self.output = output
        self.max_frame = check_int(max_frame, "max_frame", minimum=1)
        self.n_samples = None if n_samples is None else check_int(n_samples, "n_samples", minimum=1)
        self.max_batch = None if max_batch is None else check_int(max_batch, "max_batch", minimum=1)
        self.decimals, self.tol = decimals, tol

    def frame(self, adj: torch.Tensor, x: torch.Tensor | None = None) -> GraphFrame:
        """The frame this wrapper averages over for ``adj``, ``x``."""
        return graph_frame(adj, x, decimals=self.decimals, tol=self.tol)

    def forward(
        self,
        adj: torch.Tensor,
        x: torch.Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        adj = _check_adj(adj)
        if x is not None:
            x = _check_features(x, adj.shape[0])
        frame = self.frame(adj, x)
        if frame.size <= self.max_frame:
            orders = frame.orderings(limit=self.max_frame)
        elif self.n_samples is not None:
            orders = frame.sample(self.n_samples, generator=generator)
        else:
            raise ValueError(
                f"the frame has {frame.size} elements > max_frame={self.max_frame}; "
                "set n_samples to average over a random subset"
            )
        outs = []
        step = self.max_batch or len(orders)
        for i in range(0, len(orders), step):
            a, xs = canonical_graphs(adj, x, orders[i : i + step])
            outs.append(self.backbone(a, xs))
        y = torch.cat(outs, dim=0)
        if self.output == "graph":
            return y.mean(dim=0)
        if y.ndim != 3 or y.shape[1] != adj.shape[0]:
            raise ValueError(f"a node-level backbone must return (k, n, c), got {tuple(y.shape)}")
        # canonical node j of ordering o is original node o[j]: scatter back, then average
        inv = torch.argsort(orders.to(y.device), dim=1)
        back = torch.gather(y, 1, inv[:, :, None].expand_as(y))
        return back.mean(dim=0)


class GINBackbone(nn.Module):
    r"""A dense Graph Isomorphism Network (Xu et al., 2019), optionally with node identifiers.

    :math:`h^{(l+1)}_i = \mathrm{MLP}_l\big((1+\epsilon_l) h^{(l)}_i + \sum_j A_{ij} h^{(l)}_j\big)`,
    graph readout :math:`\mathrm{Linear}\big(\big[\sum_i h^{(0)}_i, \dots, \sum_i h^{(L)}_i\big]\big)`.
    Input features: ``x`` (or a constant 1 per node when ``x`` is ``None``), and with
    ``node_ids = m`` also the one-hot position of each node among ``m`` slots (``n ≤ m``) —
    "GIN+ID" of the paper, which is *not* permutation invariant on its own.

    Without ids it is permutation invariant and at most as discriminative as 1-WL.
    ``forward(adj: (B, n, n), x: (B, n, d_in) | None) -> (B, out)``; with ``node_level=True``
    it returns the node states ``(B, n, hidden)`` instead.
    """

    def __init__(
        self,
        d_in: int = 1,
        hidden: int = 32,
        layers: int = 3,
        out: int = 8,
        *,
        node_ids: int | None = None,
        node_level: bool = False,
    ) -> None:
        super().__init__()
        self.d_in = check_int(d_in, "d_in", minimum=1)
        hidden = check_int(hidden, "hidden", minimum=1)
        layers = check_int(layers, "layers", minimum=1)
        out = check_int(out, "out", minimum=1)
        self.node_ids = None if node_ids is None else check_int(node_ids, "node_ids", minimum=1)
        self.node_level = bool(node_level)
        width = self.d_in + (self.node_ids or 0)
        self.embed = nn.Linear(width, hidden)
        self.eps = nn.Parameter(torch.zeros(layers))
        self.mlps = nn.ModuleList(
            nn.Sequential(
                nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
            )
            for _ in range(layers)
        )
        self.readout = nn.Linear(hidden * (layers + 1), out)

    def forward(self, adj: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        adj = check_tensor(adj, "adj", ndim=3, floating=True)
        b, n, _ = adj.shape
        if x is None:
            x = adj.new_ones(b, n, self.d_in)
        x = check_tensor(x, "x", ndim=3, last_dims=(n, self.d_in), floating=True)
        if self.node_ids is not None:
            if n > self.node_ids:
                raise ValueError(f"node_ids={self.node_ids} slots cannot label {n} nodes")
            ids = torch.eye(n, self.node_ids, dtype=x.dtype, device=x.device).expand(b, -1, -1)
            x = torch.cat([x, ids], dim=-1)
        h = self.embed(x.to(self.embed.weight.dtype))
        adj = adj.to(h.dtype)
        pooled = [h.sum(1)]
        for eps, mlp in zip(self.eps, self.mlps, strict=True):
            h = mlp((1 + eps) * h + adj @ h)
            pooled.append(h.sum(1))
        if self.node_level:
            return h
        return self.readout(torch.cat(pooled, dim=-1))


# --------------------------------------------------------------------------- 1-WL and graphs


def wl_colors(adj: torch.Tensor, iterations: int | None = None) -> list[int]:
    r"""Stable colours of 1-WL colour refinement (node colour := (colour, multiset of neighbours' colours)).

    Starts from one colour for all nodes and refines until the partition stops changing
    (or ``iterations`` rounds). Colours are canonical integers: the same for isomorphic graphs
    refined side by side, so use :func:`wl_equivalent` to compare two graphs.
    """
    adj = _check_adj(adj)
    return _wl_union([adj], iterations)[0]


def _wl_union(adjs: Sequence[torch.Tensor], iterations: int | None) -> list[list[int]]:
    nbrs = [[torch.nonzero(a[i]).flatten().tolist() for i in range(a.shape[0])] for a in adjs]
    colors = [[0] * a.shape[0] for a in adjs]
    n_total = sum(a.shape[0] for a in adjs)
    rounds = n_total if iterations is None else check_int(iterations, "iterations")
    n_classes = 1
    for _ in range(rounds):
        sigs = [
            [(c[i], tuple(sorted(c[j] for j in nb[i]))) for i in range(len(c))]
            for c, nb in zip(colors, nbrs, strict=True)
        ]
        palette = {s: k for k, s in enumerate(sorted({s for g in sigs for s in g}))}
        colors = [[palette[s] for s in g] for g in sigs]
        if len(palette) == n_classes:
            break
        n_classes = len(palette)
    return colors


def wl_equivalent(adj1: torch.Tensor, adj2: torch.Tensor) -> bool:
    """Whether 1-WL fails to tell the two graphs apart (equal multisets of stable colours)."""
    adj1, adj2 = _check_adj(adj1, "adj1"), _check_adj(adj2, "adj2")
    if adj1.shape != adj2.shape:
        return False
    c1, c2 = _wl_union([adj1, adj2], None)
    return sorted(c1) == sorted(c2)


def from_edges(
    n: int, edges: Sequence[tuple[int, int]], *, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """The adjacency matrix ``(n, n)`` of an undirected simple graph with the given edges."""
    n = check_int(n, "n", minimum=1)
    adj = torch.zeros(n, n, dtype=dtype)
    for k, e in enumerate(edges):
        i, j = (int(v) for v in e)
        if not (0 <= i < n and 0 <= j < n) or i == j:
            raise ValueError(f"edges[{k}] = {e!r} is not an edge between two of {n} nodes")
        adj[i, j] = adj[j, i] = 1.0
    return adj


def circulant_graph(
    n: int, skips: Sequence[int], *, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """Circulant graph: node ``i`` is joined to ``i ± s (mod n)`` for each ``s`` in ``skips``.

    ``skips = (1, k)`` gives the circular-skip-link (CSL) graphs of Murphy et al. (2019).
    """
    n = check_int(n, "n", minimum=3)
    edges = []
    for s in skips:
        s = check_int(s, "skips[...]", minimum=1)
        if s % n == 0:
            raise ValueError(f"a skip of {s} joins a node to itself in a graph of {n} nodes")
        edges += [(i, (i + s) % n) for i in range(n)]
    return from_edges(n, edges, dtype=dtype)


def cycle_graph(n: int, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The cycle :math:`C_n` ``(n, n)``."""
    return circulant_graph(n, (1,), dtype=dtype)


def complete_graph(n: int, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The complete graph :math:`K_n` ``(n, n)``."""
    n = check_int(n, "n", minimum=1)
    return torch.ones(n, n, dtype=dtype) - torch.eye(n, dtype=dtype)


def hypercube_graph(d: int, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The ``d``-cube :math:`Q_d` on :math:`2^d` nodes (nodes adjacent iff they differ in one bit)."""
    d = check_int(d, "d", minimum=1)
    n = 2**d
    return from_edges(
        n, [(i, i ^ (1 << b)) for i in range(n) for b in range(d) if i < i ^ (1 << b)], dtype=dtype
    )


def disjoint_union(*adjs: torch.Tensor) -> torch.Tensor:
    """Block-diagonal adjacency of the disjoint union of the given graphs."""
    if not adjs:
        raise ValueError("disjoint_union needs at least one graph")
    return torch.block_diag(*(_check_adj(a, f"adjs[{i}]") for i, a in enumerate(adjs)))


def relabel(adj: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    r"""The relabelled graph :math:`\tau\cdot A` with ``(τ·A)[perm[i], perm[j]] = A[i, j]``."""
    adj = _check_adj(adj)
    perm = check_tensor(perm, "perm", ndim=1, last_dims=(adj.shape[0],))
    if not torch.equal(torch.sort(perm).values, torch.arange(adj.shape[0], device=perm.device)):
        raise ValueError("perm must be a permutation of 0..n-1")
    inv = torch.argsort(perm)
    return adj[inv[:, None], inv[None, :]]


def automorphism_count(adj: torch.Tensor, *, limit: int = 9) -> int:
    """:math:`|\\mathrm{Aut}(A)|` by brute force over all :math:`n!` permutations (``n ≤ limit``; a test reference)."""
    import itertools

    adj = _check_adj(adj)
    n = adj.shape[0]
    if n > check_int(limit, "limit", minimum=1):
        raise ValueError(f"brute force over {n}! permutations refused (limit={limit})")
    a = adj.numpy()
    return sum(1 for p in itertools.permutations(range(n)) if np.array_equal(a[np.ix_(p, p)], a))


def wl_hard_pairs(
    *, dtype: torch.dtype = torch.float64
) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    r"""Pairs of non-isomorphic graphs that 1-WL (hence every message-passing GNN) cannot separate.

    All are regular graphs of equal size and degree (1-WL gives every node the same colour),
    with at most 8 nodes so that even a vertex-transitive graph's frame (all of
    :math:`S_n`, :math:`8! = 40320` orderings) can be averaged exactly, plus the classic
    non-regular pair decalin / bicyclopentyl (10 nodes). Returns ``(name, A_1, A_2)`` triples.
    """
    c = lambda n: cycle_graph(n, dtype=dtype)  # noqa: E731
    decalin = from_edges(
        10,
        [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (4, 6), (6, 7), (7, 8), (8, 9), (9, 5)],
        dtype=dtype,
    )
    bicyclopentyl = from_edges(
        10,
        [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (0, 5), (5, 6), (6, 7), (7, 8), (8, 9), (9, 5)],
        dtype=dtype,
    )
    return [
        ("C6 vs 2×C3", c(6), disjoint_union(c(3), c(3))),
        ("C8 vs 2×C4", c(8), disjoint_union(c(4), c(4))),
        ("C8 vs C5+C3", c(8), disjoint_union(c(5), c(3))),
        (
            "CSL(8,2) vs CSL(8,3)",
            circulant_graph(8, (1, 2), dtype=dtype),
            circulant_graph(8, (1, 3), dtype=dtype),
        ),
        (
            "cube Q3 vs Wagner graph (Möbius ladder)",
            hypercube_graph(3, dtype=dtype),
            circulant_graph(8, (1, 4), dtype=dtype),
        ),
        (
            "cube Q3 vs 2×K4",
            hypercube_graph(3, dtype=dtype),
            disjoint_union(complete_graph(4, dtype=dtype), complete_graph(4, dtype=dtype)),
        ),
        ("decalin vs bicyclopentyl", decalin, bicyclopentyl),
    ]
