"""Does ``torch.compile`` pay for the θ-network training step? Eager vs compiled, same step.

One training step as ``train_ensemble`` takes it (the batched ensemble of M members, the
family's per-row loss, Adam), timed after warm-up, eager and with the member-loss function
compiled; plus the one-off compile time. Prints milliseconds per step.

Usage::

    python benchmarks/compile_step.py [--device cpu] [--batch 1024] [--members 5] \\
        [--modes default,reduce-overhead]
"""

from __future__ import annotations

import argparse
import time

import torch

from sklearn_dml._nets import EnsembleStructuralNet
from sklearn_dml.families import LogitFamily


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rows", type=int, default=80_000)
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--modes", default="default",
                    help="comma-separated torch.compile modes, e.g. default,reduce-overhead")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev, M, B, n = torch.device(args.device), args.members, args.batch, args.rows
    family = LogitFamily()
    gens = [torch.Generator().manual_seed(m) for m in range(M)]
    net = EnsembleStructuralNet(M, args.d, (64, 32), 2, 0.0, gens).to(dev)
    X, T = torch.randn(n, args.d, device=dev), torch.randn(n, 1, device=dev)
    Y, W = (torch.rand(n, device=dev) < 0.5).float(), torch.ones(n, device=dev)
    ones = torch.ones(M, B, device=dev)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    def member_losses(idx, mask):
        theta = net(X[idx])
        per_row = family.loss(Y[idx].reshape(-1), T[idx].reshape(-1, 1),
                              theta.reshape(-1, 2)).reshape(idx.shape)
        w = W[idx] * mask
        return (per_row * w).sum(1) / w.sum(1).clamp_min(1e-12)

    def ms_per_step(losses, steps):
        start = time.perf_counter()
        for _ in range(steps):
            idx = torch.randint(0, n, (M, B), device=dev)
            loss = losses(idx, ones).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - start) / steps * 1e3

    ms_per_step(member_losses, 10)
    eager = [ms_per_step(member_losses, args.steps) for _ in range(2)]
    for mode in args.modes.split(","):
        torch._dynamo.reset()
        compiled_losses = torch.compile(member_losses, dynamic=False,
                                        mode=None if mode == "default" else mode)
        start = time.perf_counter()
        ms_per_step(compiled_losses, 1)
        compile_s = time.perf_counter() - start
        compiled = [ms_per_step(compiled_losses, args.steps) for _ in range(2)]
        print(f"device {args.device}, {M} members, batch {B}, hidden (64, 32), {args.threads} "
              f"thread(s): eager {eager[0]:.2f}/{eager[1]:.2f} ms per step, compiled "
              f"({mode}) {compiled[0]:.2f}/{compiled[1]:.2f} ms per step, "
              f"compile {compile_s:.1f} s")


if __name__ == "__main__":
    main()
