"""What ``j4d eval`` and ``j4d sweep`` measure unless told: default JPEG's qualities and the
rates read off (kept apart from the measuring code, so the command line's options need no torch)."""

#: Qualities of default JPEG (and of the other codecs' sweeps).
DEFAULT_QUALITIES = (1, 2, 3, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 85, 90, 95, 98, 100)
#: Rates (bpp) at which summaries read each curve's accuracy.
DEFAULT_RATES = (0.3, 1.0, 2.0, 3.0)
#: The rate estimators ``j4d rate-check`` compares (registered in
#: :mod:`j4d.evaluation.ratecheck`), and those that fit a model to other images first.
RATE_ESTIMATORS = ("autojpeg", "google", "j4d")
FITTED_ESTIMATORS = ("google",)
