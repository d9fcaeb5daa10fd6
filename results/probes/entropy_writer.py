"""Probe: would j4d's own baseline entropy coder, in numpy, make a coefficient writer fast?

``write_indices`` hands indices to jpeglib (libjpeg-turbo through a temporary file), which ran
at 0.37x Pillow's images/s at 224x224. This probe writes the same files in numpy array passes:
the sequential Huffman coder of ITU T.81 (Annex F.1.2: DC by DPCM per component, AC run/size
symbols with ZRL and EOB), each table built as libjpeg's ``jpeg_gen_optimal_table`` builds it
(Annex K.2: least frequent pair first, among equals the highest symbol; a reserved code point;
lengths limited to 16 bits), so the scan has exactly libjpeg's bits. It checks that on every
image (same scan bytes, same decoded pixels as jpeglib's file) and times the three writers on
the same indices, alternating rounds, each keeping its best. Writes ``entropy_writer.json`` and
``entropy_writer.md``.

Run from the repository root: ``.venv/bin/python results/probes/entropy_writer.py``
"""

from __future__ import annotations

import heapq
import json
import struct
import time
from pathlib import Path

import numpy as np
import torch

from j4d.codec.codec import JPEGCodec
from j4d.data import require_data_root
from j4d.data.testset import load_test_images
from j4d.encoders import encode_uniform, write_indices
from j4d.errors import InvalidInputError
from j4d.jpegio import decode, file_rate
from j4d.jpegio.images import to_batch
from j4d.tables import ZIGZAG, QuantTables
from j4d.zoo import nearest

HERE = Path(__file__).parent
IMAGES = 100
ROUNDS = 3

#: Huffman/quantization table slot of Y, Cb, Cr.
_COMPONENT_TABLE = np.array([0, 1, 1])
_MAX_AC_BITS = 10  # baseline, 8-bit samples: |AC index| < 1024
_MAX_DC_BITS = 11  # and |DC difference| < 2048
_MAX_CODE_LENGTH = 16
_EOB, _ZRL = 0x00, 0xF0


def write_baseline(indices: np.ndarray, tables: QuantTables, height: int, width: int) -> bytes:
    """JPEG bytes holding ``indices``: (3, B, 64) integers, Y / Cb / Cr, blocks in raster
    order over the ``height`` x ``width`` image padded to whole blocks, frequencies in
    zig-zag order. The decoder reads exactly these indices with ``tables``."""
    units = np.asarray(indices)
    if units.ndim != 3 or units.shape[0] != 3 or units.shape[2] != 64:
        raise InvalidInputError(f"expected (3, B, 64) indices, got shape {units.shape}")
    # scan order: one MCU per block position, holding its Y, Cb and Cr blocks
    units = units.transpose(1, 0, 2).reshape(-1, 64).astype(np.int64)
    events = _events(units)
    frequency = np.bincount(events.table * 256 + events.symbol, minlength=1024).reshape(4, 256)
    huffman = [_optimal_table(counts) for counts in frequency]
    codes = np.array([h[0] for h in huffman], np.int64)
    sizes = np.array([h[1] for h in huffman], np.int64)
    values = (codes[events.table, events.symbol] << events.extra_bits) | events.extra
    lengths = sizes[events.table, events.symbol] + events.extra_bits
    scan = _stuff(_pack_bits(values, lengths))
    return b"".join(
        (
            b"\xff\xd8",
            _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _segment(0xDB, b"".join(bytes([slot]) + _table_bytes(tables, slot) for slot in (0, 1))),
            _segment(
                0xC0,
                struct.pack(">BHHB", 8, height, width, 3)
                + bytes([1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]),
            ),
            _segment(
                0xC4,
                b"".join(
                    _dht_bytes(table_class, slot, *huffman[2 * table_class + slot][2:])
                    for table_class in (0, 1)
                    for slot in (0, 1)
                ),
            ),
            _segment(0xDA, bytes([3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0])),
            scan.tobytes(),
            b"\xff\xd9",
        )
    )


class _Events:
    """The coded symbols of a scan in stream order: table (0/1 DC, 2/3 AC for luma/chroma),
    symbol, and the extra bits that follow its code."""

    def __init__(self, count: int) -> None:
        self.table = np.empty(count, np.int64)
        self.symbol = np.empty(count, np.int64)
        self.extra = np.zeros(count, np.int64)
        self.extra_bits = np.zeros(count, np.int64)

    def put(self, at, table, symbol, extra=0, extra_bits=0) -> None:
        self.table[at], self.symbol[at] = table, symbol
        self.extra[at], self.extra_bits[at] = extra, extra_bits


def _magnitude(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """JPEG's size category (bit length of |v|) and the extra bits of each value."""
    size = np.frexp(np.abs(values).astype(np.float64))[1].astype(np.int64)
    return size, np.where(values < 0, values + (1 << size) - 1, values)


def _events(units: np.ndarray) -> _Events:
    count = len(units)
    table = _COMPONENT_TABLE[np.arange(count) % 3]
    dc = units[:, 0].reshape(-1, 3)
    difference = np.diff(dc, axis=0, prepend=0).reshape(-1)  # DPCM per component
    dc_size, dc_extra = _magnitude(difference)
    if dc_size.max(initial=0) > _MAX_DC_BITS:
        raise InvalidInputError("a DC difference is out of the baseline range [-2047, 2047]")
    nonzero = units != 0  # a boolean mask: flatnonzero on it is ~8x faster than on integers
    nonzero[:, 0] = False
    flat = np.flatnonzero(nonzero)
    unit, zigzag = flat // 64, flat % 64
    value = units[unit, zigzag]
    ac_size, ac_extra = _magnitude(value)
    if ac_size.max(initial=0) > _MAX_AC_BITS:
        raise InvalidInputError("an AC index is out of the baseline range [-1023, 1023]")
    first = np.r_[True, unit[1:] != unit[:-1]] if len(unit) else np.zeros(0, bool)
    last = np.r_[unit[1:] != unit[:-1], True] if len(unit) else np.zeros(0, bool)
    previous = np.where(first, 0, np.r_[0, zigzag[:-1]])
    run = zigzag - previous - 1
    zrl = run >> 4  # runs of 16 zeros before the coefficient
    per_coefficient = zrl + 1
    eob = np.ones(count, bool)
    eob[unit[last & (zigzag == 63)]] = False
    per_unit = 1 + np.bincount(unit, per_coefficient, minlength=count).astype(np.int64) + eob
    start = np.cumsum(per_unit) - per_unit
    before = np.cumsum(per_coefficient) - per_coefficient
    in_unit = before - np.maximum.accumulate(np.where(first, before, 0))
    at = start[unit] + 1 + in_unit  # first event of each coefficient: a ZRL or its symbol
    events = _Events(int(per_unit.sum()))
    events.put(start, table, dc_size, dc_extra, dc_size)
    events.put(at + zrl, 2 + table[unit], ((run & 15) << 4) | ac_size, ac_extra, ac_size)
    owner = np.repeat(np.arange(len(unit)), zrl)
    if len(owner):
        offsets = np.arange(len(owner)) - np.repeat(np.cumsum(zrl) - zrl, zrl)
        events.put(at[owner] + offsets, 2 + table[unit[owner]], _ZRL)
    ends = start + per_unit - 1
    events.put(ends[eob], 2 + table[eob], _EOB)
    return events


def _optimal_table(frequency: np.ndarray) -> tuple[list[int], list[int], bytes, bytes]:
    """Huffman codes and code lengths per symbol (0 where unused), the count of codes of each
    length 1..16 and the symbols by code, as libjpeg's ``jpeg_gen_optimal_table`` makes them.

    Its merge order is kept exactly: the heap pops the least frequent node and, among equals,
    the one with the highest symbol number, which is the node libjpeg's scan picks. Plain
    Python: at most 257 symbols, where numpy's per-call cost would dominate."""
    counts = [*frequency.tolist(), 1]  # 256: the reserved code point
    heap = [(f, -symbol, symbol) for symbol, f in enumerate(counts) if f]
    heapq.heapify(heap)
    children: list[tuple[int, int]] = []  # of internal node 257 + i
    while len(heap) > 1:
        f1, key, n1 = heapq.heappop(heap)
        f2, _, n2 = heapq.heappop(heap)
        children.append((n1, n2))
        heapq.heappush(heap, (f1 + f2, key, 257 + len(children) - 1))
    depth = {heap[0][2]: 0}
    for node in range(256 + len(children), 256, -1):  # parents before children
        for child in children[node - 257]:
            depth[child] = depth[node] + 1
    length = [depth.get(symbol, 0) for symbol in range(257)]
    bits = [0] * 33
    for size in length:
        if size:
            bits[size] += 1
    for i in range(32, _MAX_CODE_LENGTH, -1):  # libjpeg's limit to 16 bits
        while bits[i] > 0:
            j = i - 2
            while bits[j] == 0:
                j -= 1
            bits[i] -= 2
            bits[i - 1] += 1
            bits[j + 1] += 2
            bits[j] -= 1
    longest = _MAX_CODE_LENGTH
    while bits[longest] == 0:
        longest -= 1
    bits[longest] -= 1  # drop the reserved code point
    order = sorted((size, symbol) for symbol, size in enumerate(length[:256]) if size)
    codes, sizes = [0] * 256, [0] * 256
    code, symbols = 0, iter(order)
    for size in range(1, _MAX_CODE_LENGTH + 1):  # canonical codes (Annex C)
        for _ in range(bits[size]):
            symbol = next(symbols)[1]
            codes[symbol], sizes[symbol] = code, size
            code += 1
        code <<= 1
    return codes, sizes, bytes(bits[1 : _MAX_CODE_LENGTH + 1]), bytes(s for _, s in order)


def _pack_bits(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The codes (each at most 32 bits) back to back, most significant bit first, padded with
    1-bits to a whole byte. Each code lands in one 32-bit word or straddles two; the bits of
    different codes never overlap, so a word is the sum of its parts."""
    padding = -int(lengths.sum()) % 8
    values = np.r_[values, (1 << padding) - 1]
    lengths = np.r_[lengths, padding]
    end = np.cumsum(lengths)  # bit after each code
    word = (end - lengths) >> 5
    spill = end - 32 * (word + 1)  # bits that run into the next word
    inside = spill <= 0
    head = np.where(inside, values << np.maximum(-spill, 0), values >> np.maximum(spill, 0))
    words = np.bincount(word, head, minlength=int(end[-1] + 31) // 32 + 1)
    tail = ~inside
    tail_bits = (values[tail] << (32 - spill[tail])) & 0xFFFFFFFF
    words += np.bincount(word[tail] + 1, tail_bits, minlength=len(words))
    packed = words.astype(">u4").view(np.uint8)
    return packed[: int(end[-1]) // 8]


def _stuff(data: np.ndarray) -> np.ndarray:
    """A 0x00 after every 0xFF byte of entropy-coded data (T.81 F.1.2.3)."""
    marks = np.flatnonzero(data == 0xFF)
    return np.insert(data, marks + 1, 0) if len(marks) else data


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _table_bytes(tables: QuantTables, slot: int) -> bytes:
    natural = np.asarray(tables.to_array("natural")[slot], np.int64)
    return natural[ZIGZAG].astype(np.uint8).tobytes()


def _dht_bytes(table_class: int, slot: int, bits: bytes, symbols: bytes) -> bytes:
    return bytes([table_class << 4 | slot]) + bits + symbols


def _best_ms(function, items, rounds: list[float]) -> None:
    start = time.perf_counter()
    for item in items:
        function(item)
    rounds.append(1000 * (time.perf_counter() - start) / len(items))


def main() -> None:
    root = require_data_root(None)
    test = load_test_images(root / "imagenet-val", 224, IMAGES, resize="none")
    images = [image.permute(1, 2, 0).contiguous().numpy() for image in test.images]
    entry = nearest("mobilenet_v2", 1.0)
    tables = entry.load()
    codec = JPEGCodec(tables, mode="uniform")
    with torch.no_grad():
        indices = [codec(to_batch(image)).indices[0].numpy() for image in images]
    same_scan = same_pixels = 0
    for image, index in zip(images, indices, strict=True):
        ours = write_baseline(index, tables, *image.shape[:2])
        theirs = write_indices(index, tables, *image.shape[:2])
        same_scan += file_rate(ours, 224, 224).scan_bytes == file_rate(theirs, 224, 224).scan_bytes
        same_pixels += bool(np.array_equal(decode(ours), decode(theirs)))
    writers = {
        "Pillow (pixels in, plain rounding)": (lambda i: encode_uniform(images[i], tables)),
        "jpeglib write_indices": (lambda i: write_indices(indices[i], tables, 224, 224)),
        "numpy entropy coder (this probe)": (
            lambda i: write_baseline(indices[i], tables, 224, 224)
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in writers}
    for _ in range(ROUNDS):
        for name, function in writers.items():
            _best_ms(function, range(len(images)), times[name])
    best = {name: min(values) for name, values in times.items()}
    pillow = best["Pillow (pixels in, plain rounding)"]
    report = {
        "images": len(images),
        "tables": f"zoo mobilenet_v2 {entry.name}",
        "same_scan_bytes_as_jpeglib": same_scan,
        "same_decoded_pixels_as_jpeglib": same_pixels,
        "ms_per_image": best,
        "images_per_s_over_pillow": {name: pillow / ms for name, ms in best.items()},
    }
    (HERE / "entropy_writer.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [
        f"# numpy entropy coder vs jpeglib vs Pillow ({len(images)} imagenet-val images, 224x224,"
        f" {report['tables']}, 4:4:4, optimized Huffman; best of {ROUNDS} alternating rounds)",
        "",
        f"Same scan bytes as jpeglib's file: {same_scan} / {len(images)} images; same decoded "
        f"pixels: {same_pixels} / {len(images)}.",
        "",
        "| writer | ms per image | images/s vs Pillow |",
        "|---|---:|---:|",
        *(f"| {n} | {best[n]:.2f} | {report['images_per_s_over_pillow'][n]:.2f}x |" for n in best),
    ]
    (HERE / "entropy_writer.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
