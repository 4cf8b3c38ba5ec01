"""Command-line output as tests should read it: independent of the terminal's width.

Rich wraps text at the console width (80 columns when the output is not a terminal, or
``COLUMNS``), so a message naming a long temporary path may be cut anywhere.  Tests compare text
with its whitespace collapsed to single spaces.
"""

from __future__ import annotations


def flat(text: str) -> str:
    """The text with every run of whitespace (newlines included) made one space."""
    return " ".join(text.split())
