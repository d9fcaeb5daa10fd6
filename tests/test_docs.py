"""The README and docs/ say what the code does: a short README whose results table is generated
from the committed summaries, links that resolve, commands and options that exist, Python
examples that run as pasted."""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from pathlib import Path

import click
import pytest

from j4d.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)


def _blocks(page: Path, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(page.read_text()) if lang == language]


def _tables_module():
    spec = importlib.util.spec_from_file_location(
        "results_tables", ROOT / "scripts" / "results_tables.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


#: a decimal figure in prose (not part of a name, path or version)
FIGURE = re.compile(r"(?<![\w.])[-+]?\d+\.\d+(?![\w.])")
GENERATED = re.compile(r"<!-- results:[^>]*:start -->.*?<!-- results:[^>]*:end -->", re.DOTALL)
#: sources every page may quote: the models' own accuracies, the zoo's references
SHARED_SOURCES = [
    ROOT / "results" / "models" / "accuracy.json",
    ROOT / "src" / "j4d" / "zoo" / "references.json",
]


def _source_values(files: list[Path]) -> set[str]:
    """Every number in ``files`` as it may be quoted: rounded to 0-4 decimals, as a fraction or
    a percentage, without its sign."""
    values = set()
    for path in files:
        for token in re.findall(r"\d*\.?\d+(?:[eE][-+]?\d+)?", path.read_text(errors="ignore")):
            value = float(token)
            for scaled in (value, 100 * value):
                values.update(f"{scaled:.{digits}f}" for digits in range(5))
    return values


def _cited_sources(text: str) -> list[Path]:
    files = []
    for cited in set(re.findall(r"results/([\w.\-/]+)", text)):
        path = ROOT / "results" / cited.rstrip("/.")
        found = sorted(path.rglob("*")) if path.is_dir() else [path] if path.is_file() else []
        files += [
            f
            for f in found
            if f.suffix in (".md", ".json", ".csv", ".jsonl") and "cache" not in f.parts
        ]
    return files


@pytest.mark.parametrize(
    "page",
    [
        ROOT / "README.md",
        ROOT / "docs" / "guide.md",
        ROOT / "docs" / "encoders.md",
        *sorted((ROOT / "docs" / "results").glob("*.md")),
    ],
    ids=lambda p: p.name,
)
def test_every_figure_a_page_quotes_is_in_a_result_it_cites(page):
    """Outside generated tables and code, each decimal figure a page states appears, at its
    rounding (or as a percentage), in a result folder the page names or in the models' own
    accuracies: a figure typed by hand that no measurement holds, or one its result no longer
    holds after a rerun, fails. Figures quoted from publications say so ("published"). The
    sources are matched loosely (any number of a cited folder), so this catches typos and stale
    figures, not a figure quoted from the wrong row."""
    text = FENCE.sub("", GENERATED.sub("", page.read_text()))
    values = _source_values(_cited_sources(text) + SHARED_SOURCES)
    stray = [
        figure.group()
        for figure in FIGURE.finditer(text)
        if figure.group().lstrip("+-") not in values
        and "published" not in text[max(0, figure.start() - 80) : figure.start()]
        and not text[: figure.start()].endswith("Python ")  # a version, not a figure
    ]
    assert not stray, f"{page.name}: figures in no result it cites: {stray}"


def test_readme_is_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_results_tables_are_the_summaries():
    module = _tables_module()
    for name, table in module.TABLES.items():
        page = (ROOT / table.page).read_text()
        assert table.render(name) in page, (
            f"{table.page}: run python scripts/results_tables.py --write"
        )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(page):
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
        if re.match(r"[a-z]+://", target):
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def _command_lines(page: Path) -> list[list[str]]:
    """Every ``j4d ...`` command of the page's bash blocks, split into words, comments off."""
    commands = []
    for body in _blocks(page, "bash"):
        for line in body.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith("torchrun"):
                line = "j4d " + line.split(" -m j4d ", 1)[1] if " -m j4d " in line else ""
            if line.startswith("j4d "):
                commands.append(shlex.split(line.replace("...", "")))
    return commands


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_commands_and_options_exist(page):
    context = click.Context(cli)
    for words in _command_lines(page):
        if words[1].startswith("-"):  # j4d --help, j4d --version
            assert words[1] in {"--help", "--version"}, words
            continue
        command = cli.get_command(context, words[1])
        assert command is not None, f"{page.name}: no command `j4d {words[1]}`"
        options = {name for param in command.params for name in getattr(param, "opts", [])}
        options |= {
            name for param in command.params for name in getattr(param, "secondary_opts", [])
        }
        options |= {"--help", "-h"}
        for word in words[2:]:
            if word.startswith("-") and not re.fullmatch(r"-\d.*", word):
                flag = word.split("=", 1)[0]
                assert flag in options, f"{page.name}: `j4d {words[1]}` has no option {flag}"
    assert isinstance(cli, click.Group)


def test_api_examples_run_as_pasted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = [body for page in PAGES for body in _blocks(page, "python")]
    assert blocks, "no Python examples found"
    for body in blocks:
        exec(compile(body, "<docs example>", "exec"), {"__name__": "__docs__"})


def test_rate_check_offers_the_registered_estimators():
    from j4d.evaluation.defaults import FITTED_ESTIMATORS, RATE_ESTIMATORS
    from j4d.evaluation.ratecheck import ESTIMATORS

    assert set(RATE_ESTIMATORS) == set(ESTIMATORS) and set(FITTED_ESTIMATORS) <= set(ESTIMATORS)


def test_help_lists_each_command_by_its_own_short_help():
    context = click.Context(cli)
    for name, (_, line) in COMMANDS.items():
        assert cli.get_command(context, name).short_help == line, name


def test_one_shot_commands_do_not_import_torch():
    # --help of every command, --version, inspect, tables and a plain encode answer at once
    # only while these stay free of torch (torch loads when a command that needs it runs)
    import subprocess
    import sys

    commands = ", ".join(f"j4d.cli.{module}" for module, _ in COMMANDS.values())
    modules = f"j4d, j4d.cli, {commands}, j4d.zoo, j4d.jpegio, j4d.train.config, j4d.tasks.names"
    code = f"import sys, {modules}; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def _tracked(*patterns: str) -> list[str]:
    """The checkout's tracked files (matching ``patterns``): the tests run from a clone, as CI
    and the README's test command do, so no listing is a failure, not a skip."""
    import subprocess

    listing = subprocess.run(
        ["git", "ls-files", "-z", *patterns], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    names = [name for name in listing.split("\0") if name]
    assert names or patterns, "git lists no tracked file: run the tests from a clone"
    return names


#: Where a machine's own paths start (a data folder, a scratch run, a home): never committed.
MACHINE_PATH = re.compile(r"(?<![\w.:/~-])/(?:work|tmp|home|Users|root|mnt)/[\w.+-]")
TEXT_SUFFIXES = {".md", ".json", ".jsonl", ".csv", ".txt", ".svg", ".py", ".toml", ".sh", ".yml"}


def test_no_committed_text_names_a_machine_path():
    """Committed results, plots' text, the zoo's meta and the docs name data sets
    (``imagenet-val``), never the path of the machine that measured them."""
    found = []
    for name in _tracked():
        path = ROOT / name
        if path.suffix in TEXT_SUFFIXES and path.is_file():
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if MACHINE_PATH.search(line):
                    found.append(f"{name}:{number}: {line.strip()[:80]}")
    assert not found, "\n".join(found[:20])


IMAGE_LINK = re.compile(r"\]\(([^)\s]+\.(?:png|svg))\)")


def test_the_plots_kept_are_the_plots_pages_show():
    """Results keep their data and only the plots a page links (``make plots`` draws the
    rest); every linked plot is there."""
    listed = _tracked("*.png", "*.svg")
    pages = [*PAGES, *sorted((ROOT / "results").rglob("*.md"))]
    linked = {
        (page.parent / target).resolve().relative_to(ROOT).as_posix()
        for page in pages
        for target in IMAGE_LINK.findall(page.read_text())
    }
    assert set(listed) == linked
    assert all((ROOT / name).is_file() for name in linked)
