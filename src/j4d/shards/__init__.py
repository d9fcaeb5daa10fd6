"""A data set's shards re-encoded: WebDataset tar files and Parquet files of image bytes, one
output shard per input shard with a manifest to resume from, on this machine's processes or on
Ray; and :class:`Transcoder`, the pure bytes-to-bytes function for the pipelines users have."""

from j4d.shards.run import (
    MANIFEST,
    ShardJob,
    ShardSettings,
    encode_shard,
    encode_shards,
    is_shard,
    shard_jobs,
)
from j4d.shards.tar import IMAGE_FIELDS
from j4d.shards.transcode import Transcoded, Transcoder

__all__ = [
    "IMAGE_FIELDS",
    "MANIFEST",
    "ShardJob",
    "ShardSettings",
    "Transcoded",
    "Transcoder",
    "encode_shard",
    "encode_shards",
    "is_shard",
    "shard_jobs",
]
