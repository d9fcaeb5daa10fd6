"""j4d's own rate-distortion encoder (``rd``): the compiled trellis against a plain Python
reference and a brute force, its writer against libjpeg's, its analysis against the codec's,
and its settings' errors."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from PIL import Image

from conftest import libjpeg_decode, smooth_image
from j4d.cli import main
from j4d.codec.codec import analyze
from j4d.encoders import encode_uniform, encode_with, write_indices
from j4d.encoders.rd import (
    DEFAULT_LAMBDA,
    DEFAULT_LAMBDAS,
    DEFAULT_RULE,
    FRAMES,
    RDSettings,
    _compiled,
    analyze_rd,
    default_weights,
    encode_rd,
    energy_lambdas,
    rd_indices,
    rd_settings,
    write_indices_rd,
)
from j4d.errors import InvalidInputError
from j4d.jpegio import decode, load_image, parse_layout, read_coefficients, read_tables, to_batch
from j4d.jpegio.markers import segments
from j4d.tables import QuantTables

EOB, ZRL = 0x00, 0xF0


@pytest.fixture(scope="module")
def photo(kodak_files) -> np.ndarray:
    return load_image(kodak_files[1])[:72, :100]  # not a multiple of 8 wide


def _size(value: int) -> int:
    return int(abs(value)).bit_length()


def _symbol_counts(indices: np.ndarray) -> np.ndarray:
    """(2, 256) AC symbol counts (luma, chroma) of (3, B, 64) zig-zag indices."""
    counts = np.zeros((2, 256), np.int64)
    for component, blocks in enumerate(indices):
        table = min(component, 1)
        for block in blocks:
            last = 0
            for k in np.flatnonzero(block[1:]) + 1:
                run = k - last - 1
                counts[table, ZRL] += run >> 4
                counts[table, ((run & 15) << 4) | _size(block[k])] += 1
                last = k
            counts[table, EOB] += last < 63
    return counts


def _band_counts(blocks: np.ndarray) -> np.ndarray:
    """AC symbol counts of one component's first progressive AC scan (band 1..63): run/size
    and ZRL as in a baseline scan, blocks ending in zeros joined into EOB runs (EOBn: n = the
    run's bit length - 1, ITU T.81 G.1.2.2)."""
    counts, run = np.zeros(256, np.int64), 0

    def flush() -> None:
        nonlocal run
        if run:
            counts[(run.bit_length() - 1) << 4] += 1
            run = 0

    for block in blocks.astype(np.int64):
        last = 0
        for k in np.flatnonzero(block[1:]) + 1:
            flush()
            zeros = k - last - 1
            counts[0xF0] += zeros >> 4
            counts[((zeros & 15) << 4) | int(abs(block[k])).bit_length()] += 1
            last = k
        if last < 63:
            run += 1
            if run == 0x7FFF:
                flush()
    flush()
    return counts


def _prices(counts: np.ndarray) -> np.ndarray:
    """Code length of each AC symbol as the trellis prices it: an optimal table of the counts
    where every baseline symbol counts at least once."""
    smoothed = counts.copy()
    for symbol in [EOB, ZRL] + [(r << 4) | s for r in range(16) for s in range(1, 11)]:
        smoothed[symbol] = max(smoothed[symbol], 1)
    return np.frombuffer(_compiled().huffman_lengths(smoothed), np.uint8).astype(float)


def _block_bits(
    block: np.ndarray, lengths: np.ndarray, ends: tuple[float, float] | None = None
) -> float:
    """A block's AC bits; its end costs the EOB's code, or by ``ends`` (after a nonzero, in an
    all-zero block) as a progressive band prices it."""
    bits, last = 0.0, 0
    for k in np.flatnonzero(block[1:]) + 1:
        run = k - last - 1
        size = _size(block[k])
        bits += lengths[((run & 15) << 4) | size] + size + (run >> 4) * lengths[ZRL]
        last = k
    if last == 63:
        return bits
    return bits + (lengths[EOB] if ends is None else ends[int(last == 0)])


def _cost(block, y, q, w, mu, lengths, ends=None) -> float:
    return float(np.sum(w[1:] * (y[1:] - block[1:] * q[1:]) ** 2)) + mu * _block_bits(
        block, lengths, ends
    )


def _candidates(rounded: int) -> list[int]:
    """Plain rounding first, then 2^s - 1 for each smaller size s, largest first."""
    return [rounded] + [(1 << s) - 1 for s in range(_size(rounded) - 1, 0, -1)]


def _reference_block(y, q, w, mu, lengths) -> np.ndarray:
    """The trellis written plainly: every nonzero position from every earlier one (no pruning),
    the same candidates and tie rule (latest predecessor, larger magnitude)."""
    out = np.zeros(64, np.int64)
    best = {0: 0.0}  # cost to a last nonzero at j, excluding zeroed positions' distortion
    chosen, previous = {}, {}
    energy = w * y * y
    for i in range(1, 64):
        rounded = min(math.floor(abs(y[i]) / q[i] + 0.5), 1023)
        if rounded == 0:
            continue
        here = (math.inf, 0, 0)
        for value in _candidates(rounded):
            distortion = w[i] * (abs(y[i]) - value * q[i]) ** 2
            size = _size(value)
            for j in sorted(best, reverse=True):
                run = i - j - 1
                bits = lengths[((run & 15) << 4) | size] + size + (run >> 4) * lengths[ZRL]
                cost = best[j] + float(energy[j + 1 : i].sum()) + mu * bits + distortion
                if cost < here[0]:
                    here = (cost, j, value)
        best[i] = here[0]
        previous[i], chosen[i] = here[1], int(math.copysign(here[2], y[i]))
    ends = {
        j: best[j] + float(energy[j + 1 :].sum()) + (mu * lengths[EOB] if j < 63 else 0.0)
        for j in best
    }
    last = min(sorted(ends, reverse=True), key=lambda j: ends[j])
    while last > 0:
        out[last] = chosen[last]
        last = previous[last]
    return out


def _one_block_problem(rng, active: int) -> tuple[np.ndarray, QuantTables]:
    """(3, 1, 64) coefficients whose luma block has ``active`` AC positions that round to a
    nonzero index (chroma empty), and tables."""
    tables = QuantTables.from_quality(int(rng.integers(20, 90)))
    q = tables.to_array("zigzag")[0].astype(float)
    coefficients = np.zeros((3, 1, 64))
    coefficients[0, 0, 0] = 100.0
    positions = rng.choice(np.arange(1, 64), active, replace=False)
    magnitudes = rng.uniform(0.5, 4.5, active) * q[positions]
    coefficients[0, 0, positions] = magnitudes * rng.choice([-1, 1], active)
    return coefficients, tables


@pytest.mark.parametrize("seed", range(12))
def test_the_trellis_finds_the_brute_force_optimum_of_a_small_block(seed):
    rng = np.random.default_rng(seed)
    coefficients, tables = _one_block_problem(rng, int(rng.integers(1, 7)))
    settings = RDSettings(float(rng.choice([0.3, 1.0, 3.0])), default_weights(tables))
    y, q, w = coefficients[0, 0], tables.to_array("zigzag")[0], settings.weights[0]
    plain = np.sign(coefficients) * np.floor(
        np.abs(coefficients) / tables.to_array("zigzag")[[0, 1, 1]][:, None] + 0.5
    )
    lengths = _prices(_symbol_counts(plain.astype(np.int64))[0])
    got = rd_indices(coefficients, tables, settings, passes=1)[0, 0].astype(np.int64)
    positions = np.flatnonzero(plain[0, 0, 1:]) + 1
    choices = [[0, *_candidates(abs(int(plain[0, 0, k])))] for k in positions]
    best = math.inf
    for magnitudes in itertools.product(*choices):
        block = np.zeros(64, np.int64)
        block[positions] = np.array(magnitudes) * np.sign(y[positions]).astype(np.int64)
        best = min(best, _cost(block, y, q, w, settings.mu, lengths))
    assert _cost(got, y, q, w, settings.mu, lengths) == pytest.approx(best, rel=1e-12, abs=1e-9)


def _band_ends(band: np.ndarray, blocks: np.ndarray, lengths: np.ndarray) -> tuple[float, float]:
    """A progressive band's end-of-block prices in bits: after a nonzero, the mean code length
    of its EOB-run symbols (the block ends one run and starts one); in an all-zero block, its
    share of the runs' length bits."""
    runs = band[[n << 4 for n in range(15)]]
    code = float(np.sum(runs * lengths[[n << 4 for n in range(15)]]))
    length = float(np.sum(runs * np.arange(15)))
    empty = int(np.sum(~blocks[:, 1:].any(axis=1)))
    return code / runs.sum(), length / empty if empty else 0.0


@pytest.mark.parametrize("seed", range(8))
def test_priced_as_a_progressive_band_the_trellis_finds_the_brute_force_optimum(seed):
    rng = np.random.default_rng(200 + seed)
    tables = QuantTables.from_quality(int(rng.integers(20, 90)))
    q = tables.to_array("zigzag")[0].astype(float)
    blocks = 6
    coefficients = np.zeros((3, blocks, 64))
    for b in range(blocks):  # some blocks empty, some with a few coefficients
        active = int(rng.integers(0, 5))
        positions = rng.choice(np.arange(1, 64), active, replace=False)
        magnitudes = rng.uniform(0.5, 4.5, active) * q[positions]
        coefficients[0, b, positions] = magnitudes * rng.choice([-1, 1], active)
    settings = RDSettings(float(rng.choice([0.3, 1.0, 3.0])), default_weights(tables))
    plain = np.sign(coefficients) * np.floor(
        np.abs(coefficients) / tables.to_array("zigzag")[[0, 1, 1]][:, None] + 0.5
    )
    luma = plain[0].astype(np.int64)
    band = _band_counts(luma)
    smoothed = band.copy()
    for symbol in [EOB, ZRL] + [(r << 4) | s for r in range(16) for s in range(1, 11)]:
        smoothed[symbol] = max(smoothed[symbol], 1)
    lengths = np.frombuffer(_compiled().huffman_lengths(smoothed), np.uint8).astype(float)
    ends = _band_ends(band, luma, lengths)
    got = rd_indices(coefficients, tables, settings, passes=1, pricing="progressive")
    w = settings.weights[0]
    for b in range(blocks):
        y = coefficients[0, b]
        positions = np.flatnonzero(luma[b, 1:]) + 1
        choices = [[0, *_candidates(abs(int(luma[b, k])))] for k in positions]
        best = math.inf
        for magnitudes in itertools.product(*choices):
            block = np.zeros(64, np.int64)
            block[positions] = np.array(magnitudes) * np.sign(y[positions]).astype(np.int64)
            best = min(best, _cost(block, y, q, w, settings.mu, lengths, ends))
        cost = _cost(got[0, b].astype(np.int64), y, q, w, settings.mu, lengths, ends)
        assert cost == pytest.approx(best, rel=1e-12, abs=1e-9), b


def test_the_compiled_trellis_agrees_with_the_python_reference(photo):
    tables = QuantTables.from_quality(60)
    coefficients = analyze_rd(photo)[:, :40]
    for lam in (0.2, 1.0, 5.0):
        settings = RDSettings(lam, default_weights(tables))
        got = rd_indices(coefficients, tables, settings, passes=1).astype(np.int64)
        steps = tables.to_array("zigzag")[[0, 1, 1]].astype(float)
        plain = np.sign(coefficients) * np.floor(np.abs(coefficients) / steps[:, None] + 0.5)
        counts = _symbol_counts(plain.astype(np.int64))
        for component in range(3):
            lengths = _prices(counts[min(component, 1)])
            for block in range(coefficients.shape[1]):
                want = _reference_block(
                    coefficients[component, block],
                    steps[component],
                    settings.weights[component],
                    settings.mu,
                    lengths,
                )
                assert np.array_equal(got[component, block, 1:], want[1:]), (lam, component, block)


def test_with_the_rate_weighted_zero_the_indices_are_plain_rounding(photo):
    tables = QuantTables.from_quality(50)
    coefficients = analyze_rd(photo)
    steps = tables.to_array("zigzag")[[0, 1, 1]][:, None, :]
    plain = np.sign(coefficients) * np.floor(np.abs(coefficients) / steps + 0.5)
    got = rd_indices(coefficients, tables, RDSettings(math.inf, default_weights(tables)))
    assert np.array_equal(got, plain)
    # the same indices Pillow (libjpeg-turbo's integer DCT) writes, up to its rounding
    pillow = read_coefficients(encode_uniform(photo, tables)).stacked()
    assert np.mean(got == pillow) > 0.99


def test_the_analysis_is_the_codecs():
    rng = np.random.default_rng(3)
    image = smooth_image(rng, 37, 29)
    want = analyze.eager(to_batch(image).double())[0].numpy()
    assert np.allclose(analyze_rd(image), want, atol=1e-9)


def test_the_file_holds_exactly_the_chosen_indices_and_tables_and_decodes_as_libjpegs(photo):
    tables = QuantTables.from_quality(45)
    indices = rd_indices(analyze_rd(photo), tables, rd_settings(tables))
    height, width = photo.shape[:2]
    data = write_indices_rd(indices, tables, height, width, "baseline")
    assert read_tables(data) == tables
    assert np.array_equal(read_coefficients(data).stacked(), indices)
    assert parse_layout(data).frame == "baseline"
    libjpeg = write_indices(indices, tables, height, width)  # the same indices by libjpeg-turbo
    assert np.array_equal(decode(data), decode(libjpeg))
    # libjpeg's optimal Huffman tables: the same scan, bit for bit
    assert parse_layout(data).scan_bytes == parse_layout(libjpeg).scan_bytes
    assert data == encode_rd(photo, tables, frame="baseline")


def test_a_larger_lambda_spends_more_bits_and_keeps_more_of_the_image(photo):
    tables = QuantTables.from_quality(70)
    sizes, errors = [], []
    for lam in (0.1, 1.0, 10.0, math.inf):
        data = encode_rd(photo, tables, rd_settings(tables, lam))
        sizes.append(len(data))
        errors.append(float(np.mean((decode(data).astype(float) - photo) ** 2)))
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert errors == sorted(errors, reverse=True)


def test_per_block_weights_steer_the_bits(photo):
    tables = QuantTables.from_quality(80)
    coefficients = analyze_rd(photo)
    blocks = coefficients.shape[1]
    weights = np.broadcast_to(default_weights(tables)[:, None, :], (3, blocks, 64)).copy()
    weights[:, ::2] = 0.0  # even blocks: distortion is free, so every AC goes
    got = rd_indices(coefficients, tables, RDSettings(1.0, weights), passes=1)
    assert not got[:, ::2, 1:].any()
    # one pass prices bits by the plain indices' counts, so the other blocks' AC are as without
    same = rd_indices(coefficients, tables, RDSettings(1.0, default_weights(tables)), passes=1)
    assert np.array_equal(got[:, 1::2, 1:], same[:, 1::2, 1:]) and got[:, 1::2, 1:].any()


def test_settings_come_from_the_tables_file_and_bad_ones_are_one_line_errors(tmp_path, capsys):
    tables = QuantTables.from_quality(50)
    weights = np.linspace(1, 2, 192).reshape(3, 64)
    recorded = rd_settings(tables.with_meta(rd={"lambda": 3, "weights": weights.tolist()}))
    assert recorded.lam == 3 and np.array_equal(recorded.weights, weights)
    default = rd_settings(tables)  # no meta: mozjpeg's per-block rule at scale 1
    assert (default.rule, default.lam) == (DEFAULT_RULE, DEFAULT_LAMBDAS[DEFAULT_RULE])
    assert np.allclose(default.weights[0], 1 / tables.to_array("zigzag")[0] ** 2)
    # a lambda alone keeps the meaning it had before the rules: fixed
    assert rd_settings(tables.with_meta(rd={"lambda": 16})).rule == "fixed"
    assert rd_settings(tables, 8.0).rule == "fixed"
    assert rd_settings(tables.with_meta(rd={"rule": "fixed"})).lam == DEFAULT_LAMBDA
    image = tmp_path / "a.png"
    Image.fromarray(smooth_image(np.random.default_rng(0), 16, 16)).save(image)
    bad = [
        ({"lambda": -1}, "rd lambda must be > 0"),
        ({"lambda": "x"}, "rd lambda must be a number"),
        ({"weights": [[1] * 64] * 2}, "rd weights must have shape"),
        ({"weights": [[-1] * 64] * 3}, "finite and >= 0"),
        ({"lamda": 1}, "unknown keys: lamda"),
        ([1], "meta 'rd' must be an object"),
    ]
    for rd, message in bad:
        path = tmp_path / "t.json"
        document = json.loads(tables.to_json())
        path.write_text(json.dumps({**document, "meta": {"encoder": "rd", "rd": rd}}))
        with pytest.raises(InvalidInputError, match=message):
            rd_settings(QuantTables.load(path))
        assert main(["encode", "--tables", str(path), str(image), "-o", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err


def test_the_registry_encodes_with_the_tables_settings(photo):
    tables = QuantTables.from_quality(50).with_meta(encoder="rd", rd={"lambda": 0.5})
    assert encode_with(photo, tables) == encode_rd(photo, tables, rd_settings(tables, 0.5))
    assert encode_with(photo, tables, "rd") != encode_with(photo, tables.with_meta(rd={}), "rd")


def test_the_dc_chain_finds_the_brute_force_optimum():
    rng = np.random.default_rng(5)
    image = smooth_image(rng, 16, 24)  # 2 x 3 blocks
    tables = QuantTables.from_quality(30)
    coefficients = analyze_rd(image)
    settings = RDSettings(0.05, default_weights(tables))
    got = rd_indices(coefficients, tables, settings, passes=1)[0, :, 0].astype(np.int64)
    q = float(tables.to_array("zigzag")[0, 0])
    y = coefficients[0, :, 0]
    plain = (np.sign(y) * np.floor(np.abs(y) / q + 0.5)).astype(np.int64)
    counts = np.zeros(256, np.int64)
    for diff in np.diff(plain, prepend=0):
        counts[_size(diff)] += 1
    counts[:12] = np.maximum(counts[:12], 1)
    lengths = np.frombuffer(_compiled().huffman_lengths(counts), np.uint8).astype(float)

    def cost(values: np.ndarray) -> float:
        bits = sum(lengths[_size(d)] + _size(d) for d in np.diff(values, prepend=0))
        return float(np.sum(settings.weights[0, 0] * (y - values * q) ** 2) + settings.mu * bits)

    best = min(cost(plain + np.array(o)) for o in itertools.product((-1, 0, 1), repeat=len(y)))
    assert cost(got) == pytest.approx(best, rel=1e-12)
    assert cost(got) < cost(plain)  # the chain gains something here


def test_the_progressive_file_holds_the_same_indices_and_the_smaller_file_is_chosen(photo):
    tables = QuantTables.from_quality(30)
    indices = rd_indices(analyze_rd(photo), tables, rd_settings(tables))
    height, width = photo.shape[:2]
    files = {f: write_indices_rd(indices, tables, height, width, f) for f in FRAMES}
    assert parse_layout(files["progressive"]).frame == "progressive"
    assert read_tables(files["progressive"]) == tables
    assert np.array_equal(read_coefficients(files["progressive"]).stacked(), indices)
    assert np.array_equal(decode(files["progressive"]), decode(files["baseline"]))
    assert np.array_equal(libjpeg_decode(files["progressive"]), decode(files["baseline"]))
    assert files["smaller"] == min(files["baseline"], files["progressive"], key=len)
    with pytest.raises(InvalidInputError, match="frame must be one of"):
        write_indices_rd(indices, tables, height, width, "interlaced")


def test_the_energy_rule_is_mozjpegs_lambda_per_block(tmp_path, photo):
    """mozjpeg 4's lambda, 2^14.75 / (2^16.5 + mean of its integer DCT's 63 squared AC
    outputs), in rd's units: the same trellis with each block's weights scaled by it."""
    flat = np.zeros((1, 1, 64))
    assert energy_lambdas(flat)[0, 0] == pytest.approx(2**14.75 / 2**16.5 * 64)  # 19.03
    block = np.zeros((1, 1, 64))
    block[0, 0, 1:] = 8.0  # integer DCT outputs of 64: norm 4096
    assert energy_lambdas(block)[0, 0] == pytest.approx(2**14.75 * 64 / (2**16.5 + 64 * 64))
    tables = QuantTables.from_quality(40)
    coefficients = analyze_rd(photo)
    lambdas = energy_lambdas(coefficients)
    assert lambdas.shape == coefficients.shape[:2] and lambdas.max() <= 19.03
    explicit = default_weights(tables)[:, None, :] * lambdas[..., None]
    by_rule = RDSettings(1.5, default_weights(tables), "energy")
    by_hand = RDSettings(1.5, explicit)
    assert np.array_equal(
        rd_indices(coefficients, tables, by_rule), rd_indices(coefficients, tables, by_hand)
    )
    assert encode_rd(photo, tables, by_rule) == encode_rd(photo, tables, by_hand)
    path = tmp_path / "t.json"
    tables.with_meta(rd={"lambda": 1.5, "rule": "energy"}).save(path)
    assert rd_settings(QuantTables.load(path)).rule == "energy"
    tables.with_meta(rd={"rule": "loud"}).save(path)
    with pytest.raises(InvalidInputError, match="rd rule must be one of fixed, energy"):
        rd_settings(QuantTables.load(path))


def test_files_are_lean_one_table_segment_each_and_no_jfif(photo):
    """Nothing a decoder does not need: no APP0, both quantization tables in one DQT and all
    Huffman tables in one DHT, in either frame; libjpeg and Pillow read them alike."""
    tables = QuantTables.from_quality(30)
    indices = rd_indices(analyze_rd(photo), tables, rd_settings(tables))
    height, width = photo.shape[:2]
    for frame, sof, scans in (("baseline", 0xC0, 1), ("progressive", 0xC2, 4)):
        data = write_indices_rd(indices, tables, height, width, frame)
        markers = [segment.marker for segment in segments(data)]
        assert markers == [0xD8, 0xDB, sof, 0xC4] + [0xDA] * scans + [0xD9], frame
        assert np.array_equal(libjpeg_decode(data), decode(data))


def test_progressive_scans_pay_off_where_most_blocks_end_early(kodak_files):
    """EOB runs: at a low rate most blocks' AC bands are zero, and one run symbol codes many."""
    image = load_image(kodak_files[1])[:224, :224]
    tables = QuantTables.from_quality(10)
    indices = rd_indices(analyze_rd(image), tables, rd_settings(tables))
    sizes = {f: len(write_indices_rd(indices, tables, 224, 224, f)) for f in FRAMES}
    assert sizes["progressive"] < sizes["baseline"] == max(sizes.values())
