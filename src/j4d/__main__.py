from j4d.cli import entry_point

entry_point()
