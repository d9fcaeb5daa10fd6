"""What a model is sensitive to: per-frequency sensitivities of a frozen model's loss to the DCT
coefficients (:mod:`~j4d.analysis.sensitivity`), which initialize training and the OptS peer."""
