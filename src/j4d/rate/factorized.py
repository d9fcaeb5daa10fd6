r"""A learned factorized density per channel and frequency (3 x 64 = 192 densities) as a rate
model: CompressAI's :class:`~compressai.entropy_models.EntropyBottleneck` over (soft) indices
:math:`\hat v`, :math:`R = -\sum \log_2 p(\hat v)` with
:math:`p(\hat v) = c(\hat v + \tfrac12) - c(\hat v - \tfrac12)` (its cumulative :math:`c`). At
integer indices this is the probability of the symbol, so the same model measures real indices
(``j4d rate-check -e google``). The Google peer method (:mod:`j4d.peers.google`) trains it with
the tables. CompressAI is an optional dependency (``pip install 'j4d[peers]'``).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

with warnings.catch_warnings():  # CompressAI 1.2.8 scripts a function with torch.jit at import
    warnings.simplefilter("ignore", FutureWarning)
    from compressai.entropy_models import EntropyBottleneck

#: Adam learning rates of the density's parameters and of its quantiles (auxiliary loss).
DENSITY_LR = 1e-2
AUXILIARY_LR = 1e-2


def _per_density(indices: torch.Tensor) -> torch.Tensor:
    """(N, 3, B, 64) -> (192, 1, N * B): one row per (channel, frequency), CompressAI's layout."""
    channels, frequencies = indices.shape[1], indices.shape[3]
    return indices.permute(1, 3, 0, 2).reshape(channels * frequencies, 1, -1)


class FactorizedRate(nn.Module):
    """Bits of (N, 3, B, 64) indices under a learned factorized density per channel and
    frequency."""

    def __init__(self, channels: int = 3, frequencies: int = 64, seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):  # CompressAI draws its initial biases
            torch.manual_seed(seed)
            self.density = EntropyBottleneck(channels * frequencies)

    def likelihoods(self, indices: torch.Tensor) -> torch.Tensor:
        """(192, 1, N * B) probabilities of the indices (bounded below as CompressAI does)."""
        # EntropyBottleneck.forward would round (or add noise) first; the indices here are
        # already (soft-)rounded, so the likelihood is taken at them.
        likelihood, _, _ = self.density._likelihood(_per_density(indices))
        return self.density.likelihood_lower_bound(likelihood)

    def bits(self, indices: torch.Tensor) -> torch.Tensor:
        """(N,) bits of each image's indices."""
        n, _, blocks, _ = indices.shape
        information = -torch.log2(self.likelihoods(indices))
        return information.reshape(-1, n, blocks).sum(dim=(0, 2))

    def bpp(self, indices: torch.Tensor, pixels_per_image: int) -> torch.Tensor:
        """(N,) bits per pixel."""
        return self.bits(indices) / pixels_per_image

    def density_parameters(self) -> list[nn.Parameter]:
        """The parameters the rate itself trains (all but the quantiles)."""
        return [p for name, p in self.density.named_parameters() if name != "quantiles"]

    def auxiliary_parameters(self) -> list[nn.Parameter]:
        return [self.density.quantiles]

    def auxiliary_loss(self) -> torch.Tensor:
        """CompressAI's loss placing the quantiles at the density's tails and median."""
        return self.density.loss()

    def fit(
        self,
        indices: torch.Tensor,
        steps: int = 300,
        max_values: int = 2048,
        seed: int = 0,
    ) -> list[float]:
        """Fit the density (and its quantiles) to fixed indices by maximum likelihood: ``steps``
        Adam steps on at most ``max_values`` values per channel and frequency, chosen with
        ``seed``. Returns the mean bits per value after each step."""
        values = _per_density(indices.detach())
        if values.shape[-1] > max_values:
            generator = torch.Generator().manual_seed(seed)
            keep = torch.randperm(values.shape[-1], generator=generator)[:max_values]
            values = values[..., keep.to(values.device)]
        optimizer = torch.optim.Adam(self.density_parameters(), lr=DENSITY_LR)
        auxiliary = torch.optim.Adam(self.auxiliary_parameters(), lr=AUXILIARY_LR)
        history = []
        for _ in range(steps):
            likelihood, _, _ = self.density._likelihood(values)
            bits = -torch.log2(self.density.likelihood_lower_bound(likelihood)).mean()
            optimizer.zero_grad(set_to_none=True)
            bits.backward()
            optimizer.step()
            auxiliary.zero_grad(set_to_none=True)
            self.auxiliary_loss().backward()
            auxiliary.step()
            history.append(bits.item())
        return history
