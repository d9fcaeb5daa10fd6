"""Where the Google method's gradients reach a trained run's luma steps (issue 14).

For 16 ImageNet validation images (one per class, preprocessed as `j4d eval` does), the run's
final tables and density: per luma frequency, the share of indices whose likelihood sits at
CompressAI's lower bound (where the rate has no gradient), d(bpp)/d(step), and the
distillation loss's (T = 10) d(loss)/d(step). Reads the run's checkpoint (kept by `j4d sweep`,
not committed: rerun the sweep of `run_all.sh` step 22 first). Usage, from the repository root:
python results/imagenet-baselines/google_gradients.py RUN_DIR > RUN_DIR/../../gradients_<run>.txt
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

from j4d.codec import JPEGCodec
from j4d.data import default_data_root
from j4d.data.testset import load_test_images
from j4d.models.registry import create_model
from j4d.tables import QuantTables, zigzag_to_natural
from j4d.tasks.base import UNLABELED
from j4d.tasks.objective import task_loss
from j4d.train.methods import Google, _round_trip


def luma_gradient(codec: JPEGCodec, loss: torch.Tensor) -> np.ndarray:
    codec.tables.grad = None
    loss.backward(retain_graph=True)  # the rate and the task share one round trip
    return zigzag_to_natural(codec.tables.grad[0].numpy())


def main(run: Path) -> None:
    images = load_test_images(default_data_root() / "imagenet-val", 224, 16).images.float()
    method = Google()
    method.load_state_dict(torch.load(run / "checkpoint.pt", weights_only=False)["method"])
    codec = JPEGCodec(QuantTables.load(run / "tables.json"), learn_tables=True)
    reconstruction, indices = _round_trip(codec, images, method.google.cubic_round)
    bound = method.rate.density.likelihood_lower_bound.bound
    at_bound = (method.rate.likelihoods(indices) <= bound).float().mean(-1).reshape(3, 64)
    at_bound = zigzag_to_natural(at_bound[0].detach().numpy())
    bpp = method.rate.bpp(indices, images[0, 0].numel()).mean()
    rate = luma_gradient(codec, bpp)
    labels = torch.full((len(images),), UNLABELED)
    loss, _ = task_loss(
        [create_model("mobilenet_v2")], reconstruction, images, labels, "distillation", 10.0
    )
    task = luma_gradient(codec, loss)
    lam = json.loads((run / "config.json").read_text())["settings"]["lam"]
    steps = zigzag_to_natural(codec.steps()[0].detach().numpy()).round().astype(int)
    print(f"{run}: lambda {lam}, estimated {bpp.item():.3f} bpp on {len(images)} crops")
    print(f"share of luma likelihoods at the lower bound: max {at_bound.max():.4f}")
    print("frequency  step  d(task)/dq  lambda*d(bpp)/dq")
    for i in np.argsort(steps):
        print(f"{divmod(int(i), 8)!s:>9} {steps[i]:5d} {task[i]:11.2e} {lam * rate[i]:14.2e}")
    small = steps <= 3
    for name, where in (("steps <= 3", small), ("steps > 3", ~small)):
        print(
            f"{name}: median |d(task)/dq| {np.median(np.abs(task[where])):.2e}, "
            f"median |lambda*d(bpp)/dq| {np.median(np.abs(lam * rate[where])):.2e}"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
