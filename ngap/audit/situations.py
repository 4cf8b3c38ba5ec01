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

Integrity: each row carries an HMAC-SHA256 of its key and verdict under a random key kept beside
the cache (``PATH.key``, created with mode 0600).  A row edited by someone who cannot read that
key (a verdict turned from violation to valid, with the right fingerprint) fails its MAC and is
a miss: solved again.  It does not protect against the owner of the key; a cache is never to be
shared between users.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from importlib import resources
from pathlib import Path
from typing import Any

from ngap.audit.contexts import RowKey

FORMAT = 2
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


KEY_BYTES = 32


def key_path(path: Path) -> Path:
    """Where the MAC key of a cache file lives: beside it, ``NAME.key``."""
    return path.with_name(path.name + ".key")


def _mac_key(path: Path) -> bytes:
    """The cache's MAC key, created at random (mode 0600) on first use.

    Raises OSError when it cannot be read or created, or is readable by others (the cache is
    then not used).
    """
    where = key_path(path)
    try:
        fd = os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
    if os.stat(where).st_mode & 0o077:
        raise PermissionError(f"{where}: readable by other users")
    key = where.read_bytes()
    if len(key) != KEY_BYTES:
        raise OSError(f"{where}: not a cache key")
    return key


class SituationCache:
    """Verdicts by situation, in SQLite (WAL: several processes read and write at once)."""

    def __init__(self, path: Path, stamp: str | None = None) -> None:
        self.path = path
        self.stamp = stamp or fingerprint()
        self.hits = 0
        self._pending: list[tuple[str, str, str]] = []
        self._db: sqlite3.Connection | None = None
        self._key = b""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._key = _mac_key(path)
            self._db = self._open()
        except (sqlite3.Error, OSError):
            self._db = None  # unusable file: audit without the cache

    def _mac(self, key: str, verdict: str) -> str:
        return hmac.new(self._key, f"{key}\0{verdict}".encode(), hashlib.sha256).hexdigest()

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
        db.execute("BEGIN IMMEDIATE")
        row = db.execute("SELECT value FROM meta WHERE name = 'fingerprint'").fetchone()
        if row is None or row[0] != self.stamp:
            db.execute("DROP TABLE IF EXISTS verdicts")  # another knowledge base or layout
            db.execute(
                "CREATE TABLE verdicts (key TEXT PRIMARY KEY, verdict TEXT, mac TEXT)"
            )
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
        text = canonical(key)
        try:
            row = self._db.execute(
                "SELECT verdict, mac FROM verdicts WHERE key = ?", (text,)
            ).fetchone()
        except sqlite3.Error:
            return None
        if row is None or not isinstance(row[0], str) or not isinstance(row[1], str):
            return None
        if not hmac.compare_digest(row[1], self._mac(text, row[0])):
            return None  # edited without the key: a miss
        try:
            found = json.loads(row[0])
        except ValueError:
            return None
        if not isinstance(found, dict):
            return None
        self.hits += 1
        return found

    def put(self, key: RowKey, verdict: dict[str, Any]) -> None:
        if self._db is not None:
            text = canonical(key)
            body = json.dumps(verdict, separators=(",", ":"))
            self._pending.append((text, body, self._mac(text, body)))
            if len(self._pending) >= FLUSH_EVERY:
                self.flush()  # soon visible to the other workers, which then need not solve it

    def flush(self) -> None:
        """Write what this process solved since the last flush (one transaction)."""
        if self._db is None or not self._pending:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR IGNORE INTO verdicts VALUES (?, ?, ?)", self._pending
            )
            self._db.execute("COMMIT")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
        self._pending.clear()

    def __len__(self) -> int:
        if self._db is None:
            return 0
        return int(self._db.execute("SELECT count(*) FROM verdicts").fetchone()[0])
