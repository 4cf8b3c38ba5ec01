"""``python -m ngap``: the command line."""

from ngap.cli import app

app()
