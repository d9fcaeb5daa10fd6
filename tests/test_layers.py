"""Every import arrow in the package points down: a module imports only from its own package or
from packages of a lower layer (function-level imports included). The layers, lowest first, are
listed here and nowhere else; docs/layout.md draws them."""

from __future__ import annotations

import ast
from pathlib import Path

import j4d

LAYERS: tuple[tuple[str, ...], ...] = (
    ("_version", "errors", "_lazy"),  # the version; j4d's errors; lazy package exports
    ("utils",),  # atomic files, fault injection, figures
    ("tables",),  # quantization tables and their files
    ("codec", "tasks", "jpegio"),  # differentiable codec; task losses/metrics; reading files
    ("rate", "data"),  # rate models; data folders and test sets
    ("models",),  # the model registry
    ("encoders", "analysis"),  # every way to make a file; model sensitivity
    ("peers", "evaluation"),  # peer methods; real-file measurement
    ("train",),  # the trainer and sweeps
    ("zoo",),  # shipped tables
    ("shards",),  # a data set's shards re-encoded, on processes or Ray
    ("cli",),  # commands
)
#: The package's own front door, above everything.
TOP = ("__init__", "__main__")
PACKAGE = Path(j4d.__file__).parent


def _layer_of(part: str) -> int:
    if part in TOP:
        return len(LAYERS)
    for level, names in enumerate(LAYERS):
        if part in names:
            return level
    raise AssertionError(f"j4d.{part} is in no layer: add it to LAYERS in {__file__}")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every j4d import in a file, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "j4d":  # from j4d import codec (a module) or QuantTables (the top)
                names = [
                    f"j4d.{alias.name}"
                    if (PACKAGE / alias.name).exists() or (PACKAGE / f"{alias.name}.py").exists()
                    else "j4d"
                    for alias in node.names
                ]
            found += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return [(line, name) for line, name in found if name == "j4d" or name.startswith("j4d.")]


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_is_in_a_layer():
    for path in PACKAGE.rglob("*.py"):
        _layer_of(path.relative_to(PACKAGE).parts[0].removesuffix(".py"))


def test_imports_point_down():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for line, module in _imports(path):
            target = _part(module)
            if target != own and _layer_of(target) >= _layer_of(own):
                upward.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
    assert not upward, "imports that do not point down:\n" + "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path):
    module = tmp_path / "example.py"
    module.write_text("def f():\n    from j4d.cli import main\n")
    assert _imports(module) == [(2, "j4d.cli")]
    assert _layer_of(_part("j4d.cli")) > _layer_of("codec")
