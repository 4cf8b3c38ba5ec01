"""One way to open DuckDB for the audit: bounded memory, spilling to disk, few threads.

DuckDB's default memory limit is 80 % of the machine; the audit promises flat memory whatever the
input size, so every connection here is capped (``NGAP_DUCKDB_MEMORY``, default 256 MB) and
spills to a temporary directory beyond it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb

DEFAULT_MEMORY = "256MB"


def connect(
    spill: Path | None = None, threads: int = 2, ordered: bool = False, memory: str | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with capped memory and a spill directory.

    ``ordered`` keeps rows in file order (one thread), for readers that number lines.
    """
    directory = spill or Path(tempfile.gettempdir()) / "ngap-duckdb"
    directory.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        config={
            "memory_limit": memory or os.environ.get("NGAP_DUCKDB_MEMORY", DEFAULT_MEMORY),
            "threads": 1 if ordered else threads,
            "temp_directory": str(directory),
            "preserve_insertion_order": ordered,
        }
    )
    con.execute("SET enable_progress_bar = false")  # ngap prints its own progress
    return con
