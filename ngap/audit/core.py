"""The audit of one chunk of encounter rows: the function every engine runs.

``Auditor.audit(batch)`` takes a ``RawBatch`` and returns one output row per input row (rows in
= rows out, bad rows included with their reason).  Distinct rows are found with numpy on the
row keys of ``contexts``; each distinct key is judged once by the solver and remembered in a
bounded LRU memo, so a realistic input, where the same situations recur, costs a few solver
calls per thousand rows.  The grounded rule base lives in the ``Nomenclature`` of the process:
one per worker or Spark executor.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ngap import clock
from ngap.audit.batches import BadRow, RawBatch
from ngap.audit.columns import LINE_COLUMNS, OUTPUT_COLUMNS
from ngap.audit.contexts import ContextDeriver, RowKey
from ngap.audit.situations import SituationCache
from ngap.model.context import Context
from ngap.solver.engine import (
    REPEATED_LINE_RULE,
    SEPARATE_SESSIONS,
    Nomenclature,
    UnknownCodeError,
)
from ngap.solver.results import CheckResult

DEFAULT_MEMO = 20_000
"""Distinct situations remembered in the process (a few KB each, so at most about 100 MB):
memory stays flat on any input size; the situation cache on disk keeps the rest."""
ANSWER_MEMO = 20_000
"""Solver answers the engine remembers for the audit (a few hundred bytes each): distinct
situations share most of their sub-questions (the optimum of a context, one line of a claim)."""


@dataclass(frozen=True)
class Verdict:
    """The judgement of one distinct situation, shared by every row that has it."""

    status: str
    era: str | None
    claimed: str
    rules: str
    articles: str
    messages: str
    conditions: str
    lines: str
    claimed_cents: int | None
    optimal_cents: int | None
    difference_cents: int | None
    optimum_assumes: str
    reason: str | None
    line_codes: tuple[str, ...]
    line_cents: tuple[int | None, ...]
    line_records: tuple[str | None, ...] = ()

    @property
    def difference_certain_cents(self) -> int | None:
        """The difference whatever the unknown context: all of it when the optimum assumed
        nothing; over-coding always (claimed above even the most favourable optimum)."""
        diff = self.difference_cents
        if diff is None:
            return None
        return diff if not self.optimum_assumes or diff > 0 else 0

    @property
    def difference_if_context_cents(self) -> int | None:
        """Under-coding that exists only if the unknown context was as ``optimum_assumes``."""
        certain = self.difference_certain_cents
        return None if certain is None else (self.difference_cents or 0) - certain


OUTPUT_SCHEMA = pa.schema(
    [
        pa.field(name, pa.int64() if name == "row" or name.endswith("_cents") else pa.string())
        for name in OUTPUT_COLUMNS
    ]
    + [
        pa.field("_household_id", pa.string()),
        pa.field("_stay_id", pa.string()),
        pa.field("_place", pa.string()),
        pa.field("_age_months", pa.int32()),
        pa.field("_line_codes", pa.list_(pa.string())),
        pa.field("_line_cents", pa.list_(pa.int64())),
        pa.field("_line_records", pa.list_(pa.string())),
    ]
)
"""Audit output of a chunk; the ``_`` columns feed the rules across encounters only."""

LINES_SCHEMA = pa.schema(
    [
        pa.field(
            name,
            {
                "row": pa.int64(),
                "date": pa.date32(),
                "cents": pa.int64(),
                "age_months": pa.int32(),
            }.get(name, pa.string()),
        )
        for name in LINE_COLUMNS
    ]
)


def describe_conditions(conditions: dict[str, tuple[str, ...]]) -> str:
    """``emergency=yes & hour=h20_21|h21_24``: what must have held."""
    return " & ".join(f"{dim}={'|'.join(values)}" for dim, values in sorted(conditions.items()))


class Auditor:
    """Judges chunks of encounter rows against the rules of each row's date."""

    def __init__(
        self,
        nomenclature: Nomenclature | None = None,
        *,
        memo_size: int = DEFAULT_MEMO,
        today: dt.date | None = None,
        cache: SituationCache | None = None,
    ) -> None:
        self.nomenclature = nomenclature or Nomenclature.load()
        if not self.nomenclature.answer_memo:
            self.nomenclature.answer_memo = ANSWER_MEMO
        catalogue = self.nomenclature.catalogue
        self.deriver = ContextDeriver(
            self.nomenclature.eras, tuple(catalogue.codes), today or clock.today()
        )
        self._recording: frozenset[str] | None = None
        self.memo: OrderedDict[RowKey, Verdict] = OrderedDict()
        self.memo_size = memo_size
        self.cache = cache
        self.solved = 0
        self.hits = 0

    def records_activity(self, claimed: Sequence[str]) -> bool:
        """Whether a claimed code records an activity (``needs_done``): it shows something was
        done, even when the activities are not given.  A refined code (CSO) records what its
        aggregate (CCX) records.  Read from the rule base when first needed (an input with
        activities never asks)."""
        if self._recording is None:
            self._recording = frozenset(self.nomenclature.required_activities())
        refined = self.nomenclature.catalogue.refined
        return any(refined.get(code, code) in self._recording for code in claimed)

    # ------------------------------------------------------------------ one situation
    def judge(self, key: RowKey, day: dt.date | None, sessions_known: bool = True) -> Verdict:
        """The verdict for a row key (memoised: the date itself never changes the verdict).

        ``sessions_known``: a row is one session (encounter tables), or a day of claim lines
        where two identical codes may be two sessions (SNDS): part of the memo and cache key.
        """
        memo_key = key if sessions_known else (*key, "sessions_unknown")
        found = self.memo.get(memo_key)
        if found is not None:
            self.memo.move_to_end(memo_key)
            self.hits += 1
            return found
        stored = self.cache.get(memo_key) if self.cache is not None else None
        verdict = _from_json(stored) if stored is not None else None
        if verdict is None:
            verdict = self._solve(key, day, sessions_known)
            self.solved += 1
            if self.cache is not None:
                self.cache.put(memo_key, _to_json(verdict))
        self.memo[memo_key] = verdict
        if len(self.memo) > self.memo_size:
            self.memo.popitem(last=False)
        return verdict

    def _solve(self, key: RowKey, day: dt.date | None, sessions_known: bool = True) -> Verdict:
        ctx = self.deriver.context_of(key, day)
        done: tuple[str, ...] = key[-2] or ()
        claimed: tuple[str, ...] = key[-1]
        engine = self.nomenclature
        # Nothing known of what was done, and nothing claimed that records an activity (an
        # SNDS encounter of a lone IK or MM line, or whose lines all map to no code): an optimum
        # would be the dearest cotation of any activities at all (burns, CCAM acts, night
        # visits), money nothing shows was earned, which would swell the audit's under-coding
        # "if the context allowed"; it is also the costliest solve there is (seconds, every
        # dimension open).  The claim is judged; the optimum and the difference stay empty.
        optimum = key[-2] is not None or self.records_activity(claimed)
        if not claimed and not optimum:
            return _nothing_claimed(str(ctx.era.index))
        try:
            result = engine.check_context(
                ctx, done, claimed, sessions_known=sessions_known, optimum=optimum
            )
        except UnknownCodeError as error:  # pre-validated; kept as a safety net
            return _bad(str(error))
        return self._verdict(ctx, done, result)

    def _verdict(self, ctx: Context, done: Sequence[str], result: CheckResult) -> Verdict:
        engine = self.nomenclature
        claim = tuple(line.code for line in result.claimed.lines)
        verdicts = self._repeat_aware_verdicts(ctx, done, claim, result)
        assumes = ""
        optimal = result.optimal
        if optimal is not None and optimal.assumed:
            unique = tuple(dict.fromkeys(optimal.codes))
            if result.status != "violation" and sorted(unique) == sorted(claim):
                status, conditions = result.status, result.conditions
            else:  # the optimum is valid in the context it assumed: no solve to find one
                valid_in = {k: v for k, v in optimal.assumed.items() if k != SEPARATE_SESSIONS[0]}
                status, conditions = engine.judge_context(ctx, unique, valid_in)
            if status == "conditional":
                assumes = describe_conditions(conditions)
            if SEPARATE_SESSIONS[0] in optimal.assumed:
                dim, values = SEPARATE_SESSIONS
                assumes = " & ".join(a for a in (assumes, f"{dim}={'|'.join(values)}") if a)
        return Verdict(
            status=result.status,
            era=str(ctx.era.index),
            claimed=";".join(claim),
            rules=";".join(v.rule for v in result.violations),
            articles=";".join(v.article for v in result.violations),
            messages=" | ".join(v.message_en for v in result.violations),
            conditions=describe_conditions(result.conditions),
            lines=";".join(verdicts),
            claimed_cents=result.claimed.total_cents,
            optimal_cents=optimal.total_cents if optimal else None,
            difference_cents=result.difference_cents,
            optimum_assumes=assumes,
            reason=None,
            line_codes=claim,
            line_cents=tuple(line.amount_cents for line in result.claimed.lines),
            line_records=tuple(line.record for line in result.claimed.lines),
        )

    def _repeat_aware_verdicts(
        self, ctx: Context, done: Sequence[str], claim: tuple[str, ...], result: CheckResult
    ) -> list[str]:
        """Line verdicts where a repeated code's later lines carry the repeat's own verdict:
        invalid (one session) or valid only if the acts were separate sessions."""
        unique = tuple(dict.fromkeys(claim))
        if len(unique) == len(claim):
            return self._line_verdicts(ctx, done, claim, result)
        dim, values = SEPARATE_SESSIONS
        repeats = [v for v in result.violations if v.rule == REPEATED_LINE_RULE]
        others = tuple(v for v in result.violations if v.rule != REPEATED_LINE_RULE)
        conditions = {d: v for d, v in result.conditions.items() if d != dim}
        base_status = "violation" if others else ("conditional" if conditions else "valid")
        base = replace(result, status=base_status, violations=others, conditions=conditions)
        first = self._line_verdicts(ctx, done, unique, base)
        verdict = "invalid" if repeats else f"conditional:{dim}={'|'.join(values)}"
        return first + [f"{code}:{verdict}" for code in claim[len(unique) :]]

    def _line_verdicts(
        self, ctx: Context, done: Sequence[str], claim: tuple[str, ...], result: CheckResult
    ) -> list[str]:
        """Per claimed line: valid, invalid whatever the context, or valid only if ..."""
        if result.status == "violation":
            implicated = {code for v in result.violations for code in v.codes}
            return [f"{c}:{'invalid' if c in implicated else 'valid'}" for c in claim]
        if result.status == "valid":
            return [f"{c}:valid" for c in claim]
        owned: list[tuple[str, bool, dict[str, tuple[str, ...]]]] = []
        for code in claim:
            rest = tuple(c for c in claim if c != code)
            status, without = self.nomenclature.judge_context(ctx, rest)
            # A line the others cannot do without (MN needs its G) carries no condition of its
            # own; otherwise its conditions are those that loosen when it is left out.
            support = status == "violation"
            own = {
                dim: values
                for dim, values in result.conditions.items()
                if not support and without.get(dim) != values
            }
            owned.append((code, support, own))
        if not any(own for _, _, own in owned):
            # Lines that need the same context (a night majoration and a night travel fee):
            # the encounter's conditions are each one's, support lines aside if any remain.
            carriers = {c for c, support, _ in owned if not support} or set(claim)
            owned = [(c, s, dict(result.conditions) if c in carriers else {}) for c, s, _ in owned]
        return [
            f"{code}:conditional:{describe_conditions(own)}" if own else f"{code}:valid"
            for code, _, own in owned
        ]

    # ------------------------------------------------------------------ one chunk
    def audit(
        self,
        batch: RawBatch,
        on_rows: Callable[[int], None] | None = None,
        every: float = 0.2,
    ) -> pa.RecordBatch:
        """One output row per input row of the batch, then one per unreadable record.

        ``on_rows(n)``: n more rows judged, called at most every ``every`` seconds while the
        distinct situations are judged (a progress display moves within a chunk)."""
        table = batch.table
        n = table.num_rows
        keys = self.deriver.keys(table) if n else None
        verdicts: list[Verdict] = []
        inverse = np.zeros(n, dtype=np.int64)
        # Claim lines grouped by day (``_lines``: SNDS) cannot tell one session from two.
        sessions_known = "_lines" not in table.column_names
        if keys is not None:
            reader = batch.errors.to_pylist() if batch.errors is not None else [None] * n
            good = np.asarray(
                [e is None and r is None for e, r in zip(keys.errors, reader, strict=True)],
                dtype=bool,
            )
            matrix = np.where(good[:, None], keys.matrix, -1)
            first, inverse = row_groups(matrix)
            uniq = matrix[first]
            dates = keys.coded["date"]
            tables = keys.tables
            sizes = np.bincount(inverse, minlength=len(first)).tolist()
            pending = 0
            last = time.monotonic()
            for u, row, size in zip(uniq.tolist(), first.tolist(), sizes, strict=True):
                pending += size
                if u[0] < 0:
                    verdicts.append(_bad(""))
                    continue
                key = tuple([table[code] for table, code in zip(tables, u, strict=True)])
                verdicts.append(self.judge(key, dates.values[dates.codes[row]], sessions_known))
                if on_rows is not None and time.monotonic() - last >= every:
                    on_rows(pending)
                    pending, last = 0, time.monotonic()
            if on_rows is not None and pending:
                on_rows(pending)
        if self.cache is not None:
            self.cache.flush()
        out = self._assemble(batch, keys, verdicts, inverse)
        if batch.bad:
            out = pa.concat_tables([out, _bad_rows(batch.bad)])
        return out.combine_chunks().to_batches()[0] if out.num_rows else _empty_batch()

    def _assemble(
        self, batch: RawBatch, keys: object, verdicts: list[Verdict], inverse: np.ndarray
    ) -> pa.Table:
        table = batch.table
        n = table.num_rows
        if n == 0:
            return OUTPUT_SCHEMA.empty_table()
        from ngap.audit.contexts import ChunkKeys, as_text

        assert isinstance(keys, ChunkKeys)
        take = pa.array(inverse)

        def pick(field: str) -> pa.Array:
            return pa.array([getattr(v, field) for v in verdicts]).take(take)

        def text(name: str) -> pa.Array:
            if name not in table.column_names:
                return pa.nulls(n, pa.string())
            return as_text(table.column(name))

        reader_errors = batch.errors.to_pylist() if batch.errors is not None else [None] * n
        errors = pa.array(
            [
                a if b is None else (b if a is None else f"{b}; {a}")
                for a, b in zip(keys.errors, reader_errors, strict=True)
            ],
            pa.string(),
        )
        bad = pc.is_valid(errors)
        rows = (
            batch.rows
            if batch.rows is not None
            else pa.array(np.arange(batch.first_row, batch.first_row + n, dtype=np.int64))
        )
        status = pc.if_else(bad, "bad_input", pick("status"))
        claimed = pc.if_else(bad, text("claimed"), pick("claimed"))
        columns = {
            "id": text("id"),
            "source": pa.array([batch.source] * n, pa.string()),
            "row": rows,
            "status": status,
            "date": keys.dates,
            "era": pick("era"),
            "patient_id": text("patient_id"),
            "practitioner_id": text("practitioner_id"),
            "claimed": claimed,
            "rules": pick("rules"),
            "articles": pick("articles"),
            "messages": pick("messages"),
            "conditions": pick("conditions"),
            "lines": pick("lines"),
            "claimed_cents": pick("claimed_cents"),
            "optimal_cents": pick("optimal_cents"),
            "difference_cents": pick("difference_cents"),
            "difference_certain_cents": pick("difference_certain_cents"),
            "difference_if_context_cents": pick("difference_if_context_cents"),
            "optimum_assumes": pick("optimum_assumes"),
            "reason": errors,
            "notes": text("_notes"),
            # Line-level input: the lines grouped; CSV: the physical line(s) of the record.
            "source_lines": text("_lines" if "_lines" in table.column_names else "_source_lines"),
            "_household_id": text("household_id"),
            "_stay_id": text("stay_id"),
            "_place": text("place"),
            "_age_months": pa.array(np.where(keys.age_months >= 0, keys.age_months, 0)).cast(
                pa.int32()
            ),
            "_line_codes": pa.array(
                [list(v.line_codes) for v in verdicts], pa.list_(pa.string())
            ).take(take),
            "_line_cents": pa.array(
                [list(v.line_cents) for v in verdicts], pa.list_(pa.int64())
            ).take(take),
            "_line_records": pa.array(
                [list(v.line_records) for v in verdicts], pa.list_(pa.string())
            ).take(take),
        }
        age_known = pa.array(keys.age_months >= 0)
        columns["_age_months"] = pc.if_else(
            age_known, columns["_age_months"], pa.scalar(None, pa.int32())
        )
        for name in (
            "era",
            "rules",
            "articles",
            "messages",
            "conditions",
            "lines",
            "optimum_assumes",
            "claimed_cents",
            "optimal_cents",
            "difference_cents",
            "difference_certain_cents",
            "difference_if_context_cents",
        ):
            columns[name] = pc.if_else(bad, pa.scalar(None, columns[name].type), columns[name])
        return pa.table([columns[f.name].cast(f.type) for f in OUTPUT_SCHEMA], schema=OUTPUT_SCHEMA)


def row_groups(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of an int matrix: (index of each one's first row, group of every row).

    Columns are packed into one int64 by mixed radix, re-numbered densely whenever the next
    column would overflow; a 1-D ``np.unique`` then costs milliseconds where ``axis=0`` (a sort
    of byte strings) costs a hundred times more.
    """
    n = matrix.shape[0]
    packed = np.zeros(n, dtype=np.int64)
    size = 1
    for column in matrix.T:
        card = int(column.max(initial=-1)) + 2
        if size * card >= 1 << 62:
            uniq, packed = np.unique(packed, return_inverse=True)
            packed = packed.reshape(-1).astype(np.int64)
            size = len(uniq)
        packed = packed * card + (column.astype(np.int64) + 1)
        size *= card
    _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def _to_json(verdict: Verdict) -> dict[str, Any]:
    data = asdict(verdict)
    for name in ("line_codes", "line_cents", "line_records"):
        data[name] = list(data[name])
    return data


_TEXT_FIELDS = ("status", "claimed", "rules", "articles", "messages", "conditions", "lines",
                "optimum_assumes")
_CENTS_FIELDS = ("claimed_cents", "optimal_cents", "difference_cents")
STATUSES = frozenset({"valid", "conditional", "violation", "bad_input"})


def _from_json(data: Any) -> Verdict | None:
    """A verdict read back from the situation cache, or None when the row is malformed
    (wrong keys or types, unknown status, lists of different lengths): a miss, solved again."""
    if not isinstance(data, dict) or set(data) != set(Verdict.__dataclass_fields__):
        return None

    def text(value: Any) -> bool:
        return isinstance(value, str)

    def cents(value: Any) -> bool:
        return value is None or (isinstance(value, int) and not isinstance(value, bool))

    lists = [data[n] for n in ("line_codes", "line_cents", "line_records")]
    if (
        not all(text(data[n]) for n in _TEXT_FIELDS)
        or data["status"] not in STATUSES
        or not all(cents(data[n]) for n in _CENTS_FIELDS)
        or not (data["era"] is None or text(data["era"]))
        or not (data["reason"] is None or text(data["reason"]))
        or not all(isinstance(v, list) for v in lists)
        or len({len(v) for v in lists}) != 1
        or not all(text(c) for c in lists[0])
        or not all(cents(c) for c in lists[1])
        or not all(c is None or text(c) for c in lists[2])
    ):
        return None
    return Verdict(**{**data, **{n: tuple(data[n]) for n in ("line_codes", "line_cents",
                                                              "line_records")}})


def _nothing_claimed(era: str) -> Verdict:
    """Nothing claimed and no activity known: no rule can be broken, no cotation to compare
    with (see ``Auditor._solve``)."""
    return Verdict("valid", era, "", "", "", "", "", "", 0, None, None, "", None, (), ())


def _bad(reason: str) -> Verdict:
    return Verdict("bad_input", None, "", "", "", "", "", "", None, None, None, "", reason, (), ())


def _bad_rows(bad: list[BadRow]) -> pa.Table:
    n = len(bad)
    columns: dict[str, pa.Array] = {f.name: pa.nulls(n, f.type) for f in OUTPUT_SCHEMA}
    columns["id"] = pa.array([b.id for b in bad], pa.string())
    columns["source"] = pa.array([b.source for b in bad], pa.string())
    columns["row"] = pa.array([b.row for b in bad], pa.int64())
    columns["status"] = pa.array(["bad_input"] * n, pa.string())
    columns["reason"] = pa.array([b.reason for b in bad], pa.string())
    columns["source_lines"] = pa.array(
        [str(b.line) if b.line is not None else None for b in bad], pa.string()
    )
    return pa.table([columns[f.name] for f in OUTPUT_SCHEMA], schema=OUTPUT_SCHEMA)


def _empty_batch() -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=OUTPUT_SCHEMA)


def lines_of(audited: pa.RecordBatch | pa.Table) -> pa.Table:
    """One row per claimed line of the audited (not bad) encounters: input of ``frequency``."""
    table = audited if isinstance(audited, pa.Table) else pa.Table.from_batches([audited])
    table = table.filter(pc.not_equal(table["status"], "bad_input"))
    codes = table["_line_codes"].combine_chunks()
    parents = pc.list_parent_indices(codes)
    picked = table.take(parents)
    return pa.table(
        {
            "id": picked["id"],
            "source": picked["source"],
            "row": picked["row"],
            "patient_id": picked["patient_id"],
            "practitioner_id": picked["practitioner_id"],
            "household_id": picked["_household_id"],
            "stay_id": picked["_stay_id"],
            "date": pc.cast(pc.strptime(picked["date"], "%Y-%m-%d", "s"), pa.date32()),
            "code": pc.list_flatten(codes),
            "cents": pc.list_flatten(table["_line_cents"].combine_chunks()),
            "record": pc.list_flatten(table["_line_records"].combine_chunks()),
            "place": picked["_place"],
            "age_months": picked["_age_months"],
            "status": picked["status"],
        },
        schema=LINES_SCHEMA,
    )


def public(audited: pa.Table) -> pa.Table:
    """The audit output without the internal ``_`` columns."""
    return audited.select([name for name in OUTPUT_COLUMNS])
