"""Photos at their own size: the model's view (its exact preprocessing), crops of stored photos
for training at a scale, the view in the training loss, and real-file measurement of whole
photos (with the resize-first anchor)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms

from conftest import smooth_image
from j4d.cli import EXIT_BAD_INPUT, main
from j4d.cli.training_options import make_setup
from j4d.data.folders import UnlabeledCrops, resize_side
from j4d.data.testset import TestImages, load_photos, photo_label
from j4d.encoders import encode_quality
from j4d.encoders.registry import encoder_of, get_encoder
from j4d.encoders.view import OUTSIDE, view_block_factors, view_region
from j4d.errors import InvalidInputError
from j4d.evaluation.report import measurement_meta, reading_task
from j4d.jpegio import decode, load_image
from j4d.jpegio.images import shrink_to_short_side
from j4d.models import create_model, model_view
from j4d.tables import QuantTables
from j4d.tasks.base import UNLABELED
from j4d.tasks.objective import task_loss
from j4d.train import TrainConfig, train_tables
from j4d.utils.files import read_csv
from j4d.zoo import PerScaleEncoder, ZooChoice, ZooEntry, nearest, zoo_choice, zoo_entries

PHOTO = "n01440764_tench.JPEG"  # 500x375: the ImageNet photo size users store most


@pytest.fixture(scope="module")
def mobilenet(data_root: Path) -> torch.nn.Module:
    return create_model("mobilenet_v2", data_root=data_root)


@pytest.mark.parametrize("name", ["kodak24/kodim05.png", f"imagenet-samples/{PHOTO}"])
def test_model_view_is_torchvisions_resize_and_centre_crop(data_root, mobilenet, name):
    photo = Image.open(data_root / name).convert("RGB")
    pipeline = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])
    expected = torch.from_numpy(np.asarray(pipeline(photo)).astype(np.float64)).permute(2, 0, 1)
    pixels = torch.from_numpy(np.asarray(photo).copy()).permute(2, 0, 1)[None]
    # evaluation reads the decoded uint8 photo: PIL's bytes to within one level, almost all equal
    seen = model_view(mobilenet, pixels)[0].double()
    assert seen.shape == (3, 224, 224)
    assert (seen - expected).abs().max() <= 1 and (seen - expected).abs().mean() < 0.01
    # training reads the float reconstruction: the same values before PIL's rounding
    seen_float = model_view(mobilenet, pixels.float())[0].double()
    assert (seen_float - expected).abs().max() <= 1.0
    assert 0.2 < (seen_float - expected).abs().mean() < 0.35  # rounding's 1/4, not a shift


def _photos(folder: Path, rng, sizes: list[tuple[int, int]]) -> Path:
    folder.mkdir(parents=True)
    for index, (height, width) in enumerate(sizes):
        Image.fromarray(smooth_image(rng, height, width)).save(folder / f"p{index}.png")
    return folder


def test_crops_at_a_scale_are_the_stored_photos_short_side(tmp_path, rng):
    folder = _photos(tmp_path / "photos", rng, [(30, 40), (12, 40), (50, 36)])
    crops = UnlabeledCrops([folder], 8, crops=6, seed=3, scale=3.0)  # 8 -> short side 24
    assert resize_side(8) == 8 and crops.stored_side == 24
    assert [p.name for p in crops.too_small] == ["p1.png"]  # 12 < 24: never upsampled
    images = [crops[i][0] for i in range(6)]
    assert {tuple(image.shape) for image in images} == {(3, 24, 24)}
    again = UnlabeledCrops([folder], 8, crops=6, seed=3, scale=3.0)
    assert all(torch.equal(a, again[i][0]) for i, a in enumerate(images))
    with pytest.raises(InvalidInputError, match="short side of 120 pixels or more"):
        UnlabeledCrops([folder], 8, crops=2, scale=15.0)
    with pytest.raises(InvalidInputError, match="scale must be >= 1"):
        UnlabeledCrops([folder], 8, crops=2, scale=0.5)


def test_scale_settings_are_checked(data_root):
    with pytest.raises(InvalidInputError, match="scale must be >= 1"):
        TrainConfig(scale=0.9)
    with pytest.raises(InvalidInputError, match="start from qf:Q"):
        TrainConfig(scale=1.5, init="sensitivity:5")
    options = {
        "data_root": data_root,
        "model_specs": ("resnet20",),
        "train_dir": None,
        "unlabeled_dirs": (),
        "seed": 0,
        "val_size": 10,
        "device": "cpu",
        "scale": 2.0,
    }
    with pytest.raises(InvalidInputError, match="--scale applies to --unlabeled photos"):
        make_setup(options)


class _ShapeProbe(torch.nn.Module):
    """A linear 'classifier' that records the size of what it reads."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.input_size, self.task = model.input_size, model.task
        self.seen: list[tuple[int, ...]] = []

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.seen.append(tuple(images.shape[-2:]))
        return self.model(images)


def test_the_training_loss_reads_the_decoded_crop_through_the_view(mobilenet, data_root):
    probe = _ShapeProbe(mobilenet)
    photo = torch.from_numpy(load_image(data_root / "imagenet-samples" / PHOTO).copy())
    crop = photo.permute(2, 0, 1)[None, :, :375, :375].float()  # a stored-size square
    noisy = (crop + torch.randn_like(crop) * 8).requires_grad_(True)
    labels = torch.tensor([UNLABELED])
    loss, _ = task_loss([probe], noisy, crop, labels, "distillation", 10.0, view=model_view)
    assert probe.seen == [(224, 224), (224, 224)]
    (gradient,) = torch.autograd.grad(loss, noisy)
    # the view keeps the centre 224/256 of the short side: no gradient reaches the margin
    margin = round(375 * (256 - 224) / 2 / 256) - 2
    assert (
        gradient[..., :margin, :].abs().max() == 0 and gradient[..., -margin:, :].abs().max() == 0
    )
    assert gradient[..., 150:220, 150:220].abs().sum() > 0


def test_tables_learned_at_a_scale_record_it(mobilenet, data_root, tmp_path):
    crops = UnlabeledCrops([data_root / "kodak24"], 224, crops=2, seed=0, scale=1.5)
    assert crops[0][0].shape == (3, 384, 384)
    config = TrainConfig(lam=1.0, init="qf:50", epochs=1, batch_size=2, scale=1.5)
    result = train_tables(mobilenet, crops, config, run_dir=tmp_path / "run", progress=False)
    meta = json.loads((tmp_path / "run" / "tables.json").read_text())["meta"]
    assert meta["scale"] == 1.5
    assert meta["view"] == {"resize": 256, "crop": 224, "stored_short_side": 384}
    start = QuantTables.from_quality(50).to_array()
    assert not np.array_equal(result.tables.to_array(), start)  # one step moved them
    plain = TrainConfig(lam=1.0, init="qf:50", epochs=1, batch_size=2)
    flat = UnlabeledCrops([data_root / "kodak24"], 224, crops=2, seed=0)
    assert "scale" not in train_tables(mobilenet, flat, plain, progress=False).tables.meta


def test_unlabeled_photos_are_top1_misses_and_read_by_agreement(mobilenet):
    """What --own-size's help says: a photo without a label counts as a miss in top-1, so a
    folder without labels is read by agreement."""
    task = mobilenet.task
    predictions = torch.tensor([[3, 1, 2, 4, 5], [7, 3, 8, 9, 0], [2, 5, 6, 7, 8]])
    labels = torch.tensor([3, UNLABELED, 5])
    scores = task.score(predictions, labels, predictions)
    assert scores["top1"] == pytest.approx(1 / 3) and scores["top5"] == pytest.approx(2 / 3)
    assert scores["agreement"] == 1.0


def test_a_folder_without_labels_is_read_by_agreement(mobilenet):
    photos = [torch.zeros(3, 8, 8, dtype=torch.uint8)] * 2
    unlabeled = TestImages(photos, torch.tensor([UNLABELED, UNLABELED]), "photos")
    task = reading_task(mobilenet, unlabeled)
    assert task.primary == "agreement" and mobilenet.task.primary == "top1"
    assert measurement_meta("m", unlabeled, task)["metric"].startswith("agreement")
    labeled = TestImages(photos, torch.tensor([UNLABELED, 3]), "photos")
    assert reading_task(mobilenet, labeled).primary == "top1"
    assert "metric" not in measurement_meta("m", labeled, reading_task(mobilenet, labeled))
    with pytest.raises(ValueError, match="no metric"):
        mobilenet.task.read_by("miou")


def test_photo_labels_come_from_imagenet_names_or_folders(tmp_path):
    classes = ["n01440764", "n01443537"]
    assert photo_label(Path("x/n01443537_goldfish.JPEG"), classes) == 1
    assert photo_label(Path("n01440764/anything.jpg"), classes) == 0
    assert photo_label(Path("coco/000000000009.jpg"), classes) == UNLABELED
    assert photo_label(Path("n01440764_tench.JPEG"), None) == UNLABELED
    with pytest.raises(InvalidInputError, match="photo folder not found"):
        load_photos(tmp_path / "missing")


def test_eval_measures_whole_photos_and_the_resize_first_anchor(data_root, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    names = [PHOTO, "n01491361_tiger_shark.JPEG", "n01498041_stingray.JPEG"]
    for name in names:
        (folder / name).write_bytes((data_root / "imagenet-samples" / name).read_bytes())
    (folder / "unlabeled.png").write_bytes((data_root / "kodak24" / "kodim05.png").read_bytes())
    out = tmp_path / "out"
    args = ["eval", "-m", "mobilenet_v2", "--data", str(data_root), "--test", str(folder)]
    args += ["--own-size", "--resize-first", "--qualities", "30,80", "-q", "-o", str(out)]
    assert main(args) == 0
    rows = {row["name"]: row for row in read_csv(out / "points.csv")}
    photos = [load_image(folder / name) for name in sorted(n for n in [*names, "unlabeled.png"])]
    for quality in (30, 80):
        whole = [8 * len(encode_quality(p, quality)) / p.shape[0] / p.shape[1] for p in photos]
        small = [
            8 * len(encode_quality(shrink_to_short_side(p, 256), quality)) / p.shape[0] / p.shape[1]
            for p in photos
        ]
        assert float(rows[f"jpeg_q{quality}"]["file_bpp"]) == pytest.approx(np.mean(whole))
        resized = rows[f"jpeg_q{quality}_resized256"]
        assert float(resized["file_bpp"]) == pytest.approx(np.mean(small))
        assert resized["psnr"] in ("", "nan")  # the file holds another size
    assert float(rows["jpeg_q80"]["agreement"]) >= 0.75
    assert "4 images at their own size" in (out / "summary.md").read_text()


def test_own_size_options_are_checked(data_root, tmp_path, capsys):
    base = ["eval", "-m", "mobilenet_v2", "--data", str(data_root), "-o", str(tmp_path / "out")]
    assert main([*base, "--resize-first"]) == EXIT_BAD_INPUT
    assert "--resize-first applies with --own-size" in capsys.readouterr().err
    assert main([*base, "--own-size"]) == EXIT_BAD_INPUT
    assert "are measured on --test FOLDER" in capsys.readouterr().err


def test_encode_resize_to_stores_what_torchvisions_resize_gives(data_root, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "big.jpg").write_bytes((data_root / "imagenet-samples" / PHOTO).read_bytes())
    small = smooth_image(np.random.default_rng(0), 200, 300)
    Image.fromarray(small).save(folder / "small.png")
    out = tmp_path / "out"
    assert main(["encode", str(folder), "--qf", "95", "--resize-to", "256", "-o", str(out)]) == 0
    with Image.open(out / "big.jpg") as stored:
        assert stored.size == (341, 256)  # 500x375: torchvision's int(256 * 500 / 375)
        pixels = np.asarray(stored.convert("RGB")).astype(int)
    with Image.open(folder / "big.jpg") as photo:
        expected = np.asarray(transforms.Resize(256)(photo.convert("RGB"))).astype(int)
    assert np.abs(pixels - expected).mean() < 2  # q95's error on the very pixels torchvision makes
    with Image.open(out / "small.jpg") as kept:
        assert kept.size == (300, 200)  # never upsampled


def _entry(scale: float, name: str) -> ZooEntry:
    model = "m" if scale == 1 else f"m@{scale:g}"
    return ZooEntry(model, name, Path(name), 1, 1, "top1", 0.5, None, 1, "", "pillow", {}, scale)


def test_per_scale_choice_takes_the_scale_nearest_each_images_own():
    choice = ZooChoice("zoo:m@1bpp", (_entry(1, "crop"), _entry(1.5, "photo")), resize=256)
    assert choice.pick(224, 224).name == "crop"
    assert choice.pick(227, 227).name == "crop"  # imagenet-val's 227: scale 0.89
    assert choice.pick(375, 500).name == "photo"  # 1.46
    assert choice.pick(320, 480).name == "photo"  # 1.25: nearer 1.5 than 1 in ratio
    assert choice.pick(300, 300).name == "crop"  # 1.17
    assert choice.pick(3024, 4032).name == "photo"  # beyond the largest scale: the largest
    assert [choice.pick(375, 500).name for _ in range(3)] == ["photo"] * 3


@pytest.mark.parametrize(
    "spec",
    [
        "zoo:",
        "zoo:mobilenet_v2",
        "zoo:mobilenet_v2@",
        "zoo:mobilenet_v2@1",
        "zoo:@1bpp",
        "zoo:mobilenet_v2@within",
        "zoo:mobilenet_v2@-1bpp",
        "zoo:mobilenet_v2@1bpp@2",
        "zoo:mobilenet_v2@lam",
        "zoo:mobilenet_v2@lam-1",
    ],
)
def test_bad_zoo_choices_are_one_line_errors(spec):
    with pytest.raises(InvalidInputError, match="zoo:MODEL@<B>bpp"):
        zoo_choice(spec)


def test_a_choice_by_lambda_takes_each_scales_entry_learned_nearest_it():
    """One training lambda at every scale: the entry whose meta lambda is nearest in ratio."""
    for lam in (0.03, 1.0, 10.0):
        choice = zoo_choice(f"zoo:mobilenet_v2@lam{lam:g}")
        assert [e.scale for e in choice.entries] == [1.0, 1.5]
        for entry in choice.entries:
            learned = {e.load().meta["lambda"] for e in zoo_entries(entry.model)}
            nearest_value = min(learned, key=lambda value: abs(np.log(value / lam)))
            assert entry.load().meta["lambda"] == nearest_value
    assert zoo_choice("zoo:mobilenet_v2@lam0.3") == zoo_choice("zoo:mobilenet_v2@lam0.3")


def test_zoo_choice_of_an_unknown_model_names_the_zoo():
    with pytest.raises(InvalidInputError, match="no zoo tables for model 'nope'"):
        zoo_choice("zoo:nope@1bpp")


def test_a_zoo_choice_of_one_scale_is_the_tables_file_it_names(data_root, tmp_path):
    """A model with no tables at other scales: every image takes the entry --bpp names."""
    choice = zoo_choice("zoo:resnet20@1bpp")
    assert len(choice.entries) == 1
    assert choice.entries[0] == nearest("resnet20", 1.0, "file_bpp")
    image = smooth_image(np.random.default_rng(0), 32, 32)
    tables = choice.entries[0].load()
    assert PerScaleEncoder(choice)(image) == encoder_of(tables).encode(image, tables)


def test_the_view_region_holds_every_pixel_the_models_view_reads(data_root, mobilenet):
    photo = load_image(data_root / "imagenet-samples" / PHOTO)  # 500x375
    top, bottom, left, right = view_region(*photo.shape[:2], 256, 224)
    changed = photo.copy()
    rows, columns = np.mgrid[: photo.shape[0], : photo.shape[1]]
    outside = (rows < int(top)) | (rows >= np.ceil(bottom)) | (columns < int(left))
    outside |= columns >= np.ceil(right)
    changed[outside] = 255 - changed[outside]
    assert outside.mean() > 0.35  # most of the margin is outside
    views = [
        model_view(mobilenet, torch.from_numpy(p.copy()).permute(2, 0, 1)[None].float())
        for p in (photo, changed)
    ]
    assert torch.equal(views[0], views[1])


def test_rd_view_spends_less_outside_the_view_and_nothing_changes_at_the_crop_size(data_root):
    photo = load_image(data_root / "imagenet-samples" / PHOTO)
    tables = QuantTables.from_quality(50)
    plain, viewed = (get_encoder(name).encode(photo, tables) for name in ("rd", "rd-view"))
    assert len(viewed) < 0.9 * len(plain)
    decoded = decode(viewed).astype(int)
    top, bottom, left, right = (int(v) for v in view_region(375, 500, 256, 224))
    inner = (slice(top + 16, bottom - 16), slice(left + 16, right - 16))
    plain_error = np.abs(decode(plain).astype(int) - photo)[inner].mean()
    assert np.abs(decoded - photo)[inner].mean() == pytest.approx(plain_error, rel=0.05)
    crop = np.ascontiguousarray(photo[:224, :224])
    assert get_encoder("rd-view").encode(crop, tables) == get_encoder("rd").encode(crop, tables)
    factors = view_block_factors(375, 500, 256, 224)
    assert factors.shape == (47 * 63,) and factors.min() == OUTSIDE and factors.max() == 1
    with pytest.raises(InvalidInputError, match="meta 'view' needs"):
        get_encoder("rd-view").encode(photo, tables.with_meta(view={"resize": 200, "crop": 224}))


def test_a_sweep_at_a_scale_learns_on_stored_crops_and_measures_whole_photos(
    data_root, tmp_path, rng
):
    train = _photos(tmp_path / "train", rng, [(64, 80), (70, 64), (40, 50)])
    test = _photos(tmp_path / "test", rng, [(64, 96), (72, 64)])
    out = tmp_path / "sweep"
    args = ["sweep", "-m", "resnet20", "--data", str(data_root), "--unlabeled", str(train)]
    args += ["--scale", "2", "--unlabeled-crops", "4", "--batch-size", "2", "--epochs", "1"]
    args += ["--lams", "1", "--qualities", "20,80", "-q", "-o", str(out)]
    assert main(args) == EXIT_BAD_INPUT  # whole photos to measure on: --test is needed
    assert main([*args, "--test", str(test)]) == 0
    config = json.loads((out / "runs" / "qf50_lam1" / "config.json").read_text())
    assert config["stored_short_side"] == 64 and config["unlabeled_images"] == 2  # 40 < 64
    rows = {row["name"]: row for row in read_csv(out / "points.csv")}
    assert rows["qf50_lam1"]["method"] == "j4d@2"
    assert "2 images at their own size" in (out / "summary.md").read_text()


def test_encode_picks_each_images_zoo_tables_by_its_scale(data_root, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "photo.jpg").write_bytes((data_root / "imagenet-samples" / PHOTO).read_bytes())
    crop = load_image(data_root / "imagenet-samples" / PHOTO)[:224, :224]
    Image.fromarray(crop).save(folder / "crop.png")
    out = tmp_path / "out"
    spec = "zoo:mobilenet_v2@within4"
    assert main(["encode", str(folder), "--tables", spec, "--strip", "-o", str(out)]) == 0
    listing = capsys.readouterr().out
    choice = zoo_choice(spec)
    assert [e.scale for e in choice.entries] == [1.0, 1.5]
    for name, image, entry in (
        ("crop", crop, choice.entries[0]),
        ("photo", load_image(folder / "photo.jpg"), choice.entries[1]),
    ):
        line = next(line for line in listing.splitlines() if f"{name}.jpg" in line)
        assert line.endswith(f"{entry.model}/{entry.name}")
        tables = entry.load()
        expected = encoder_of(tables).encode(image, tables)
        assert (out / f"{name}.jpg").read_bytes() == expected
