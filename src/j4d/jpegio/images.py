"""Reading user images as 8-bit RGB, with one-line errors for bad files."""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from j4d.errors import InvalidInputError

if TYPE_CHECKING:  # torch only where tensors are made: reading files needs none
    import torch

#: File name suffixes (lower case) taken as images when a folder is read.
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif"}
)


def image_files(folder: str | os.PathLike[str], recursive: bool = True) -> list[Path]:
    """The image files (by :data:`IMAGE_SUFFIXES`) in ``folder``, and in its subfolders if
    ``recursive``, sorted by path."""
    entries = Path(folder).rglob("*") if recursive else Path(folder).iterdir()
    return sorted(p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow image to RGB explicitly.

    Grayscale is replicated, palette images are expanded, RGBA/LA drop alpha (as torchvision's
    default loader does), CMYK uses Pillow's conversion, 16/32-bit grayscale is scaled to 8 bits.
    The EXIF orientation is applied, so pixels are as a viewer shows them.
    """
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(array * 255.0 / peak + 0.5, 0, 255).astype(np.uint8))
    elif image.mode == "F":
        image = Image.fromarray(np.clip(np.asarray(image) + 0.5, 0, 255).astype(np.uint8))
    elif image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    return image if image.mode == "RGB" else image.convert("RGB")


@dataclass(frozen=True)
class Metadata:
    """What a file says about its pixels beyond them: the ICC colour profile (RGB profiles only:
    others describe the source's colour space, not the RGB j4d writes) and the EXIF block (as
    ``Exif\\0\\0`` + TIFF data, its orientation reset to 1 since the pixels are turned upright)."""

    icc_profile: bytes | None = None
    exif: bytes | None = None
    #: (marker, payload) of a JPEG input's segments carried over byte for byte: its JFIF APP0
    #: where it records a pixel density (not the default 1:1), its XMP APP1 packets and its
    #: IPTC (Photoshop) APP13
    segments: tuple[tuple[int, bytes], ...] = ()


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as an (H, W, 3) uint8 RGB array; raise InvalidInputError if bad."""
    return _read(path, False)[0]


def load_image_with_metadata(path: str | os.PathLike[str]) -> tuple[np.ndarray, Metadata]:
    """:func:`load_image` and the file's :class:`Metadata`."""
    return _read(path, True)


def decode_image_with_metadata(data: bytes, name: str) -> tuple[np.ndarray, Metadata]:
    """An image file's bytes (a shard's member, a table's cell) as :func:`load_image_with_metadata`
    reads a file; errors name it ``name``."""
    return _read(data, True, name)


def _read(
    source: str | os.PathLike[str] | bytes, with_metadata: bool, name: str | None = None
) -> tuple[np.ndarray, Metadata]:
    if isinstance(source, bytes):
        path, opened = name or "<bytes>", io.BytesIO(source)
    else:
        path = opened = Path(source)
        if not path.exists():
            raise InvalidInputError("no such file", path)
        if path.is_dir():
            raise InvalidInputError("is a directory, not an image", path)
    metadata = Metadata()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(opened) as image:
                image.load()
                rgb = to_rgb(image)
                if with_metadata:  # after to_rgb, which reads the orientation this resets
                    metadata = _metadata(image)
    except UnidentifiedImageError:
        raise InvalidInputError("not an image file Pillow can read", path) from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise InvalidInputError(f"cannot read image ({error})", path) from None
    array = np.asarray(rgb, dtype=np.uint8)
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidInputError("image is empty", path)
    return array, metadata


_ORIENTATION = 0x0112


def _metadata(image: Image.Image) -> Metadata:
    icc = image.info.get("icc_profile") or None
    if icc is not None and icc[16:20] != b"RGB ":
        icc = None
    exif = image.getexif()
    if _ORIENTATION in exif:
        exif[_ORIENTATION] = 1
    return Metadata(icc, exif.tobytes() if len(exif) else None, _carried(image))


#: APPn marker -> payload prefixes of the segments carried as they are (XMP, IPTC)
_CARRIED = {
    0xE1: (b"http://ns.adobe.com/xap/1.0/\0", b"http://ns.adobe.com/xmp/extension/\0"),
    0xED: (b"Photoshop 3.0\0",),
}
_DEFAULT_DENSITY = b"\x00\x00\x01\x00\x01"  # units 0 (aspect ratio only), 1:1


def _carried(image: Image.Image) -> tuple[tuple[int, bytes], ...]:
    """The segments of a JPEG input that :class:`Metadata` carries over (see its fields)."""
    kept = []
    for name, payload in getattr(image, "applist", []):
        if not name.startswith("APP"):  # Pillow lists COM segments here too
            continue
        marker = 0xE0 + int(name[3:])
        if marker == 0xE0 and payload[:5] == b"JFIF\0" and payload[7:12] != _DEFAULT_DENSITY:
            kept.append((marker, payload[:12] + b"\x00\x00"))  # without its thumbnail
        elif payload.startswith(_CARRIED.get(marker, ())):
            kept.append((marker, payload))
    return tuple(kept)


def shrink_to_short_side(image: np.ndarray, side: int) -> np.ndarray:
    """An (H, W, 3) uint8 photo with its short side brought down to ``side``, the long side in
    proportion (truncated), by Pillow's bilinear filter: what torchvision's ``Resize(side)``
    gives on the PIL image, so a model's own resize of the result changes nothing. A photo no
    larger is kept as it is (never upsampled for storage)."""
    height, width = image.shape[:2]
    if min(height, width) <= side:
        return image
    if height <= width:
        size = (int(side * width / height), side)
    else:
        size = (side, int(side * height / width))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))


def load_image_tensor(path: str | os.PathLike[str]) -> torch.Tensor:
    """:func:`load_image` as a (3, H, W) uint8 tensor."""
    import torch

    return torch.from_numpy(load_image(path).copy()).permute(2, 0, 1)


def to_batch(
    images: np.ndarray | list[np.ndarray], dtype: torch.dtype | None = None
) -> torch.Tensor:
    """(H, W, 3) uint8 array(s) of one size -> (N, 3, H, W) tensor in [0, 255] (``dtype``
    default float32)."""
    import torch

    stack = np.stack(images) if isinstance(images, list) else np.array(images, copy=True)[None]
    dtype = torch.float32 if dtype is None else dtype
    return torch.from_numpy(stack).to(dtype).permute(0, 3, 1, 2).contiguous()


def to_uint8_image(batch_item: torch.Tensor) -> np.ndarray:
    """(3, H, W) float tensor in [0, 255] -> (H, W, 3) uint8 array (rounded, clamped)."""
    import torch

    array = batch_item.detach().to("cpu", torch.float64).round().clamp(0, 255)
    return array.permute(1, 2, 0).numpy().astype(np.uint8)


def check_rgb(image: np.ndarray) -> np.ndarray:
    """``image`` as a C-contiguous (H, W, 3) uint8 RGB array; a one-line error otherwise."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InvalidInputError(
            f"expected an (H, W, 3) uint8 RGB image, got {image.dtype} {tuple(image.shape)}"
        )
    return np.ascontiguousarray(image)
