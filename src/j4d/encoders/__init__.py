"""Every way j4d makes a JPEG file, and the reference codecs it is compared with.

* :mod:`~j4d.encoders.registry`: the registry of tables encoders (``pillow``, ``progressive``,
  ``trellis``, ``deadzone``) and of the reference codecs swept over a quality (default JPEG,
  mozjpeg, jpegli);
* :mod:`~j4d.encoders.pillow` (plain rounding), :mod:`~j4d.encoders.deadzone`,
  :mod:`~j4d.encoders.probabilistic`, :mod:`~j4d.encoders.indices` (indices j4d chose, written
  by jpeglib), :mod:`~j4d.encoders.reference` (mozjpeg, jpegli);
* model-aware encoding: :mod:`~j4d.encoders.guided` (per block) and
  :mod:`~j4d.encoders.ladder` (per image)."""

from j4d._lazy import by_module, lazy_exports

_EXPORTS = by_module(
    {
        "j4d.encoders.guided": (
            "GuidedEncoder",
            "block_sensitivity",
            "drop_coefficients",
        ),
        "j4d.encoders.indices": ("write_indices",),
        "j4d.encoders.ladder": (
            "LadderFiles",
            "ModelAwareEncoder",
            "RateLadder",
            "divergence_per_image",
        ),
        "j4d.encoders.pillow": (
            "encode_quality",
            "encode_uniform",
        ),
        "j4d.encoders.probabilistic": (
            "encode_probabilistic",
            "sample_indices",
        ),
        "j4d.encoders.registry": (
            "DEFAULT_ENCODER",
            "ENCODERS",
            "QUALITY_CODECS",
            "QualityCodec",
            "TablesEncoder",
            "encode_with",
            "encoder_of",
            "get_encoder",
            "get_quality_codec",
        ),
    }
)
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
