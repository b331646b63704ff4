"""PyTorch reference for `fieldflow train`: the same network, data and protocol.

Usage: python3 train_torch.py DATA.csv --steps 20000 [--batch 512] [--hidden 64]
       [--layers 3] [--lr 1e-3] [--seed 0] [--threads 1] [--field linear|gaussian]
       [--samples OUT.csv --n 1000 --euler-steps 100]

The network is fieldflow's: an MLP with SiLU activations whose input is the scaled
position c_in (x - alpha mu) and the level embedding [c, sin(kc), cos(kc)] for
k = 1, 2, 4, 8 (c = t for the linear path, ln(sigma)/4 for the Gaussian field),
preconditioned as in EDM for the path x = alpha y + sigma U:
m = mu + c_skip (x - alpha mu) + c_out F, v = alpha^2 sd^2 + sigma^2,
c_in = 1/sqrt(v), c_skip = alpha sd^2/v, c_out = sigma sd/sqrt(v); the loss is the
mean squared error of F against (y - mu - c_skip (x - alpha mu))/c_out (the
conditional target), optimised by AdamW (weight decay 1e-5) in float32. Levels:
t ~ U(0, 1] (linear), ln(sigma/(2 sd)) ~ N(-1.2, 1.2^2) (gaussian). The batch is
drawn in float64 on the CPU like fieldflow's. Prints the wall time of the training
loop and the time per step; --samples integrates the learned field from the prior
with Euler steps (linear: from t = 1 to 1e-3) and writes the samples.

This script is a benchmark reference only: PyTorch is not a dependency of fieldflow
(install it in a throwaway virtual environment: pip install torch --index-url
https://download.pytorch.org/whl/cpu).
"""

import argparse
import math
import time

import numpy as np
import torch


def read_points(path):
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def embed(c):
    feats = [c]
    for w in (1.0, 2.0, 4.0, 8.0):
        feats += [torch.sin(w * c), torch.cos(w * c)]
    return torch.stack(feats, dim=1)


class Net(torch.nn.Module):
    def __init__(self, d, hidden, layers):
        super().__init__()
        widths = [d + 9] + [hidden] * layers
        mods = []
        for a, b in zip(widths[:-1], widths[1:]):
            mods += [torch.nn.Linear(a, b), torch.nn.SiLU()]
        mods.append(torch.nn.Linear(widths[-1], d))
        self.f = torch.nn.Sequential(*mods)

    def forward(self, z):
        return self.f(z)


def coeffs(field, s, sd):
    """alpha, sigma, c_in, c_skip, c_out, c_noise at levels s (float64 tensors)."""
    if field == "linear":
        alpha, sigma, c_noise = 1.0 - s, s, s
    else:
        alpha, sigma = torch.ones_like(s), s
        c_noise = torch.log(sigma) / 4.0
    v = alpha**2 * sd**2 + sigma**2
    return alpha, sigma, 1.0 / v.sqrt(), alpha * sd**2 / v, sigma * sd / v.sqrt(), c_noise


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--field", default="linear", choices=["linear", "gaussian"])
    ap.add_argument("--samples")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--euler-steps", type=int, default=100)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    data = torch.tensor(read_points(a.data), dtype=torch.float64)
    n, d = data.shape
    mu = data.mean(0)
    sd = float(((data - mu) ** 2).mean().sqrt())
    net = Net(d, a.hidden, a.layers)
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=1e-5)

    def batch():
        y = data[torch.randint(0, n, (a.batch,))]
        if a.field == "linear":
            s = 1.0 - torch.rand(a.batch, dtype=torch.float64)
        else:
            s = 2.0 * sd * torch.exp(-1.2 + 1.2 * torch.randn(a.batch, dtype=torch.float64))
        alpha, sigma, c_in, c_skip, c_out, c_noise = coeffs(a.field, s, sd)
        x = alpha[:, None] * y + sigma[:, None] * torch.randn(a.batch, d, dtype=torch.float64)
        centred = x - alpha[:, None] * mu
        inp = torch.cat([c_in[:, None] * centred, embed(c_noise)], dim=1).float()
        tgt = ((y - mu - c_skip[:, None] * centred) / c_out[:, None]).float()
        return inp, tgt

    t0 = time.perf_counter()
    for _ in range(a.steps):
        inp, tgt = batch()
        loss = ((net(inp) - tgt) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    secs = time.perf_counter() - t0
    print(
        f"pytorch {torch.__version__}: {a.steps} steps of batch {a.batch} in {secs:.1f} s "
        f"({1e3 * secs / a.steps:.3f} ms/step), last loss {loss.item():.4f}, threads {a.threads}"
    )
    if a.samples:
        if a.field != "linear":
            raise SystemExit("--samples: linear field only")
        x = torch.randn(a.n, d, dtype=torch.float64)
        levels = np.linspace(1.0, 1e-3, a.euler_steps + 1)
        with torch.no_grad():
            for s0, s1 in zip(levels[:-1], levels[1:]):
                s = torch.full((a.n,), s0, dtype=torch.float64)
                alpha, sigma, c_in, c_skip, c_out, c_noise = coeffs(a.field, s, sd)
                centred = x - alpha[:, None] * mu
                inp = torch.cat([c_in[:, None] * centred, embed(c_noise)], dim=1).float()
                m = mu + c_skip[:, None] * centred + c_out[:, None] * net(inp).double()
                x = x + (s1 - s0) * (x - m) / s0
        header = ",".join(f"x{j}" for j in range(d))
        np.savetxt(a.samples, x.numpy(), delimiter=",", header=header, comments="")
        print(f"wrote {a.n} samples to {a.samples}")


if __name__ == "__main__":
    main()
