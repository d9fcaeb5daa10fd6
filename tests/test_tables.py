import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from j4d.encoders.reference import mozjpeg_quant_tables
from j4d.errors import InvalidInputError
from j4d.jpegio import read_tables
from j4d.tables import (
    ANNEX_K_CHROMA,
    ANNEX_K_LUMA,
    ZIGZAG,
    QuantTables,
    natural_to_zigzag,
    quality_scale,
    zigzag_to_natural,
)


def doc(luma, chroma):
    return json.dumps({"luma": luma, "chroma": chroma})


def test_zigzag_pinned_values():
    # ITU-T T.81 figure A.6: the first and last zig-zag positions in natural (row-major) order.
    assert ZIGZAG[:12].tolist() == [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25]
    assert ZIGZAG[-4:].tolist() == [47, 55, 62, 63]
    assert sorted(ZIGZAG.tolist()) == list(range(64))


def test_zigzag_round_trip_numpy_and_torch():
    values = np.arange(64) * 3
    assert np.array_equal(zigzag_to_natural(natural_to_zigzag(values)), values)
    tensor = torch.arange(128.0).view(2, 64)
    assert torch.equal(natural_to_zigzag(zigzag_to_natural(tensor)), tensor)


def test_quality_50_is_annex_k():
    tables = QuantTables.from_quality(50)
    assert tables.luma == ANNEX_K_LUMA and tables.chroma == ANNEX_K_CHROMA


def test_quality_scaling_formula_pinned():
    assert [quality_scale(q) for q in (1, 10, 49, 50, 75, 100)] == [5000, 500, 102, 100, 50, 0]
    assert QuantTables.from_quality(100).luma == (1,) * 64
    assert QuantTables.from_quality(1).luma == (255,) * 64  # clipped to baseline


def test_mozjpeg_tables_are_its_default_set_scaled_and_clipped():
    # mozjpeg's default set (jcparam.c, index 3, Klein-Silverstein-Carney): the same table for
    # luma and chroma; its first row at quality 50 (scale 100 %) and at 75 (50 %, floored)
    first_row = [16, 16, 16, 18, 25, 37, 56, 85]
    tables = mozjpeg_quant_tables(50)
    assert list(tables.luma[:8]) == first_row and tables.chroma == tables.luma
    assert list(mozjpeg_quant_tables(75).luma[:8]) == [(v * 50 + 50) // 100 for v in first_row]
    assert tables.meta == {"init": "mozjpeg50", "quality": 50}
    low = mozjpeg_quant_tables(10)  # mozjpeg writes steps above 255 here; baseline clips
    assert max(low.luma) == 255 and min(low.luma) == 80
    assert mozjpeg_quant_tables(100).luma == (1,) * 64


@pytest.mark.parametrize("quality", range(1, 101))
def test_quality_tables_equal_libjpeg(quality):
    image = Image.fromarray(np.full((8, 8, 3), 100, np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, subsampling=0)
    reference = read_tables(buffer.getvalue())
    ours = QuantTables.from_quality(quality)
    assert ours.luma == reference.luma
    assert ours.chroma == reference.chroma


def test_json_round_trip_keeps_meta(tmp_path):
    tables = QuantTables.from_quality(37).with_meta(model="resnet20", lam=0.01)
    path = tables.save(tmp_path / "t.json")
    loaded = QuantTables.load(path)
    assert loaded == tables
    assert loaded.meta["model"] == "resnet20" and loaded.meta["lam"] == 0.01
    document = json.loads(path.read_text())
    assert document["order"] == "natural" and len(document["luma"]) == 64


def test_json_zigzag_order_is_accepted(tmp_path):
    tables = QuantTables.from_quality(70)
    zz = tables.to_array("zigzag")
    text = json.dumps({"luma": zz[0].tolist(), "chroma": zz[1].tolist(), "order": "zigzag"})
    assert QuantTables.from_json(text) == tables


def test_cjpeg_round_trip(tmp_path):
    tables = QuantTables.from_quality(83)
    path = tables.save(tmp_path / "t.txt")
    assert QuantTables.load(path) == tables
    single = " ".join(map(str, tables.luma))  # one table: cjpeg uses it for every component
    assert QuantTables.from_cjpeg(single).chroma == tables.luma


def test_tensor_round_trip_rounds_and_clips():
    tables = QuantTables.from_quality(60)
    steps = tables.to_tensor("zigzag", torch.float64)
    assert QuantTables.from_tensor(steps + 0.3) == tables
    wild = torch.full((2, 64), 300.0)
    wild[0, 0] = -5
    clipped = QuantTables.from_tensor(wild)
    assert clipped.luma[0] == 1 and max(clipped.chroma) == 255


def test_pillow_qtables_round_trip():
    tables = QuantTables(tuple(range(1, 65)), tuple(range(200, 136, -1)))
    buffer = io.BytesIO()
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (16, 16, 3), np.uint8))
    image.save(buffer, "JPEG", qtables=tables.to_pillow(), subsampling=0)
    assert read_tables(buffer.getvalue()) == tables


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"luma": [1, 2], "chroma": []}', "64 entries"),
        (doc([0] * 64, [1] * 64), "outside [1, 255]"),
        (doc([1] * 64, [256] * 64), "outside [1, 255]"),
        (doc([1.5] * 64, [1] * 64), "integers"),
        ('{"luma": "abc", "chroma": []}', "list"),
        ('{"luma": [1]', "not valid JSON"),
        ("[]", "needs 'luma'"),
    ],
)
def test_bad_json_tables_name_the_file(tmp_path, text, problem):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InvalidInputError) as error:
        QuantTables.load(path)
    message = str(error.value)
    assert str(path) in message and problem in message and "\n" not in message


def test_bad_cjpeg_and_missing_file(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("1 2 3\n")
    with pytest.raises(InvalidInputError, match="64 or 128 numbers"):
        QuantTables.load(path)
    with pytest.raises(InvalidInputError, match="not found"):
        QuantTables.load(tmp_path / "missing.json")
    with pytest.raises(InvalidInputError, match=r"1\.\.100"):
        QuantTables.from_quality(0)
