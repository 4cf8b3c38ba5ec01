"""Summary of an audit output directory: ``summary.json`` for machines, ``report.html`` for people.

Every figure is computed by DuckDB over ``parts/encounters-*.parquet`` (and ``findings.parquet``
when present) with aggregations that stream: an audit may hold millions of rows and only the
aggregates and a few bounded lists ever reach Python.

The HTML page is one self-contained file (inline CSS, charts drawn as inline SVG here, no script,
no external resource) so that it can be mailed, archived or printed as it is.  Every value read
from the data (ids, reasons, codes, conditions) comes from user files and is escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import pathlib
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import duckdb

from ngap.audit.columns import OUTPUT_COLUMNS
from ngap.audit.frequency import FINDING_LISTS
from ngap.model.catalogue import load_catalogue
from ngap.versions import versions

STATUSES = ("valid", "conditional", "violation", "bad_input")
MIN_ENCOUNTERS = 20
"""Practitioners with fewer audited encounters are too small a sample for the outlier flag."""
MAD_FACTOR = 3
BAD_ROWS_LIMIT = 200
FINDINGS_LIMIT = 500
CODES_LIMIT = 200
IDS_SHOWN = 50
"""Encounter ids shown per finding in the HTML (the JSON keeps them all)."""
INT_COLUMNS = {"row", *(c for c in OUTPUT_COLUMNS if c.endswith("_cents"))}
FINDINGS_COLUMNS = {
    "rule": "VARCHAR",
    "patient_id": "VARCHAR",
    "practitioner_id": "VARCHAR",
    "code": "VARCHAR",
    "first_date": "DATE",
    "last_date": "DATE",
    "count": "BIGINT",
    "limit": "BIGINT",
    "encounter_ids": "VARCHAR",
    "excess_ids": "VARCHAR",
    "excess_cents": "BIGINT",
    "detail": "VARCHAR",
}
MANIFEST_KEYS = (
    "inputs",
    "format",
    "engine",
    "started",
    "finished",
    "rows_in",
    "rows_out",
    "seconds",
)


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def build_report(out_dir: pathlib.Path, *, top: int = 20) -> dict[str, Any]:
    """Summarise an audit directory, write ``summary.json`` and ``report.html``, return the summary.

    ``top`` bounds the ranked lists (practitioners, conditions, chart bars); the lists of bad rows
    and findings have their own fixed bounds so the files stay readable whatever the input size.
    """
    out_dir = pathlib.Path(out_dir)
    from ngap.audit.duck import connect

    con = connect()
    try:
        con.execute("SET preserve_insertion_order = false")
        _encounters_view(con, out_dir)
        has_findings = _findings_view(con, out_dir)
        summary = _summarise(con, out_dir, top=top, has_findings=has_findings)
    finally:
        con.close()
    _write(out_dir / "summary.json", json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    _write(out_dir / "report.html", render_html(summary))
    return summary


def _summarise(
    con: duckdb.DuckDBPyConnection, out_dir: pathlib.Path, *, top: int, has_findings: bool
) -> dict[str, Any]:
    """The summary dict, keys always present and in a fixed order (diffable between runs)."""
    status = _status_counts(con)
    findings = _findings(con, has_findings)
    texts = _rule_texts(con)
    by_rule = _by_rule(con, texts)
    summary: dict[str, Any] = {
        "version": 1,
        "generated": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "versions": versions(),
        "manifest": _manifest(out_dir),
        **_completion(out_dir),
        "rows": sum(status.values()),
        "status": status,
        "money": _money(con),
        "by_rule": by_rule,
        "by_month": _by_month(con),
        "undated_rows": _scalar(con, "SELECT count(*) FROM enc WHERE month IS NULL"),
        "practitioners": _practitioners(con, top),
        "by_code": _by_code(con),
        "conditions": _conditions(con, top),
        "findings": findings,
        "bad_input": _bad_input(con),
        "rules": _rules_cited(con, texts, by_rule, findings),
    }
    clean: dict[str, Any] = _jsonable(summary)
    return clean


def _write(path: pathlib.Path, text: str) -> None:
    """Write through a temporary file so a reader never sees half a report."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------
# DuckDB views
# --------------------------------------------------------------------------------------------


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _typed_view(
    con: duckdb.DuckDBPyConnection, name: str, raw: str, columns: dict[str, str]
) -> None:
    """View ``name`` over ``raw`` with exactly ``columns``, each cast to its type.

    A column missing from the files (older writer) reads as NULL, and the casts keep the types
    fixed when a file happens to hold an all-null column, so every later query binds the same way.
    """
    present = {row[0] for row in con.execute(f"DESCRIBE {raw}").fetchall()}
    values = {col: f'"{col}"' if col in present else "NULL" for col in columns}
    select = ", ".join(
        f'TRY_CAST({values[col]} AS {kind}) AS "{col}"' for col, kind in columns.items()
    )
    con.execute(f"CREATE VIEW {name} AS SELECT {select} FROM {raw}")


def _encounters_view(con: duckdb.DuckDBPyConnection, out_dir: pathlib.Path) -> None:
    """View ``enc``: every output column with a fixed type, plus ``month`` (YYYY-MM or NULL)."""
    from ngap.audit.runner import part_files

    files = [str(p) for p in part_files(out_dir, "encounters") if p.is_file()]
    if files:
        listing = "[" + ", ".join(_sql_str(f) for f in files) + "]"
        con.execute(
            f"CREATE VIEW enc_raw AS SELECT * FROM read_parquet({listing}, union_by_name = true)"
        )
    else:
        con.execute("CREATE VIEW enc_raw AS SELECT 1 AS _none WHERE false")
    columns = {c: "BIGINT" if c in INT_COLUMNS else "VARCHAR" for c in OUTPUT_COLUMNS}
    _typed_view(con, "enc_typed", "enc_raw", columns)
    con.execute(
        "CREATE VIEW enc AS SELECT *, CASE WHEN regexp_matches(date, '^[0-9]{4}-[0-9]{2}') "
        "THEN substr(date, 1, 7) END AS month FROM enc_typed"
    )


def _findings_view(con: duckdb.DuckDBPyConnection, out_dir: pathlib.Path) -> bool:
    """View ``fnd`` over ``findings.parquet`` with every expected column; False when absent.

    ``code``, ``encounter_ids`` and ``excess_ids`` are lists in ``findings.parquet``; the
    summary gives them in the flat text form of ``findings.jsonl`` (joined by ``;``), as an
    older ``findings.parquet`` held them, so that both read the same.
    """
    path = out_dir / "findings.parquet"
    if not path.exists():
        return False
    con.execute(f"CREATE VIEW fnd_list AS SELECT * FROM read_parquet({_sql_str(str(path))})")
    types = {str(r[0]): str(r[1]) for r in con.execute("DESCRIBE fnd_list").fetchall()}
    joined = [
        f'array_to_string("{name}", \';\') AS "{name}"'
        for name in FINDING_LISTS
        if types.get(name, "").endswith("[]")
    ]
    replace = f" REPLACE ({', '.join(joined)})" if joined else ""
    con.execute(f"CREATE VIEW fnd_raw AS SELECT *{replace} FROM fnd_list")
    _typed_view(con, "fnd", "fnd_raw", FINDINGS_COLUMNS)
    return True


def _records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    return row[0] if row else None


OVER = "greatest(coalesce(difference_cents, 0), 0)"
UNDER = "greatest(-coalesce(difference_cents, 0), 0)"
NO_ASSUMPTION = "coalesce(optimum_assumes, '') = ''"
UNPRICED = "optimal_cents IS NULL AND status IN ('valid', 'conditional', 'violation')"
"""A judged encounter with no optimum (nothing shows what was done): its claim is in the claimed
total, not in the optimal one, so the two totals are not over the same encounters."""


# --------------------------------------------------------------------------------------------
# Aggregates
# --------------------------------------------------------------------------------------------


def _manifest(out_dir: pathlib.Path) -> dict[str, Any]:
    """The run's manifest, reduced to the keys a reader cares about (all optional)."""
    path = out_dir / "manifest.json"
    data: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            data = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            data = {}
    return {key: data.get(key) for key in MANIFEST_KEYS}


def _completion(out_dir: pathlib.Path) -> dict[str, Any]:
    """``complete``: whether the audit finished (its manifest says when); otherwise the report
    covers only the chunks finished so far, and ``progress`` says how many rows they hold."""
    path = out_dir / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict):
        return {"complete": False, "progress": {"chunks": 0, "rows_in": 0, "rows_out": 0}}
    chunks = data.get("chunks")
    entries = [c for c in chunks.values() if isinstance(c, dict)] if isinstance(
        chunks, dict) else []

    def total(key: str) -> int:
        return sum(c[key] for c in entries if isinstance(c.get(key), int))

    return {
        "complete": isinstance(data.get("finished"), str),
        "progress": {
            "chunks": len(entries),
            "rows_in": total("rows_in") if entries else data.get("rows_in") or 0,
            "rows_out": total("rows_out") if entries else data.get("rows_out") or 0,
        },
    }


def _status_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Counts per status; the four known statuses always appear, anything else is kept too."""
    counts = dict.fromkeys(STATUSES, 0)
    rows = con.execute(
        "SELECT coalesce(status, '(none)'), count(*) FROM enc GROUP BY 1 ORDER BY 1"
    ).fetchall()
    for status, n in rows:
        counts[status] = int(n)
    return counts


def _money(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Totals in cents; under-coding is split by whether the optimum relied on unknown context."""
    row = _records(
        con,
        f"""
        SELECT
          coalesce(sum(claimed_cents), 0) AS claimed_cents,
          coalesce(sum(optimal_cents), 0) AS optimal_cents,
          coalesce(sum({OVER}), 0) AS overcoding_cents,
          coalesce(sum({UNDER}), 0) AS undercoding_cents,
          coalesce(sum({UNDER}) FILTER (WHERE {NO_ASSUMPTION}), 0) AS undercoding_certain_cents,
          coalesce(sum({UNDER}) FILTER (WHERE NOT {NO_ASSUMPTION}), 0)
            AS undercoding_if_context_cents,
          coalesce(sum(difference_certain_cents), 0) AS difference_certain_cents,
          coalesce(sum(difference_if_context_cents), 0) AS difference_if_context_cents,
          coalesce(sum(greatest(coalesce(difference_certain_cents, 0), 0)), 0)
            AS overcoding_certain_cents,
          count(difference_cents) AS priced_encounters,
          coalesce(sum(claimed_cents) FILTER (WHERE {UNPRICED}), 0)
            AS claimed_without_optimum_cents,
          count(*) FILTER (WHERE {UNPRICED}) AS encounters_without_optimum,
          count(*) FILTER (WHERE difference_cents > 0) AS overcoding_encounters,
          count(*) FILTER (WHERE difference_cents < 0) AS undercoding_encounters,
          count(*) FILTER (WHERE difference_cents < 0 AND NOT {NO_ASSUMPTION})
            AS undercoding_if_context_encounters
        FROM enc
        """,
    )[0]
    return {key: int(value) for key, value in row.items()}


def _by_rule(
    con: duckdb.DuckDBPyConnection, texts: dict[str, tuple[str, str]]
) -> list[dict[str, Any]]:
    """Encounters and over-coding per violated rule (an encounter counts under each of its rules).

    The rule list of a row is deduplicated first, so a rule broken by two lines of one encounter
    counts that encounter once.
    """
    rows = _records(
        con,
        f"""
        WITH r AS (
          SELECT unnest(list_distinct(string_split(rules, ';'))) AS rule, {OVER} AS over,
                 {UNDER} AS under
          FROM enc WHERE coalesce(rules, '') <> ''
        )
        SELECT rule, count(*) AS encounters, sum(over) AS overcoding_cents,
               sum(under) AS undercoding_cents
        FROM r WHERE rule <> ''
        GROUP BY rule ORDER BY overcoding_cents DESC, encounters DESC, rule
        """,
    )
    cat = load_catalogue().rules
    for row in rows:
        info = cat.get(row["rule"])
        data_article = texts.get(row["rule"], ("", ""))[0]
        row["article"] = info.article if info else data_article
    return [
        {
            k: row[k]
            for k in ("rule", "article", "encounters", "overcoding_cents", "undercoding_cents")
        }
        for row in rows
    ]


def _rule_texts(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    """Article and one message per rule as written in the output (for rules the catalogue lacks)."""
    rows = con.execute(
        """
        WITH z AS (
          SELECT unnest(string_split(rules, ';')) AS rule,
                 unnest(string_split(coalesce(articles, ''), ';')) AS article,
                 unnest(string_split(coalesce(messages, ''), ' | ')) AS message
          FROM enc WHERE coalesce(rules, '') <> ''
        )
        SELECT rule, coalesce(min(article) FILTER (WHERE article <> ''), ''),
               coalesce(min(message) FILTER (WHERE message <> ''), '')
        FROM z WHERE coalesce(rule, '') <> '' GROUP BY rule
        """
    ).fetchall()
    return {rule: (article, message) for rule, article, message in rows}


def _by_month(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Dated rows per month (undated rows, mostly bad input, are counted apart)."""
    return _records(
        con,
        f"""
        SELECT month, count(*) AS encounters,
               count(*) FILTER (WHERE status = 'violation') AS violations,
               count(*) FILTER (WHERE status = 'conditional') AS conditional,
               count(*) FILTER (WHERE status = 'bad_input') AS bad_input,
               coalesce(sum({OVER}), 0) AS overcoding_cents,
               coalesce(sum({UNDER}), 0) AS undercoding_cents
        FROM enc WHERE month IS NOT NULL GROUP BY month ORDER BY month
        """,
    )


def _practitioners(con: duckdb.DuckDBPyConnection, top: int) -> dict[str, Any]:
    """Top practitioners by over-coding, and a robust flag on the violation rate.

    The flag compares each rate with the median + ``MAD_FACTOR`` × MAD (median absolute
    deviation) of the practitioners with at least ``MIN_ENCOUNTERS`` audited encounters: unlike a
    mean and standard deviation, one extreme practitioner cannot hide the others.
    """
    con.execute(
        f"""
        CREATE TEMP TABLE prac AS
        SELECT practitioner_id,
               count(*) FILTER (WHERE status <> 'bad_input') AS encounters,
               count(*) FILTER (WHERE status = 'violation') AS violations,
               count(*) FILTER (WHERE status = 'bad_input') AS bad_input,
               coalesce(sum({OVER}), 0) AS overcoding_cents,
               coalesce(sum({UNDER}), 0) AS undercoding_cents
        FROM enc WHERE coalesce(practitioner_id, '') <> '' GROUP BY practitioner_id
        """
    )
    stats = _records(
        con,
        f"""
        WITH e AS (SELECT violations / encounters AS rate FROM prac
                   WHERE encounters >= {MIN_ENCOUNTERS}),
             m AS (SELECT median(rate) AS med FROM e)
        SELECT (SELECT count(*) FROM prac) AS count,
               (SELECT count(*) FROM e) AS eligible,
               (SELECT med FROM m) AS median_violation_rate,
               (SELECT median(abs(rate - med)) FROM e, m) AS mad
        """,
    )[0]
    med, mad = stats["median_violation_rate"], stats["mad"]
    threshold = None if med is None or mad is None else med + MAD_FACTOR * mad
    flag = (
        "false"
        if threshold is None
        else f"(encounters >= {MIN_ENCOUNTERS} AND violations / encounters > {threshold!r})"
    )
    columns = f"""practitioner_id, encounters, violations,
        CASE WHEN encounters > 0 THEN violations / encounters END AS violation_rate,
        bad_input, overcoding_cents, undercoding_cents,
        encounters >= {MIN_ENCOUNTERS} AS eligible, {flag} AS outlier"""
    ranked = _records(
        con,
        f"SELECT {columns} FROM prac ORDER BY overcoding_cents DESC, violations DESC, "
        f"practitioner_id LIMIT {int(top)}",
    )
    flagged = _records(
        con,
        f"SELECT {columns} FROM prac WHERE {flag} ORDER BY violation_rate DESC, "
        f"overcoding_cents DESC, practitioner_id LIMIT {int(top)}",
    )
    flagged_count = _scalar(con, f"SELECT count(*) FROM prac WHERE {flag}")
    without_id = _scalar(con, "SELECT count(*) FROM enc WHERE coalesce(practitioner_id, '') = ''")
    con.execute("DROP TABLE prac")
    return {
        "count": stats["count"],
        "without_id_rows": without_id,
        "min_encounters": MIN_ENCOUNTERS,
        "eligible": stats["eligible"],
        "median_violation_rate": _round(med),
        "mad": _round(mad),
        "threshold": _round(threshold),
        "flagged_count": flagged_count,
        "top": [_rate_rounded(r) for r in ranked],
        "flagged": [_rate_rounded(r) for r in flagged],
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _rate_rounded(row: dict[str, Any]) -> dict[str, Any]:
    row["violation_rate"] = _round(row["violation_rate"])
    return row


def _by_code(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Claimed lines per code and how they were judged, from the ``lines`` column.

    Over-coding of a code is that of the encounters where at least one of its lines is invalid
    (an encounter with two invalid codes counts under both).
    """
    con.execute(
        f"""
        CREATE TEMP TABLE code_lines AS
        WITH p AS (
          SELECT split_part(item, ':', 1) AS code, split_part(item, ':', 2) AS verdict
          FROM (SELECT unnest(string_split(lines, ';')) AS item
                FROM enc WHERE coalesce(lines, '') <> '')
          WHERE item <> ''
        ),
        c AS (SELECT code, count(*) AS claimed,
                     count(*) FILTER (WHERE verdict = 'invalid') AS in_violation,
                     count(*) FILTER (WHERE verdict = 'conditional') AS conditional
              FROM p GROUP BY code),
        o AS (
          SELECT code, sum(over) AS overcoding_cents FROM (
            SELECT unnest(list_distinct([
                     split_part(x, ':', 1) FOR x IN string_split(lines, ';')
                     IF split_part(x, ':', 2) = 'invalid'])) AS code,
                   {OVER} AS over
            FROM enc WHERE coalesce(lines, '') LIKE '%:invalid%'
          ) GROUP BY code
        )
        SELECT c.code, c.claimed, c.in_violation, c.conditional,
               coalesce(o.overcoding_cents, 0) AS overcoding_cents
        FROM c LEFT JOIN o USING (code)
        """
    )
    rows = _records(
        con,
        f"SELECT * FROM code_lines ORDER BY claimed DESC, code LIMIT {CODES_LIMIT}",
    )
    distinct = _scalar(con, "SELECT count(*) FROM code_lines")
    con.execute("DROP TABLE code_lines")
    return {"distinct": distinct, "codes": rows}


def _conditions(con: duckdb.DuckDBPyConnection, top: int) -> dict[str, Any]:
    """The most frequent conditions of conditional verdicts (what must have held)."""
    total = _scalar(con, "SELECT count(*) FROM enc WHERE status = 'conditional'")
    distinct = _scalar(
        con,
        "SELECT count(DISTINCT coalesce(conditions, '')) FROM enc WHERE status = 'conditional'",
    )
    rows = _records(
        con,
        f"""
        SELECT coalesce(conditions, '') AS condition, count(*) AS encounters,
               coalesce(sum(claimed_cents), 0) AS claimed_cents
        FROM enc WHERE status = 'conditional'
        GROUP BY 1 ORDER BY encounters DESC, condition LIMIT {int(top)}
        """,
    )
    return {"conditional": total, "distinct": distinct, "top": rows}


def _findings(con: duckdb.DuckDBPyConnection, present: bool) -> dict[str, Any]:
    """Rules across encounters (frequency limits): totals, per rule, and the first rows."""
    if not present:
        return {"present": False, "rows": 0, "excess_cents": 0, "by_rule": [], "first": []}
    totals = _records(
        con, "SELECT count(*) AS n, coalesce(sum(excess_cents), 0) AS excess FROM fnd"
    )[0]
    by_rule = _records(
        con,
        """
        SELECT rule, count(*) AS findings, coalesce(sum(excess_cents), 0) AS excess_cents,
               count(DISTINCT patient_id) AS patients,
               count(DISTINCT practitioner_id) AS practitioners
        FROM fnd GROUP BY rule ORDER BY excess_cents DESC, findings DESC, rule
        """,
    )
    first = _records(
        con,
        f"""
        SELECT rule, patient_id, practitioner_id, code, first_date, last_date, count, "limit",
               encounter_ids, excess_ids, excess_cents, detail
        FROM fnd
        ORDER BY excess_cents DESC NULLS LAST, rule, practitioner_id, patient_id, first_date
        LIMIT {FINDINGS_LIMIT}
        """,
    )
    return {
        "present": True,
        "rows": totals["n"],
        "excess_cents": totals["excess"],
        "by_rule": by_rule,
        "first": first,
    }


def _bad_input(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Rows the audit could not read: how many, and the first ones in file order."""
    count = _scalar(con, "SELECT count(*) FROM enc WHERE status = 'bad_input'")
    first = _records(
        con,
        f"""
        SELECT source, row, id, reason FROM enc WHERE status = 'bad_input'
        ORDER BY source, row LIMIT {BAD_ROWS_LIMIT}
        """,
    )
    return {"count": count, "first": first}


def _rules_cited(
    con: duckdb.DuckDBPyConnection,
    texts: dict[str, tuple[str, str]],
    by_rule: list[dict[str, Any]],
    findings: dict[str, Any],
) -> list[dict[str, Any]]:
    """Every rule that appears, with its legal basis (what the output says when not catalogued)."""
    cat = load_catalogue().rules
    details: dict[str, str] = {}
    if findings["present"]:
        details = dict(
            con.execute(
                "SELECT rule, coalesce(min(detail), '') FROM fnd WHERE rule IS NOT NULL "
                "GROUP BY rule"
            ).fetchall()
        )
    ids = sorted(
        {r["rule"] for r in by_rule}
        | {r["rule"] for r in findings["by_rule"] if r["rule"] is not None}
    )
    out = []
    for rid in ids:
        info = cat.get(rid)
        if info is not None:
            out.append(
                {
                    "rule": rid,
                    "in_catalogue": True,
                    "kind": info.kind,
                    "article": info.article,
                    "source": info.source,
                    "message_en": info.message("en", "‹code›", "‹other›"),
                }
            )
            continue
        article, message = texts.get(rid, ("", ""))
        out.append(
            {
                "rule": rid,
                "in_catalogue": False,
                "kind": "",
                "article": article,
                "source": "",
                "message_en": message or details.get(rid, ""),
            }
        )
    return out


def _jsonable(value: Any) -> Any:
    """Dates as ISO strings, decimals as numbers: the summary must survive ``json.dumps``."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --------------------------------------------------------------------------------------------
# Formatting (French conventions: 1 234,56 €)
# --------------------------------------------------------------------------------------------


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def euros(cents: int | None) -> str:
    """``123456`` → ``1 234,56 €`` (space between thousands, comma before the cents)."""
    if cents is None:
        return "—"
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{integer(units)},{rest:02d} €"


def integer(n: int | None) -> str:
    if n is None:
        return "—"
    return f"{int(n):,}".replace(",", " ")


def percent(rate: float | None) -> str:
    if rate is None:
        return "—"
    return f"{rate * 100:.1f}".replace(".", ",") + " %"


def _share(part: int, whole: int) -> str:
    return percent(part / whole) if whole else "—"


def _short(value: Any, size: int = 40) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= size else text[: size - 1] + "…"


# --------------------------------------------------------------------------------------------
# SVG charts
# --------------------------------------------------------------------------------------------


def hbar_svg(title: str, items: Sequence[tuple[str, int]], fmt: Callable[[int], str]) -> str:
    """Horizontal bars, one per (label, value), values ≥ 0; labels are escaped here."""
    items = [(label, value) for label, value in items if value]
    if not items:
        return '<p class="empty">Rien à représenter / nothing to chart.</p>'
    label_w, bar_w, value_w, row_h = 230, 380, 130, 22
    width, height = label_w + bar_w + value_w, row_h * len(items) + 8
    peak = max(value for _, value in items)
    out = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" aria-label="{_esc(title)}"><title>{_esc(title)}</title>'
    ]
    for i, (label, value) in enumerate(items):
        y = 4 + i * row_h
        length = max(1.0, bar_w * value / peak)
        name = _esc(_short(label, 36))
        out.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{name}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{length:.1f}" '
            f'height="{row_h - 6}"/>'
            f'<text x="{label_w + length + 5:.1f}" y="{y + 15}">{_esc(fmt(value))}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def month_svg(months: Sequence[dict[str, Any]]) -> str:
    """Columns per month: over-coding and under-coding side by side, in euros."""
    if not any(m["overcoding_cents"] or m["undercoding_cents"] for m in months):
        return '<p class="empty">Rien à représenter / nothing to chart.</p>'
    col, gap, left, top_pad, plot_h, bottom = 14, 12, 90, 16, 200, 60
    width = left + len(months) * (2 * col + gap) + gap
    height = top_pad + plot_h + bottom
    peak = max(max(m["overcoding_cents"], m["undercoding_cents"]) for m in months)
    base = top_pad + plot_h
    title = "Sur- et sous-cotation par mois / over- and under-coding by month"
    out = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" aria-label="{_esc(title)}"><title>{_esc(title)}</title>',
        f'<line class="axis" x1="{left - 4}" y1="{base}" x2="{width}" y2="{base}"/>',
        f'<text x="{left - 8}" y="{top_pad + 4}" text-anchor="end">{_esc(euros(peak))}</text>',
        f'<text x="{left - 8}" y="{base}" text-anchor="end">0</text>',
    ]
    for i, m in enumerate(months):
        x = left + gap + i * (2 * col + gap)
        for j, (key, css) in enumerate(
            (("overcoding_cents", "over"), ("undercoding_cents", "under"))
        ):
            h = plot_h * m[key] / peak
            label = f"{m['month']} : {euros(m[key])}"
            out.append(
                f'<rect class="{css}" x="{x + j * col}" y="{base - h:.1f}" width="{col - 1}" '
                f'height="{h:.1f}"><title>{_esc(label)}</title></rect>'
            )
        out.append(
            f'<text class="tick" x="{x + col}" y="{base + 12}" text-anchor="end" '
            f'transform="rotate(-45 {x + col} {base + 12})">{_esc(m["month"])}</text>'
        )
    out.append("</svg>")
    legend = (
        '<p class="legend"><span class="swatch over"></span> sur-cotation / over-coding '
        '<span class="swatch under"></span> sous-cotation / under-coding</p>'
    )
    return "".join(out) + legend


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; color: #111;
       max-width: 1100px; margin: 1.5em auto; padding: 0 1em; line-height: 1.35; }
h1 { font-size: 1.6em; border-bottom: 2px solid #333; padding-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #999; }
h3 { font-size: 1.05em; }
nav ol { columns: 2; }
table { border-collapse: collapse; margin: .6em 0; width: 100%; }
th, td { border: 1px solid #bbb; padding: .2em .45em; vertical-align: top; text-align: left; }
th { background: #eee; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
span.ids { font-size: .85em; word-break: break-all; }
td.flag { color: #a00; font-weight: bold; }
p.note, p.empty, p.legend { color: #444; font-size: .92em; }
p.incomplete { background: #fde8e8; border: 2px solid #b00; padding: .6em; }
svg.chart { max-width: 100%; height: auto; font-size: 11px; }
svg.chart text { fill: #222; }
svg.chart .bar { fill: #3a5f8a; }
svg.chart .over, .swatch.over { fill: #a33; background: #a33; }
svg.chart .under, .swatch.under { fill: #38a; background: #38a; }
svg.chart .axis { stroke: #444; }
.swatch { display: inline-block; width: .9em; height: .9em; vertical-align: middle; }
dl dt { font-weight: bold; margin-top: .5em; }
@media print {
  body { max-width: none; margin: 0; font-size: 9pt; }
  nav { display: none; }
  h2 { break-after: avoid; }
  tr, svg.chart { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

SECTIONS = (
    ("summary", "Synthèse / Summary"),
    ("by-rule", "Montants en jeu par règle / Money at stake by rule"),
    ("by-month", "Par mois / By month"),
    ("practitioners", "Praticiens atypiques / Practitioners (outliers)"),
    ("by-code", "Par code / By code"),
    ("conditional", "Verdicts conditionnels / Conditional verdicts"),
    ("findings", "Constats de fréquence / Frequency findings"),
    ("bad-input", "Lignes rejetées / Bad input rows"),
    ("rules", "Règles citées / Rules cited"),
    ("how-to-read", "Comment lire ce rapport / How to read this report"),
)


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int]) -> str:
    """A table from already-escaped cells; ``numeric`` columns are right-aligned."""

    def cls(i: int) -> str:
        return ' class="num"' if i in numeric else ""

    head = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    if not body:
        return '<p class="empty">Aucune ligne / no rows.</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(summary: dict[str, Any]) -> str:
    """The whole report page from a summary dict (escaping every data value)."""
    bodies = {
        "summary": _summary_html(summary),
        "by-rule": _by_rule_html(summary),
        "by-month": _by_month_html(summary),
        "practitioners": _practitioners_html(summary),
        "by-code": _by_code_html(summary),
        "conditional": _conditions_html(summary),
        "findings": _findings_html(summary),
        "bad-input": _bad_input_html(summary),
        "rules": _rules_html(summary),
        "how-to-read": HOW_TO_READ,
    }
    nav = "".join(f'<li><a href="#{sid}">{title}</a></li>' for sid, title in SECTIONS)
    sections = "".join(
        f'<section id="{sid}"><h2>{title}</h2>{bodies[sid]}</section>' for sid, title in SECTIONS
    )
    title = "ngap — rapport d'audit / audit report"
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{CSS}</style></head><body>"
        f"<h1>{title}</h1>{_incomplete_html(summary)}"
        f'<p class="note">Généré le / generated {_esc(summary["generated"])}</p>'
        f"<nav><ol>{nav}</ol></nav>{sections}</body></html>\n"
    )


def _incomplete_html(s: dict[str, Any]) -> str:
    """The banner of a report on an audit that did not finish (interrupted, not resumed)."""
    if s.get("complete", True):
        return ""
    progress = s.get("progress") or {}
    return (
        '<p class="incomplete" role="alert"><strong>Audit incomplet / incomplete audit</strong>: '
        "interrompu avant la fin ; ce rapport ne couvre que les lots terminés / interrupted "
        f"before the end; this report covers only the finished chunks "
        f"({integer(progress.get('chunks'))} lots / chunks, "
        f"{integer(progress.get('rows_out'))} lignes / rows). "
        "<code>ngap audit … --resume</code> le complète / completes it.</p>"
    )


def _summary_html(s: dict[str, Any]) -> str:
    rows, money, status = s["rows"], s["money"], s["status"]
    lines: list[tuple[str, str]] = [("Lignes auditées / rows", integer(rows))]
    names = {
        "valid": "valides / valid",
        "conditional": "conditionnelles / conditional",
        "violation": "en violation / violation",
        "bad_input": "rejetées / bad input",
    }
    for key, n in status.items():
        label = names.get(key, _esc(key))
        lines.append((f"— {label}", f"{integer(n)} ({_share(n, rows)})"))
    lines += [
        ("Montant facturé / claimed", euros(money["claimed_cents"])),
        (
            "Cotation optimale / optimal (rencontres avec optimum / encounters with one)",
            euros(money["optimal_cents"]),
        ),
        (
            "Facturé sans optimum / claimed with no optimum (rien ne dit l'acte fait / nothing "
            "shows what was done)",
            f"{euros(money['claimed_without_optimum_cents'])} "
            f"({integer(money['encounters_without_optimum'])} rencontres / encounters)",
        ),
        (
            "Écart certain / certain difference (quel que soit le contexte inconnu / whatever "
            "the unknown context)",
            euros(money["difference_certain_cents"]),
        ),
        (
            "Écart si le contexte inconnu le permet / difference only if the unknown context "
            "allows",
            euros(money["difference_if_context_cents"]),
        ),
        (
            "Sur-cotation / over-coding",
            f"{euros(money['overcoding_cents'])} "
            f"({integer(money['overcoding_encounters'])} rencontres / encounters)",
        ),
        (
            "Sous-cotation / under-coding",
            f"{euros(money['undercoding_cents'])} "
            f"({integer(money['undercoding_encounters'])} rencontres / encounters)",
        ),
        ("— certaine / certain", euros(money["undercoding_certain_cents"])),
        (
            "— si le contexte inconnu le permet / if the unknown context allows",
            f"{euros(money['undercoding_if_context_cents'])} "
            f"({integer(money['undercoding_if_context_encounters'])} rencontres / encounters)",
        ),
        (
            "Constats de fréquence / frequency findings",
            f"{integer(s['findings']['rows'])} ({euros(s['findings']['excess_cents'])})"
            if s["findings"]["present"]
            else "— (pas de findings.parquet / none)",
        ),
    ]
    table = _table(["", "Valeur / value"], lines, {1})
    return table + _run_html(s["manifest"])


def _run_html(manifest: dict[str, Any]) -> str:
    inputs = manifest.get("inputs") or []
    paths = ", ".join(
        f"{i.get('path', '?')} ({i.get('rows', '?')})" if isinstance(i, dict) else str(i)
        for i in inputs
    )
    rows = [
        (label, _esc(manifest.get(key)))
        for label, key in (
            ("Format", "format"),
            ("Moteur / engine", "engine"),
            ("Début / started", "started"),
            ("Fin / finished", "finished"),
            ("Lignes lues / rows in", "rows_in"),
            ("Lignes écrites / rows out", "rows_out"),
            ("Durée (s) / seconds", "seconds"),
        )
        if manifest.get(key) is not None
    ]
    if paths:
        rows.insert(0, ("Fichiers / inputs", _esc(paths)))
    if not rows:
        return ""
    return "<h3>Exécution / run</h3>" + _table(["", ""], rows, set())


def _by_rule_html(s: dict[str, Any]) -> str:
    rules = s["by_rule"]
    chart = hbar_svg(
        "Sur-cotation par règle / over-coding by rule",
        [(r["rule"], r["overcoding_cents"]) for r in rules[:20]],
        euros,
    )
    note = (
        '<p class="note">Une rencontre qui enfreint deux règles compte sous chacune : la colonne '
        "ne s'additionne pas. / An encounter breaking two rules counts under both: the column "
        "does not add up to the total.</p>"
    )
    table = _table(
        ["Règle / rule", "Article", "Rencontres / encounters", "Sur-cotation / over-coding"],
        [
            (
                _esc(r["rule"]),
                _esc(r["article"]),
                integer(r["encounters"]),
                euros(r["overcoding_cents"]),
            )
            for r in rules
        ],
        {2, 3},
    )
    return chart + note + table


def _by_month_html(s: dict[str, Any]) -> str:
    months = s["by_month"]
    table = _table(
        [
            "Mois / month",
            "Rencontres / encounters",
            "Violations",
            "Taux / rate",
            "Sur-cotation / over",
            "Sous-cotation / under",
        ],
        [
            (
                _esc(m["month"]),
                integer(m["encounters"]),
                integer(m["violations"]),
                _share(m["violations"], m["encounters"] - m["bad_input"]),
                euros(m["overcoding_cents"]),
                euros(m["undercoding_cents"]),
            )
            for m in months
        ],
        {1, 2, 3, 4, 5},
    )
    undated = ""
    if s["undated_rows"]:
        undated = (
            f'<p class="note">{integer(s["undated_rows"])} lignes sans date / '
            "undated rows (not in this table).</p>"
        )
    return month_svg(months) + table + undated


def _practitioner_rows(rows: Sequence[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [
        (
            str(i),
            _esc(p["practitioner_id"]),
            integer(p["encounters"]),
            integer(p["violations"]),
            percent(p["violation_rate"]),
            euros(p["overcoding_cents"]),
            euros(p["undercoding_cents"]),
            "⚑ atypique / outlier" if p["outlier"] else "",
        )
        for i, p in enumerate(rows, 1)
    ]


PRACTITIONER_HEADERS = (
    "#",
    "Praticien / practitioner",
    "Rencontres / encounters",
    "Violations",
    "Taux / rate",
    "Sur-cotation / over",
    "Sous-cotation / under",
    "Signal / flag",
)


def _practitioners_html(s: dict[str, Any]) -> str:
    p = s["practitioners"]
    stats = (
        f'<p class="note">{integer(p["count"])} praticiens / practitioners; '
        f"{integer(p['eligible'])} avec au moins / with at least {p['min_encounters']} "
        "rencontres / encounters. Taux médian / median rate "
        f"{percent(p['median_violation_rate'])}, MAD {percent(p['mad'])}, seuil / threshold "
        f"(médiane + {MAD_FACTOR} × MAD) {percent(p['threshold'])} : "
        f"{integer(p['flagged_count'])} atypique(s) / outlier(s).</p>"
    )
    chart = hbar_svg(
        "Sur-cotation par praticien / over-coding by practitioner",
        [(r["practitioner_id"], r["overcoding_cents"]) for r in p["top"]],
        euros,
    )
    ranked = _table(PRACTITIONER_HEADERS, _practitioner_rows(p["top"]), {0, 2, 3, 4, 5, 6})
    flagged = _table(PRACTITIONER_HEADERS, _practitioner_rows(p["flagged"]), {0, 2, 3, 4, 5, 6})
    return (
        stats
        + chart
        + "<h3>Classés par sur-cotation / ranked by over-coding</h3>"
        + ranked
        + "<h3>Taux de violation atypique / outlying violation rate</h3>"
        + flagged
    )


def _by_code_html(s: dict[str, Any]) -> str:
    codes = s["by_code"]["codes"]
    chart = hbar_svg(
        "Sur-cotation par code invalide / over-coding by invalid code",
        sorted(((c["code"], c["overcoding_cents"]) for c in codes), key=lambda x: -x[1])[:20],
        euros,
    )
    table = _table(
        [
            "Code",
            "Lignes facturées / claimed",
            "Invalides / in violation",
            "Conditionnelles / conditional",
            "Sur-cotation / over-coding",
        ],
        [
            (
                _esc(c["code"]),
                integer(c["claimed"]),
                integer(c["in_violation"]),
                integer(c["conditional"]),
                euros(c["overcoding_cents"]),
            )
            for c in codes
        ],
        {1, 2, 3, 4},
    )
    note = (
        '<p class="note">La sur-cotation d\'un code est celle des rencontres où il est invalide '
        "(une rencontre compte sous chacun de ses codes invalides). / Over-coding of a code is "
        "that of the encounters where it is invalid (counted under each invalid code).</p>"
    )
    return chart + note + table


def _conditions_html(s: dict[str, Any]) -> str:
    c = s["conditions"]
    head = (
        f'<p class="note">{integer(c["conditional"])} verdicts conditionnels / conditional '
        f"verdicts, {integer(c['distinct'])} conditions distinctes / distinct.</p>"
    )
    table = _table(
        ["Condition", "Rencontres / encounters", "Part / share", "Facturé / claimed"],
        [
            (
                _esc(r["condition"] or "(non précisée / unspecified)"),
                integer(r["encounters"]),
                _share(r["encounters"], c["conditional"]),
                euros(r["claimed_cents"]),
            )
            for r in c["top"]
        ],
        {1, 2, 3},
    )
    return head + table


def _ids(text: str | None) -> str:
    ids = [i for i in (text or "").split(";") if i]
    shown = "; ".join(ids[:IDS_SHOWN])
    more = f" … (+{len(ids) - IDS_SHOWN})" if len(ids) > IDS_SHOWN else ""
    return _esc(shown + more)


def _findings_html(s: dict[str, Any]) -> str:
    f = s["findings"]
    if not f["present"]:
        return '<p class="empty">Pas de constats (findings.parquet absent) / no findings.</p>'
    by_rule = _table(
        [
            "Règle / rule",
            "Constats / findings",
            "Patients",
            "Praticiens / practitioners",
            "Excédent / excess",
        ],
        [
            (
                _esc(r["rule"]),
                integer(r["findings"]),
                integer(r["patients"]),
                integer(r["practitioners"]),
                euros(r["excess_cents"]),
            )
            for r in f["by_rule"]
        ],
        {1, 2, 3, 4},
    )
    shown = (
        f'<p class="note">{integer(len(f["first"]))} premiers constats sur / first findings '
        f"of {integer(f['rows'])} (par excédent décroissant / by excess).</p>"
    )
    rows = _table(
        [
            "Règle / rule",
            "Patient",
            "Praticien",
            "Code",
            "Du / from",
            "Au / to",
            "Nombre / count",
            "Limite / limit",
            "Excédent / excess",
            "Rencontres / encounters",
            "En excès / excess ids",
            "Détail / detail",
        ],
        [
            (
                _esc(r["rule"]),
                _esc(r["patient_id"]),
                _esc(r["practitioner_id"]),
                _esc(r["code"]),
                _esc(r["first_date"]),
                _esc(r["last_date"]),
                integer(r["count"]),
                integer(r["limit"]),
                euros(r["excess_cents"]),
                f'<span class="ids">{_ids(r["encounter_ids"])}</span>',
                f'<span class="ids">{_ids(r["excess_ids"])}</span>',
                _esc(r["detail"]),
            )
            for r in f["first"]
        ],
        {6, 7, 8},
    )
    return by_rule + shown + rows


def _bad_input_html(s: dict[str, Any]) -> str:
    b = s["bad_input"]
    head = (
        f'<p class="note">{integer(b["count"])} lignes rejetées / bad input rows'
        + (f" ({BAD_ROWS_LIMIT} premières / first shown)" if b["count"] > BAD_ROWS_LIMIT else "")
        + ".</p>"
    )
    table = _table(
        ["Fichier / source", "Ligne / row", "Id", "Motif / reason"],
        [
            (_esc(r["source"]), integer(r["row"]), _esc(r["id"]), _esc(r["reason"]))
            for r in b["first"]
        ],
        {1},
    )
    return head + table


def _rules_html(s: dict[str, Any]) -> str:
    return _table(
        ["Règle / rule", "Article", "Source", "Message (en)"],
        [
            (
                _esc(r["rule"]) + ("" if r["in_catalogue"] else " <em>(hors catalogue)</em>"),
                _esc(r["article"]),
                _esc(r["source"]),
                _esc(r["message_en"]),
            )
            for r in s["rules"]
        ],
        set(),
    )


HOW_TO_READ = """
<dl>
<dt>valid / valide</dt>
<dd>La cotation respecte toutes les règles, quel que soit le contexte non renseigné.
The claim breaks no rule, whatever the context the data leave unknown.</dd>
<dt>conditional / conditionnel</dt>
<dd>La cotation n'est correcte que si un contexte non renseigné (heure, urgence, régulation…)
avait la valeur indiquée dans la colonne « condition ». À vérifier dans le dossier.
The claim is right only if some unknown context (time, urgency, regulation…) had the value given
under “condition”: to be checked against the record.</dd>
<dt>violation</dt>
<dd>Au moins une règle est enfreinte quel que soit le contexte ; la règle et son article sont
cités. At least one rule is broken in every possible context; the rule and its article are
cited.</dd>
<dt>bad_input / rejetée</dt>
<dd>La ligne n'a pas pu être lue (colonne manquante, date ou code illisible…) : elle n'est pas
jugée. The row could not be read (missing column, unreadable date or code…): it is not judged.</dd>
<dt>Sur-cotation / over-coding</dt>
<dd>Montant facturé supérieur à la meilleure cotation légitime de ce qui a été fait (écart
positif). The claim exceeds the best legitimate cotation of what was done (positive
difference).</dd>
<dt>Sous-cotation / under-coding</dt>
<dd>Montant facturé inférieur à ce qui pouvait l'être (écart négatif, compté en valeur absolue).
The claim is below what could have been billed (negative difference, shown as a positive
amount).</dd>
<dt>Contexte inconnu / unknown context</dt>
<dd>Quand l'optimum suppose un contexte non renseigné (colonne « optimum_assumes »), la
sous-cotation n'est acquise que si ce contexte était réel : elle est comptée à part (« si le
contexte le permet »). When the optimum relied on unknown context (column “optimum_assumes”), the
under-coding only holds if that context was real: it is counted apart (“if the context
allows”).</dd>
<dt>Montants / amounts</dt>
<dd>Tarifs opposables à la date de l'acte, en euros. Les totaux par règle, par code et par
praticien se recoupent : une rencontre compte sous chacune de ses règles ou codes.
Opposable rates on the date of the act, in euros. Totals by rule, code and practitioner overlap:
an encounter counts under each of its rules or codes.</dd>
</dl>
"""
