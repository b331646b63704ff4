"""Check a PyTorch-style sampler's output against the exact field with fieldflow.

A diffusion user's sampler usually looks like the loop below: EDM's Euler sampler
(Karras et al. 2022, Algorithm 1 without the Heun correction) on the levels
sigma_i = (sigma_max^(1/rho) + i/(N-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho,
driven by a denoiser D(x; sigma). Here the denoiser is the exact one of the data set
(the posterior mean of the data point given x, a softmax over the points), written
with numpy as one would write it with torch, so that the only error left is the
sampler's discretisation. fieldflow integrates the same Gaussian field (EDM's
probability-flow ODE, s = sigma) with an adaptive dopri5 solver, and its test
battery tells whether the sampler's output is distinguishable from the exact
solution's at the family-wise level 0.01.

Run: python examples/python/check_sampler.py   (after pip install ./python)
"""

import numpy as np

import fieldflow


def denoiser(x, sigma, data):
    """E[y | x] for x = y + sigma z, y uniform over the data points (torch-style)."""
    d2 = ((x[:, None, :] - data[None, :, :]) ** 2).sum(-1)  # (n, m)
    logits = -d2 / (2 * sigma**2)
    logits -= logits.max(axis=1, keepdims=True)
    w = np.exp(logits)
    w /= w.sum(axis=1, keepdims=True)
    return w @ data


def edm_euler(data, n, steps, sigma_max=80.0, sigma_min=0.002, rho=7.0, seed=0):
    """EDM's deterministic Euler sampler, ending with a step to sigma = 0."""
    rng = np.random.default_rng(seed)
    i = np.arange(steps)
    sigmas = (sigma_max ** (1 / rho) + i / (steps - 1) * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    sigmas = np.append(sigmas, 0.0)
    x = rng.standard_normal((n, data.shape[1])) * sigmas[0]
    for s, s_next in zip(sigmas[:-1], sigmas[1:]):
        d = (x - denoiser(x, s, data)) / s  # dx/dsigma of the probability-flow ODE
        x = x + (s_next - s) * d
    return x


def main():
    data = fieldflow.datasets("8gaussians", 500, seed=0)
    n = 2000
    exact = fieldflow.sample("gaussian", data, n, seed=1, s_max=80.0, s_min=0.002, denoise=True)
    print(f"exact field: {exact}")
    for steps in (6, 64):
        x = edm_euler(data, n, steps, seed=2)
        report = fieldflow.check(x, reference=exact.points, seed=0)
        verdict = "REJECTED" if report.reject else "passes"
        print(f"\nEDM Euler, {steps} levels: {verdict} (energy p = {report.pvalue('energy'):.4g})")
        print(report)


if __name__ == "__main__":
    main()
