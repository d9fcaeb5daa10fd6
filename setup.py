"""The compiled part of j4d: its rate-distortion JPEG encoder (``j4d.encoders._rd``), a plain C
extension with no dependency beyond Python's headers; everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "j4d.encoders._rd",
            sources=["src/j4d/encoders/_rd.c"],
            extra_compile_args=["-O3", "-std=c99", "-Wall"],
        )
    ]
)
