"""Training across processes: ``torchrun --nproc-per-node N -m j4d train ...``.

Each global batch (``--batch-size`` images, drawn as in one process) is split into N shards,
one per process. The objective is the single-process objective of the global batch:

* the task loss of shard ``r`` is weighted by its share ``n_r / n`` of the batch;
* j4d's rate is an entropy of marginals, which do not add up over shards: each process scatters
  its CPMFs into the histograms, one all-reduce sums them (:class:`_SumOverProcesses`), and
  every process takes the entropy of the global marginals. The backward all-reduces the
  histograms' gradients, so each process weights the rate by ``1 / N`` to count it once;
* per-image rates (AutoJPEG, Google) are weighted like the task loss;
* the gradients of the tables (and of a peer's density model) are summed over the processes
  before the Adam step, so every process takes the same step.

Process 0 alone validates, writes checkpoints, history and tables. Batches and checkpoints
count global batches, so ``--resume`` continues with the same or another number of processes.
gloo on the CPU, NCCL on CUDA; ``torch.distributed`` as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from j4d.errors import InvalidInputError
from j4d.utils.processes import launched_with_several_processes


def refuse_several_processes(command: str, why: str) -> None:
    """A clear error for commands that run in one process only."""
    if launched_with_several_processes():
        raise InvalidInputError(
            f"j4d {command} runs in one process ({why}); start it without torchrun"
        )


class _SumOverProcesses(torch.autograd.Function):
    """All-reduce (sum) whose backward all-reduces the gradient: every process's output is the
    same sum, so each input's gradient is the sum of all outputs' gradients.
    (``torch.distributed.nn.functional.all_reduce`` does this but is deprecated in torch 2.14,
    its successor private.)"""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        total = tensor.clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        total = grad.contiguous().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total


@dataclass(frozen=True)
class Processes:
    """This process's place among those training together (one process: rank 0 of 1)."""

    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @classmethod
    def join(cls, device: torch.device) -> Processes:
        """Join the process group torchrun set up in the environment (gloo on the CPU, NCCL on
        CUDA, where ``device`` is this process's GPU); one process when there is none."""
        if not launched_with_several_processes():
            return cls(device=device)
        if device.type == "cuda":
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return cls(dist.get_rank(), dist.get_world_size(), device)

    def leave(self) -> None:
        """Leave the process group (at the end of the command)."""
        if self.several and dist.is_initialized():
            dist.destroy_process_group()

    @property
    def several(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """Process 0: the one that validates and writes."""
        return self.rank == 0

    def shard(self, batch: list[int]) -> list[int]:
        """This process's images of a global batch (every N-th, from the rank)."""
        return batch[self.rank :: self.world]

    def shard_tensor(self, batch: torch.Tensor) -> torch.Tensor:
        """This process's rows of a global batch tensor (as :meth:`shard`)."""
        return batch[self.rank :: self.world]

    def check_batches(self, sizes: Iterable[int]) -> None:
        smallest = min(sizes)
        if smallest < self.world:
            raise InvalidInputError(
                f"a batch of {smallest} images cannot be split over {self.world} processes "
                "(raise --batch-size or use fewer processes)"
            )

    # -- MarginalPool (j4d.rate.entropy) --------------------------------------------------
    def sum(self, histogram: torch.Tensor) -> torch.Tensor:
        return _SumOverProcesses.apply(histogram)

    def span(self, low: int, high: int) -> tuple[int, int]:
        bounds = torch.tensor([-low, high], dtype=torch.int64, device=self.device)
        dist.all_reduce(bounds, op=dist.ReduceOp.MAX)
        return -int(bounds[0]), int(bounds[1])

    # -- the step ----------------------------------------------------------------------------
    def sum_gradients(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """Sum each parameter's gradient over the processes (in place)."""
        if not self.several:
            return
        for parameter in parameters:
            if parameter.grad is not None:
                dist.all_reduce(parameter.grad, op=dist.ReduceOp.SUM)

    def total(self, values: torch.Tensor) -> torch.Tensor:
        """Sum of a (detached) tensor over the processes."""
        if self.several:
            values = values.clone()
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values
