"""The README's Python examples run as written (docs that work when pasted)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for block in BLOCKS[: index + 1]:  # later examples may use files earlier ones wrote
        exec(compile(block, f"README.md python block {index}", "exec"), {})
