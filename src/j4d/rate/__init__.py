"""Rate models of quantized DCT coefficients: the analytic entropy estimate j4d trains with
(:mod:`~j4d.rate.entropy`), the run-length size model (:mod:`~j4d.rate.runlength`) and the
learned factorized density (:mod:`~j4d.rate.factorized`, optional CompressAI)."""

from j4d.rate.entropy import EntropyRate, coefficient_bits, dpcm_cpmf, estimate_bpp

__all__ = ["EntropyRate", "coefficient_bits", "dpcm_cpmf", "estimate_bpp"]
