"""The JSON API: optimise, enumerate, check, why-not, the catalogue, vendor rule sets.

Solver endpoints are ``async`` on purpose: a worker process has one grounded program, which is
not thread-safe, so requests are solved one after the other on the event loop (each takes about
a millisecond; the time limit bounds the rest).  Rule-set validation, which can take seconds,
runs in a thread with its own solver, one validation at a time.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse

from ngap.service import pages
from ngap.service.operations import Engine, ServiceError, bad_input, encounter_from, parse_date
from ngap.versions import versions

router = APIRouter()

ENCOUNTER_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Encounter"}},
        },
    }
}
"""The request body of the solver endpoints: the encounter of ``ngap schema``."""

MAX_VENDOR_FILES = 20
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_validate_lock = threading.Lock()


def _json(data: dict[str, Any]) -> JSONResponse:
    """The answer as it is: serialised once, without response-model validation (the solver
    endpoints answer in about a millisecond; validating the answer would double that)."""
    return JSONResponse(data)


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ServiceError(400, "bad_input", f"<request>: not valid JSON: {error}") from error


@router.post("/optimise", openapi_extra=ENCOUNTER_BODY, tags=["solver"], response_model=None)
async def optimise(request: Request) -> JSONResponse:
    """Every cotation of maximal total that breaks no rule (ties included)."""
    encounter = encounter_from(await _body(request))
    return _json(engine_of(request).optimise(encounter))


@router.post("/enumerate", openapi_extra=ENCOUNTER_BODY, tags=["solver"], response_model=None)
async def enumerate_(
    request: Request, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> JSONResponse:
    """Every valid cotation, ranked by total (at most ``limit``)."""
    encounter = encounter_from(await _body(request))
    return _json(engine_of(request).enumerate(encounter, limit))


@router.post("/check", openapi_extra=ENCOUNTER_BODY, tags=["solver"], response_model=None)
async def check(
    request: Request,
    claimed: Annotated[
        str | None, Query(description="Claimed codes, comma-separated (else the body's).")
    ] = None,
) -> JSONResponse:
    """Judge a claimed coding: violated rules with their articles, money at stake."""
    encounter = encounter_from(await _body(request))
    codes = [c for c in claimed.split(",") if c.strip()] if claimed is not None else None
    return _json(engine_of(request).check(encounter, codes))


@router.post("/why-not", openapi_extra=ENCOUNTER_BODY, tags=["solver"], response_model=None)
async def why_not(
    request: Request,
    code: Annotated[str, Query(description="The code missing from the answer (e.g. MN).")],
) -> JSONResponse:
    """Why a code is not on the optimal cotation: the rules the best cotation with it breaks,
    and the context (open or given) under which it would be billable."""
    encounter = encounter_from(await _body(request))
    return _json(engine_of(request).why_not(encounter, code))


@router.get("/codes", tags=["catalogue"])
async def codes(
    request: Request,
    date: Annotated[str | None, Query(description="YYYY-MM-DD (default today).")] = None,
) -> dict[str, Any]:
    """The catalogue of codes in force on a date, with amounts and grades."""
    return engine_of(request).codes(parse_date(date))


@router.get("/codes/{code:path}", tags=["catalogue"], response_model=None)
async def code(request: Request, response: Response, code: str) -> dict[str, Any] | HTMLResponse:
    """A code's legal basis, dated tariffs and sources (a browser gets the code's page)."""
    response.headers["Vary"] = "Accept"
    if pages.wants_html(request):
        return pages.code_page(request, code)
    return engine_of(request).code(code)


@router.get("/rules/{rule_id:path}", tags=["catalogue"], response_model=None)
async def rule(request: Request, response: Response, rule_id: str) -> dict[str, Any] | HTMLResponse:
    """A rule's article, source, period in force and messages (a browser gets its page)."""
    response.headers["Vary"] = "Accept"
    if pages.wants_html(request):
        return pages.rule_page(request, rule_id)
    return engine_of(request).rule(rule_id)


@router.get("/version", tags=["catalogue"])
async def version() -> dict[str, Any]:
    """The tool version and the knowledge-base fingerprint and revision date."""
    return {"versions": versions()}


@router.post("/validate-ruleset", tags=["analysis"])
async def validate_ruleset(
    request: Request,
    files: Annotated[list[UploadFile], File(description="Vendor files (.csv, .json, .yaml).")],
    date: Annotated[str | None, Form(description="YYYY-MM-DD (default today).")] = None,
) -> dict[str, Any]:
    """Compare a vendor's rule set with the model (docs/vendor-formats.md): every difference
    with its NGAP article and a witness encounter."""
    day = parse_date(date) if date else None
    if len(files) > MAX_VENDOR_FILES:
        raise bad_input(f"files: at most {MAX_VENDOR_FILES} files", ["files"])
    contents: list[tuple[str, bytes]] = []
    for upload in files:
        name = Path(upload.filename or "").name
        if not _SAFE_NAME.match(name) or Path(name).suffix.lower() not in (
            ".csv",
            ".json",
            ".yaml",
            ".yml",
        ):
            raise bad_input(
                f"files: {name!r} is not a file name ending in .csv, .json, .yaml", ["files"]
            )
        contents.append((name, await upload.read()))
    return await run_in_threadpool(_validate, request.app.state, contents, day)


def _validate(state: Any, contents: list[tuple[str, bytes]], day: Any) -> dict[str, Any]:
    from ngap.analysis.vendor import Validator
    from ngap.model.eras import DateOutOfRange

    with _validate_lock, tempfile.TemporaryDirectory(prefix="ngap-vendor-") as folder:
        validator = getattr(state, "validator", None)
        if validator is None:
            validator = Validator()
            state.validator = validator
        for name, content in contents:
            (Path(folder) / name).write_bytes(content)
        try:
            report = validator.validate([folder], day)
        except DateOutOfRange as error:
            raise bad_input(str(error), ["date"]) from error
    data = report.to_dict()
    # Files are named as uploaded, not by the server's temporary folder.
    data["files"] = [Path(f).name for f in data.get("files", [])]
    text = json.dumps(data, ensure_ascii=False).replace(folder + "/", "")
    result: dict[str, Any] = json.loads(text)
    result["versions"] = versions()
    return result
