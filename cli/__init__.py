"""The ``zerolabel`` command line: argparse lives here and nowhere else.

Each module registers the subcommands of one area and keeps them thin: it parses flags and calls the library
function of ``core`` or ``training`` that does the work. :mod:`cli.main` builds the parser and owns the one error
path; :mod:`cli.flags` owns numeric flags. ``core`` never imports this package (import-linter contract).
"""
