"""The ``j4d`` command line. ``main(argv)`` runs it and returns the exit status (tests call it).

Every command reports bad input as one line on stderr (``j4d: error: FILE: problem``) and
exits with status 2; a bug still shows its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from j4d._version import __version__
from j4d.errors import J4DError

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


#: Commands that share their work over torchrun's processes; the others run in one.
DISTRIBUTED_COMMANDS = ("train",)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="j4d")
@click.pass_context
def cli(context: click.Context) -> None:
    """j4d: JPEG quantization tables learned for machine vision."""
    if context.invoked_subcommand not in DISTRIBUTED_COMMANDS:
        from j4d.train.distributed import refuse_several_processes

        refuse_several_processes(
            str(context.invoked_subcommand),
            "only `j4d train` shares its batches over processes: run a sweep's points as "
            "`j4d train` runs under torchrun",
        )


def report_error(message: str) -> None:
    click.echo(f"j4d: error: {message}", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    _register_commands()
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="j4d", standalone_mode=False
        )
    except J4DError as error:
        report_error(str(error))
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


_registered: list[bool] = []


def _register_commands() -> None:
    if _registered:
        return
    from j4d.cli import (
        compare,
        demo,
        encode,
        evaluate,
        inspect,
        ratecheck,
        sensitivity,
        sweep,
        tables,
        train,
    )

    modules = (
        tables,
        encode,
        inspect,
        sensitivity,
        train,
        sweep,
        evaluate,
        compare,
        ratecheck,
        demo,
    )
    for module in modules:
        cli.add_command(module.command)
    _registered.append(True)
