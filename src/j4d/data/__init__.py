"""Data: where the offline data folder lives and each model's defaults in it
(:mod:`~j4d.data.root`), ImageFolder trees and unlabeled crops (:mod:`~j4d.data.folders`),
paired segmentation folders (:mod:`~j4d.data.paired`) and the measurement split
(:mod:`~j4d.data.testset`).

Only the light data-root names are imported here; the datasets live in their modules.
"""

from j4d.data.root import (
    CAMVID,
    CIFAR10,
    CUB50,
    DATA_ENV,
    IMAGENET,
    DataDefaults,
    class_spread_files,
    default_data_root,
    read_class_list,
    require_data_root,
)

__all__ = [
    "CAMVID",
    "CIFAR10",
    "CUB50",
    "DATA_ENV",
    "IMAGENET",
    "DataDefaults",
    "class_spread_files",
    "default_data_root",
    "read_class_list",
    "require_data_root",
]
