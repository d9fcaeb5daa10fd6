"""Analytic entropy rate estimate of quantized DCT coefficients."""

from j4d.rate.entropy import EntropyRate, coefficient_bits, dpcm_cpmf, estimate_bpp

__all__ = ["EntropyRate", "coefficient_bits", "dpcm_cpmf", "estimate_bpp"]
