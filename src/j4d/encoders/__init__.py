"""Every way j4d makes a JPEG file, and the reference codecs it is compared with.

* :mod:`~j4d.encoders.registry`: the registry of tables encoders (``pillow``, ``progressive``,
  ``trellis``, ``deadzone``) and of the reference codecs swept over a quality (default JPEG,
  mozjpeg, jpegli);
* :mod:`~j4d.encoders.pillow` (plain rounding), :mod:`~j4d.encoders.deadzone`,
  :mod:`~j4d.encoders.probabilistic`, :mod:`~j4d.encoders.indices` (indices j4d chose, written
  by jpeglib), :mod:`~j4d.encoders.reference` (mozjpeg, jpegli);
* model-aware encoding: :mod:`~j4d.encoders.guided` (per block) and
  :mod:`~j4d.encoders.ladder` (per image).
"""

from j4d.encoders.guided import GuidedEncoder, block_sensitivity, drop_coefficients
from j4d.encoders.indices import write_indices
from j4d.encoders.ladder import LadderFiles, ModelAwareEncoder, RateLadder, divergence_per_image
from j4d.encoders.pillow import encode_quality, encode_uniform
from j4d.encoders.probabilistic import encode_probabilistic, sample_indices
from j4d.encoders.registry import (
    DEFAULT_ENCODER,
    ENCODERS,
    QUALITY_CODECS,
    QualityCodec,
    TablesEncoder,
    encode_with,
    encoder_of,
    get_encoder,
    get_quality_codec,
)

__all__ = [
    "DEFAULT_ENCODER",
    "ENCODERS",
    "QUALITY_CODECS",
    "GuidedEncoder",
    "LadderFiles",
    "ModelAwareEncoder",
    "QualityCodec",
    "RateLadder",
    "TablesEncoder",
    "block_sensitivity",
    "divergence_per_image",
    "drop_coefficients",
    "encode_probabilistic",
    "encode_quality",
    "encode_uniform",
    "encode_with",
    "encoder_of",
    "get_encoder",
    "get_quality_codec",
    "sample_indices",
    "write_indices",
]
