"""The ``gongji`` command line: one module per command group, wired in :mod:`cli.main`."""
