"""Chapter 5 at `full`: find the relaxation that stops a float32 run and compare precisions.

    python tools/ep_relaxation_check.py [--seed 1] [--kind symmetric] [--threads 2]

Trains one run of the asymmetry experiment in float32 with the shipped setting (as chapter 5's
`full` did before it moved to float64) until a relaxation raises ``FixedPointError``, then
re-solves that batch of nudged relaxations from the same start: in float32 and float64, with
growing sweep budgets, and reports how far apart the two end states are, for which teaching
signal, and the smallest eigenvalue of the energy's Hessian ``I - D^{1/2} A D^{1/2}`` at
each image's free state (tied networks). Numbers: results/notes/05_holomorphic_ep.md.
The float32 trajectory depends on the thread count (2 threads, as in a notebook kernel here).
"""

from __future__ import annotations

import argparse

import torch

from companion import ep
from companion.ep.network import EPNetwork

_orig_solve = EPNetwork.solve
_failed: dict = {}


def _recording_solve(self, x, y=None, beta=0.0, **kw):  # type: ignore[no-untyped-def]
    try:
        return _orig_solve(self, x, y, beta, **kw)
    except ep.FixedPointError:
        _failed.update(state=self.state_dict(), x=x, y=y, beta=torch.as_tensor(beta), **kw)
        raise


def _solve_within(net: EPNetwork, f: dict, dt: torch.dtype, budgets: list[int]) -> str:
    cdt = ep.complex_dtype(dt)
    for n in budgets:
        try:
            net.solve(
                f["x"].to(dt), f["y"].to(dt), f["beta"].to(cdt), u0=f["u0"].to(cdt), max_iter=n
            )
            return f"converges within {n} sweeps"
        except ep.FixedPointError as e:
            last = str(e).split(";")[0]
    return f"does not converge in {budgets[-1]} sweeps ({last})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kind", default="symmetric", choices=ep.RUN_KINDS)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    setting = ep.AsymmetrySetting()
    _, final = ep.digits_splits(setting.n_val, generator=torch.Generator().manual_seed(0))
    EPNetwork.solve = _recording_solve  # type: ignore[method-assign]
    try:
        ep.train_run(args.kind, setting, final, generator=torch.Generator().manual_seed(args.seed))
        print("the run finished: no relaxation failed")
        return
    except ep.FixedPointError as e:
        print("float32 run stopped:", e)
    finally:
        EPNetwork.solve = _orig_solve  # type: ignore[method-assign]
    f = _failed
    nets = {}
    for dt in (torch.float32, torch.float64):
        net = ep.build_network(args.kind, setting).to(dt)
        net.load_state_dict({k: v.to(dt) for k, v in f["state"].items()})
        nets[dt] = net
    budgets = [1000, 2000, 3000, 5000, 10000, 20000, 40000]
    for dt, net in nets.items():
        print(f"{dt}: the failed batch {_solve_within(net, f, dt, budgets)}")
    c64 = torch.complex128
    u64 = nets[torch.float64].solve(
        f["x"].double(), f["y"].double(), f["beta"].to(c64), u0=f["u0"].to(c64), max_iter=40000
    )
    u32 = nets[torch.float32].solve(f["x"], f["y"], f["beta"], u0=f["u0"], max_iter=40000)
    gap = (u32.to(c64) - u64).abs().amax(-1)
    rows = (gap > 1e-3).nonzero().flatten().tolist()
    print(f"end states 32 vs 64 differ by up to {gap.max():.3f}; rows above 1e-3: {rows}")
    print("  their teaching signals:", [complex(b) for b in f["beta"].reshape(-1)[rows]])
    if nets[torch.float64].symmetric:
        net = nets[torch.float64]
        uf = net.solve(f["x"].double(), max_iter=40000)
        A, a = net.connectivity(), torch.sigmoid(uf)
        d = (a * (1 - a)).sqrt()
        H = torch.eye(A.shape[0], dtype=A.dtype) - d[:, :, None] * A * d[:, None, :]
        low = torch.linalg.eigvalsh(H)[:, 0]
        print(
            f"smallest Hessian eigenvalue at a free state: {low.min():.4f} (row "
            f"{int(low.argmin())}); median {low.median():.3f}"
        )


if __name__ == "__main__":
    main()
