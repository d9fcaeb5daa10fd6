"""Accuracy, rate and distortion of codec points measured on real files.

Every image is encoded to a real JPEG file by the point's encoder, its whole-file and scan-data
sizes are read from the bytes, and the file is decoded by Pillow (libjpeg-turbo) before the
model sees it: no number here comes from the differentiable proxy. Encoding and decoding can
run in worker processes (:func:`worker_pool`); each point is coded once for all models.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from j4d.codec.quantize import Softness
from j4d.data.folders import images_per_batch
from j4d.encoders import GuidedEncoder, RateLadder, encode_probabilistic
from j4d.encoders.registry import encoder_of, get_encoder
from j4d.evaluation.image_quality import psnr, ssim
from j4d.jpegio import decode, file_rate
from j4d.models import model_view, models_device
from j4d.tables import QuantTables
from j4d.tasks import task_of

#: The decoder of every file measured here.
DECODER = "Pillow (libjpeg-turbo)"

#: ``(image (H, W, 3) uint8, index in the split) -> JPEG bytes``; picklable for worker pools.
Encoder = Callable[[np.ndarray, int], bytes]
_CHUNK = 256  # images per task sent to a worker


#: Test images: a (N, 3, H, W) uint8 batch, or photos of several sizes, each (3, H, W) uint8
#: (kept at their own size; a model reads each through :func:`~j4d.models.model_view`).
Images = torch.Tensor | Sequence[torch.Tensor]


@dataclass(frozen=True)
class CodedImages:
    """Images after a real encode/decode, with their file sizes (bpp of the original's pixels,
    whatever size the file holds) and distortion (NaN where the file holds another size)."""

    decoded: Images  # as the images given
    scan_bpp: np.ndarray  # (N,)
    file_bpp: np.ndarray  # (N,)
    psnr: np.ndarray  # (N,) dB, capped at PSNR_CAP for lossless images
    ssim: np.ndarray  # (N,)


@dataclass(frozen=True)
class RealFilePoint:
    """One codec point for one model: mean rates, mean PSNR (dB) and SSIM over the images, and
    the model's task metrics (fractions; e.g. top-1 / top-5 / agreement for a classifier,
    mIoU / pixel accuracy / agreement for a segmenter; see :mod:`j4d.tasks`)."""

    images: int
    scan_bpp: float
    file_bpp: float
    metrics: dict[str, float] = field(default_factory=dict)
    psnr: float = float("nan")
    ssim: float = float("nan")

    def as_dict(self) -> dict[str, float | int]:
        flat = {k: v for k, v in asdict(self).items() if k != "metrics"}
        return {**flat, **self.metrics}


#: Photos above this many pixels get no SSIM (NaN): on a camera's 8 megapixels it costs more
#: than encoding, decoding and classifying the photo together.
SSIM_PIXELS = 2_000_000

#: PSNR of an exactly reproduced image (MSE 0) counts as this many dB in means.
PSNR_CAP = 100.0


def load_split(dataset: Dataset, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """All (image, label) pairs of ``dataset`` (first ``limit``) as a uint8 batch and labels
    (class indices, or label maps)."""
    count = len(dataset) if limit is None else min(limit, len(dataset))  # type: ignore[arg-type]
    pairs = [dataset[index] for index in range(count)]
    images = torch.stack([torch.as_tensor(image, dtype=torch.uint8) for image, _ in pairs])
    return images, torch.stack([torch.as_tensor(label, dtype=torch.int64) for _, label in pairs])


_Chunk = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _code_chunk(encode: Encoder, arrays: np.ndarray, start: int) -> _Chunk:
    files = [encode(array, start + offset) for offset, array in enumerate(arrays)]
    return _read_files(arrays, files)


def _read_files(arrays: Sequence[np.ndarray], files: Sequence[bytes]) -> _Chunk:
    """Decoded images, scan and whole-file bpp (per pixel of each original), PSNR against
    ``arrays`` of their ``files`` (NaN where a file holds another size, e.g. resized first);
    decoded images stacked where all have one size, else in a list."""
    decoded, scan, whole, quality = [], [], [], []
    for array, data in zip(arrays, files, strict=True):
        rate = file_rate(data, *array.shape[:2])
        image = decode(data)
        scan.append(rate.scan_bpp)
        whole.append(rate.file_bpp)
        same = image.shape == array.shape
        quality.append(min(psnr(array, image), PSNR_CAP) if same else float("nan"))
        decoded.append(image)
    if len({image.shape for image in decoded}) == 1:
        decoded = np.stack(decoded)
    return decoded, np.asarray(scan), np.asarray(whole), np.asarray(quality)


def code_images(
    images: Images,
    encode: Encoder | QuantTables | GuidedEncoder | RateLadder,
    pool: Executor | None = None,
) -> CodedImages:
    """Encode and decode a (N, 3, H, W) uint8 batch, or photos of several sizes, with
    ``encode`` (an :data:`Encoder`, tables for plain rounding with Pillow, or a model-aware
    encoder, which runs here, in batches of :func:`inference_batch` or a photo at a time), in
    ``pool`` if given."""
    if isinstance(encode, QuantTables):
        encode = tables_encoder(encode)
    if isinstance(images, torch.Tensor):
        arrays = images.permute(0, 2, 3, 1).contiguous().numpy()
        size = inference_batch(images)
    else:
        arrays = [image.permute(1, 2, 0).contiguous().numpy() for image in images]
        size = 1
    if isinstance(encode, (GuidedEncoder, RateLadder)):
        batches = [arrays[s : s + size] for s in range(0, len(arrays), size)]
        parts = [_read_files(batch, encode.encode_batch(list(batch))) for batch in batches]
        return _coded(images, parts)
    starts = range(0, len(arrays), _CHUNK)
    chunks = [(encode, arrays[s : s + _CHUNK], s) for s in starts]
    if pool is None:
        parts = [_code_chunk(*chunk) for chunk in chunks]
    else:
        parts = list(pool.map(_code_chunk, *zip(*chunks, strict=True)))
    return _coded(images, parts)


def _coded(images: Images, parts: Sequence[_Chunk]) -> CodedImages:
    rates = [np.concatenate([p[k] for p in parts]) for k in (1, 2, 3)]
    if isinstance(images, torch.Tensor):
        decoded = torch.from_numpy(np.concatenate([p[0] for p in parts])).permute(0, 3, 1, 2)
        decoded = decoded.contiguous()
        return CodedImages(decoded, *rates, ssim(images, decoded))
    photos = [torch.from_numpy(np.array(a)).permute(2, 0, 1) for p in parts for a in p[0]]
    similarity = [
        float(ssim(o[None], d[None])[0])
        if o.shape == d.shape and o.shape[-2] * o.shape[-1] <= SSIM_PIXELS
        else float("nan")
        for o, d in zip(images, photos, strict=True)
    ]
    return CodedImages([p.contiguous() for p in photos], *rates, np.asarray(similarity))


def _encoded(image: np.ndarray, index: int, tables: QuantTables, encoder: str) -> bytes:
    return get_encoder(encoder).encode(image, tables)


def _probabilistic(
    image: np.ndarray, index: int, tables: QuantTables, softness: Softness | None, seed: int
) -> bytes:
    return encode_probabilistic(image, tables, softness, seed=seed + index)


def tables_encoder(
    tables: QuantTables,
    probabilistic_seed: int | None = None,
    softness: Softness | None = None,
    encoder: str | None = None,
) -> Encoder:
    """The tables' encoder (``encoder`` if given, else the one they record; see
    :mod:`j4d.encoders.registry`), or (given a seed) indices sampled with ``softness`` and
    written by jpeglib, image i with seed + i."""
    if probabilistic_seed is None:
        return functools.partial(_encoded, tables=tables, encoder=encoder_of(tables, encoder).name)
    return functools.partial(
        _probabilistic, tables=tables, softness=softness, seed=probabilistic_seed
    )


#: Pixels per inference batch: 500 CIFAR images; 10 at 224x224, where larger batches ran
#: slower on the CPU (cache).
_BATCH_PIXELS = 500 * 32 * 32


def inference_batch(images: torch.Tensor) -> int:
    """Images per forward pass for a (N, 3, H, W) batch of this size."""
    return images_per_batch(images.shape[-2], images.shape[-1], _BATCH_PIXELS)


@torch.no_grad()
def outputs(
    model: nn.Module,
    images: Images,
    batch_size: int | None = None,
    keep: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """``model``'s outputs (logits) on a uint8 batch (the model takes [0, 255]), each batch's
    passed through ``keep`` if given. Photos of several sizes are read through the model's own
    view (short-side resize and centre crop of the uint8 photo, as its data pipeline does)."""
    device = models_device([model])
    if not isinstance(images, torch.Tensor):
        viewed = [model_view(model, photo[None])[0] for photo in images]
        images = torch.stack(viewed) if viewed else torch.zeros(0, 3, 1, 1, dtype=torch.uint8)
    batch_size = batch_size or inference_batch(images)
    kept = []
    for start in range(0, len(images), batch_size):
        output = model(images[start : start + batch_size].to(device, torch.float32))
        kept.append(keep(output) if keep is not None else output)
    return torch.cat(kept)


def predictions(model: nn.Module, images: Images, batch_size: int | None = None) -> torch.Tensor:
    """What ``model``'s task scores of its output on a uint8 batch: e.g. a classifier's (N, 5)
    best classes, a segmenter's (N, H, W) class maps (see :func:`outputs`)."""
    return outputs(model, images, batch_size, task_of(model).predict)


def reference_predictions(
    models: nn.Module | Sequence[nn.Module], images: Images
) -> list[torch.Tensor]:
    """Each model's predictions on the uncompressed images: what agreement is measured to."""
    models = [models] if isinstance(models, nn.Module) else list(models)
    return [predictions(model, images) for model in models]


def score(
    model: nn.Module,
    images: Images,
    labels: torch.Tensor,
    reference: torch.Tensor | None = None,
    batch_size: int | None = None,
) -> dict[str, float]:
    """``model``'s task metrics on a uint8 batch; agreement with the ``reference``
    predictions (from :func:`reference_predictions`; NaN without them)."""
    return task_of(model).score(predictions(model, images, batch_size), labels, reference)


def evaluate_coded(
    models: nn.Module | Sequence[nn.Module],
    coded: CodedImages,
    labels: torch.Tensor,
    references: Sequence[torch.Tensor] | None = None,
) -> list[RealFilePoint]:
    """One point per model for images already coded (rates and distortion are shared);
    ``references`` (from :func:`reference_predictions`) give the agreement."""
    models = [models] if isinstance(models, nn.Module) else list(models)
    shared = {
        "scan_bpp": float(coded.scan_bpp.mean()),
        "file_bpp": float(coded.file_bpp.mean()),
        "psnr": float(coded.psnr.mean()),
        "ssim": float(coded.ssim.mean()),
    }
    points = []
    for i, model in enumerate(models):
        reference = references[i] if references is not None else None
        metrics = score(model, coded.decoded, labels, reference)
        points.append(RealFilePoint(len(labels), metrics=metrics, **shared))
    return points


def evaluate_tables(
    models: nn.Module | Sequence[nn.Module],
    images: torch.Tensor,
    labels: torch.Tensor,
    tables: QuantTables,
    probabilistic_seed: int | None = None,
    softness: Softness | None = None,
    pool: Executor | None = None,
    references: Sequence[torch.Tensor] | None = None,
) -> list[RealFilePoint]:
    """Rates, distortion and accuracy (agreement too, given ``references``) on real files
    coded with ``tables``, one point per model; the images are encoded and decoded once for
    all models."""
    encode = tables_encoder(tables, probabilistic_seed, softness)
    return evaluate_coded(models, code_images(images, encode, pool), labels, references)
