"""The package version, in one place (the package front door and reports read it)."""

__version__ = "0.1.0"
