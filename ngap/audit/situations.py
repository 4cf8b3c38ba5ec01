"""A situation cache on disk, shared by the worker processes of an audit and, if asked, by audits.

Judging a new situation costs milliseconds of solving; finding it in this cache, tens of
microseconds.  The workers of one audit share ``DIR/situations.sqlite``, so a situation is solved
once for the whole run rather than once per worker; ``--cache PATH`` keeps it between audits
(a monthly audit of the same practices meets the same situations again).

A verdict is only ever served for the exact knowledge base that produced it: the cache records a
fingerprint of the rule base, the tariff data and the audit core, and empties itself when any of
them changed.  Keys are written canonically (sets sorted), so every process, whatever its hash
seed, finds the same rows.  The cache is an accelerator only: if the file cannot be used, the
audit goes on without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from importlib import resources
from pathlib import Path
from typing import Any

from ngap.audit.contexts import RowKey

FORMAT = 1
"""Bumped whenever the layout of a key or of a verdict changes."""
FLUSH_EVERY = 16
"""Verdicts written per transaction: a few milliseconds of solving each, so sharing them early
costs little and saves the other workers from solving them again."""


def fingerprint() -> str:
    """Digest of everything a verdict depends on: .lp files, data files, audit core format."""
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    for package, pattern in (("ngap.asp_rules", ".lp"), ("ngap.model", ".yaml")):
        root = resources.files(package)
        entries = [root] if pattern == ".lp" else [root.joinpath("data")]
        for folder in entries:
            for item in sorted(folder.iterdir(), key=lambda p: p.name):
                if item.name.endswith(pattern):
                    digest.update(item.name.encode())
                    digest.update(item.read_bytes())
    for module in ("core.py", "contexts.py", "cells.py"):
        digest.update(resources.files("ngap.audit").joinpath(module).read_bytes())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, frozenset):
        return {"set": sorted(value)}
    if isinstance(value, tuple):
        return {"tuple": [_plain(v) for v in value]}
    return value


def canonical(key: RowKey) -> str:
    """The key as text, identical in every process (frozensets sorted)."""
    return json.dumps([_plain(v) for v in key], separators=(",", ":"))


class SituationCache:
    """Verdicts by situation, in SQLite (WAL: several processes read and write at once)."""

    def __init__(self, path: Path, stamp: str | None = None) -> None:
        self.path = path
        self.stamp = stamp or fingerprint()
        self.hits = 0
        self._pending: list[tuple[str, str]] = []
        self._db: sqlite3.Connection | None = None
        try:
            self._db = self._open()
        except sqlite3.Error:
            self._db = None  # unusable file: audit without the cache

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
        db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, verdict TEXT)")
        db.execute("BEGIN IMMEDIATE")
        row = db.execute("SELECT value FROM meta WHERE name = 'fingerprint'").fetchone()
        if row is None or row[0] != self.stamp:
            db.execute("DELETE FROM verdicts")  # another knowledge base: nothing is reusable
            db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (self.stamp,)
            )
        db.execute("COMMIT")
        return db

    @property
    def usable(self) -> bool:
        return self._db is not None

    def get(self, key: RowKey) -> dict[str, Any] | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT verdict FROM verdicts WHERE key = ?", (canonical(key),)
            ).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        self.hits += 1
        found: dict[str, Any] = json.loads(row[0])
        return found

    def put(self, key: RowKey, verdict: dict[str, Any]) -> None:
        if self._db is not None:
            self._pending.append((canonical(key), json.dumps(verdict, separators=(",", ":"))))
            if len(self._pending) >= FLUSH_EVERY:
                self.flush()  # soon visible to the other workers, which then need not solve it

    def flush(self) -> None:
        """Write what this process solved since the last flush (one transaction)."""
        if self._db is None or not self._pending:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR IGNORE INTO verdicts VALUES (?, ?)", self._pending)
            self._db.execute("COMMIT")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
        self._pending.clear()

    def __len__(self) -> int:
        if self._db is None:
            return 0
        return int(self._db.execute("SELECT count(*) FROM verdicts").fetchone()[0])
