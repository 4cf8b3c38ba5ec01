"""``python -m ngap``: the command line, with its exit-status contract."""

from ngap.cli import main

main()
