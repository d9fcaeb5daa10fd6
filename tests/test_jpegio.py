import io

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import smooth_image
from j4d import JPEGCodec, QuantTables, Softness
from j4d.codec import channel_steps, synthesize
from j4d.encoders import encode_probabilistic, encode_uniform, sample_indices
from j4d.errors import InvalidInputError
from j4d.jpegio import decode, file_rate, load_image, parse_layout, read_coefficients, to_batch
from j4d.tables import natural_to_zigzag


def our_uniform_indices(image, tables):
    with torch.no_grad():
        return JPEGCodec(tables, mode="uniform")(to_batch(image, torch.float64)).indices[0].numpy()


def custom_tables(seed):
    generator = np.random.default_rng(seed)
    return QuantTables(tuple(generator.integers(1, 60, 64)), tuple(generator.integers(1, 90, 64)))


@pytest.mark.parametrize("quality", [5, 25, 50, 75, 90, 95, "custom"])
def test_hard_indices_agree_with_libjpeg(cifar_images, kodak_files, quality):
    """Our indices vs the coefficients libjpeg-turbo wrote for the same image and tables."""
    tables = custom_tables(7) if quality == "custom" else QuantTables.from_quality(quality)
    images = cifar_images[::10] + [load_image(f) for f in kodak_files[:2]]
    equal = total = 0
    for image in images:
        reference = read_coefficients(encode_uniform(image, tables)).stacked()
        ours = our_uniform_indices(image, tables)
        assert np.abs(ours - reference).max() <= 1
        equal += (ours == reference).sum()
        total += reference.size
    assert equal / total >= 0.99, equal / total


def test_hard_indices_at_quality_100_are_never_more_than_one_apart(cifar_images, kodak_files):
    # At q = 1 the precision of libjpeg's integer DCT (13-bit constants) is visible: ~98 % equal.
    tables = QuantTables.from_quality(100)
    for image in [*cifar_images[::50], load_image(kodak_files[0])]:
        reference = read_coefficients(encode_uniform(image, tables)).stacked()
        ours = our_uniform_indices(image, tables)
        assert np.abs(ours - reference).max() <= 1
        assert (ours == reference).mean() >= 0.97


@pytest.mark.parametrize("quality", [10, 75])
def test_our_decoder_matches_pillow_on_libjpeg_indices(kodak_files, quality):
    tables = QuantTables.from_quality(quality)
    image = load_image(kodak_files[3])
    data = encode_uniform(image, tables)
    indices = torch.from_numpy(read_coefficients(data).stacked()).double()
    q = channel_steps(tables.to_tensor(dtype=torch.float64)).unsqueeze(1)
    ours = synthesize(indices[None] * q, *image.shape[:2])[0].permute(1, 2, 0).numpy()
    difference = np.abs(ours - decode(data).astype(np.float64))
    assert difference.max() <= 4 and difference.mean() < 0.1


@pytest.mark.parametrize(("height", "width"), [(32, 32), (13, 21), (40, 9)])
def test_probabilistic_file_holds_exactly_our_indices(rng, height, width):
    image = smooth_image(rng, height, width)
    tables = custom_tables(3)
    softness = Softness.fixed(0.05)  # soft enough that sampling really differs from rounding
    generator = torch.Generator().manual_seed(11)
    # encode_probabilistic draws in natural coefficient order (the random stream follows it)
    natural = sample_indices(image, tables, softness, generator, order="natural")
    indices = natural_to_zigzag(natural).numpy()
    data = encode_probabilistic(image, tables, softness, seed=11)
    read_back = read_coefficients(data)
    assert np.array_equal(read_back.stacked(), indices)
    assert read_back.tables == tables
    assert read_back.sampling == ((1, 1), (1, 1), (1, 1))
    assert (read_back.height, read_back.width) == (height, width)
    assert parse_layout(data).frame == "baseline" and parse_layout(data).sof_marker == 0xC0
    assert not np.array_equal(indices, our_uniform_indices(image, tables))
    decoded = decode(data)
    assert decoded.shape == image.shape
    assert encode_probabilistic(image, tables, softness, seed=11) == data
    assert encode_probabilistic(image, tables, softness, seed=12) != data


def test_probabilistic_path_at_high_alpha_is_close_to_uniform(rng):
    image = smooth_image(rng, 48, 64)
    tables = QuantTables.from_quality(60)
    sampled = read_coefficients(encode_probabilistic(image, tables, Softness.fixed(100.0)))
    rounded = read_coefficients(encode_uniform(image, tables))
    assert (sampled.stacked() == rounded.stacked()).mean() > 0.99


def test_uniform_file_is_baseline_444_optimized_with_our_tables(rng):
    image = smooth_image(rng, 64, 48)
    tables = custom_tables(5)
    data = encode_uniform(image, tables)
    read_back = read_coefficients(data)
    assert read_back.tables == tables and read_back.is_444
    assert parse_layout(data).frame == "baseline"
    standard_huffman = io.BytesIO()
    Image.fromarray(image).save(
        standard_huffman, "JPEG", qtables=tables.to_pillow(), subsampling=0, optimize=False
    )
    assert len(data) < len(standard_huffman.getvalue())


def test_scan_bytes_are_the_entropy_coded_segment(rng):
    image = smooth_image(rng, 32, 32)
    data = encode_uniform(image, QuantTables.from_quality(50))
    layout = parse_layout(data)
    sos = data.index(b"\xff\xda")
    sos_length = int.from_bytes(data[sos + 2 : sos + 4], "big")
    assert data.endswith(b"\xff\xd9")
    assert layout.scan_bytes == len(data) - (sos + 2 + sos_length) - 2
    rate = file_rate(data, 32, 32)
    assert rate.file_bpp == pytest.approx(8 * len(data) / 1024)
    assert rate.scan_bpp == pytest.approx(8 * layout.scan_bytes / 1024)
    assert rate.scan_bpp < rate.file_bpp


def test_progressive_file_counts_every_scan(rng):
    buffer = io.BytesIO()
    Image.fromarray(smooth_image(rng, 64, 64)).save(buffer, "JPEG", progressive=True, quality=80)
    layout = parse_layout(buffer.getvalue())
    assert layout.frame == "progressive" and layout.num_scans > 1
    assert 0 < layout.scan_bytes < layout.file_bytes


def test_corrupt_jpeg_is_reported():
    with pytest.raises(InvalidInputError, match="not a JPEG"):
        parse_layout(b"GIF89a....")
    with pytest.raises(InvalidInputError, match="no frame or no scan"):
        parse_layout(b"\xff\xd8\xff\xd9")


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "I;16", "1", "RGB"])
def test_any_image_mode_loads_as_rgb(tmp_path, rng, mode):
    source = Image.fromarray(smooth_image(rng, 13, 21))
    if mode == "I;16":
        converted = Image.fromarray(np.asarray(source.convert("L")).astype(np.uint16) * 257)
    else:
        converted = source.convert(mode)
    path = tmp_path / ("image.tiff" if mode in ("CMYK", "I;16") else "image.png")
    converted.save(path)
    loaded = load_image(path)
    assert loaded.shape == (13, 21, 3) and loaded.dtype == np.uint8
    if mode in ("L", "LA", "I;16"):
        gray = np.asarray(source.convert("L"))
        assert np.abs(loaded[..., 0].astype(int) - gray).max() <= 1
        assert np.array_equal(loaded[..., 0], loaded[..., 2])


def test_bad_image_files_are_named(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    truncated = tmp_path / "cut.png"
    buffer = io.BytesIO()
    Image.fromarray(smooth_image(np.random.default_rng(0), 64, 64)).save(buffer, "PNG")
    truncated.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    for path, problem in [
        (text, "not an image"),
        (truncated, "cannot read image"),
        (tmp_path / "missing.png", "no such file"),
        (tmp_path, "is a directory"),
    ]:
        with pytest.raises(InvalidInputError) as error:
            load_image(path)
        assert str(path) in str(error.value) and problem in str(error.value)


def test_uniform_encoding_of_noise_at_step_one_beyond_pillows_buffer_guess():
    # Pillow sizes its one-shot buffer at 2 bytes per pixel; this file needs ~23 bpp.
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode_uniform(noise, QuantTables.from_quality(100))
    assert file_rate(data, 64, 64).file_bpp > 16
    assert np.abs(decode(data).astype(int) - noise).max() <= 8
