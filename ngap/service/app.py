"""The web service: ``create_app()`` builds the FastAPI application.

One ``Nomenclature.load()`` per worker process, at startup (and, by default, every era
grounded then, so the first request is as fast as the others).  Requests larger than
``max_body_bytes`` are refused with 413, every solve runs under a time limit (503 beyond), bad
input is a 4xx with the command line's message naming the field, and no response ever carries a
traceback.  CORS is off unless origins are given.  Routes live in routers (``api.router``,
``calculator.router``) so that HTML pages can be added beside the JSON ones.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ngap import __version__
from ngap.io import encounter_schema
from ngap.service import api, calculator, pages
from ngap.service.operations import Engine, ServiceError
from ngap.solver.engine import Nomenclature
from ngap.versions import versions

log = logging.getLogger("ngap.service")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Settings:
    max_body_bytes: int = 1_000_000
    """Requests with a larger body are refused (413) before they are read."""
    solve_seconds: float | None = 10.0
    """Time limit of the solves of one request (503 beyond); None: no limit."""
    warm: bool = True
    """Ground every era at startup (a few seconds) rather than on first use."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed by CORS; empty: CORS off."""


def _error_response(error: ServiceError) -> JSONResponse:
    return JSONResponse(error.to_dict(), status_code=error.status)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies above ``limit`` bytes with 413, by Content-Length or as they
    stream in (a chunked upload cannot slip past)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refuse(send)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        error = ServiceError(
            413, "too_large", f"request body larger than {self.limit} bytes", ["body"]
        )
        body = json.dumps(error.to_dict(), ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The OpenAPI document, with the encounter schema of ``ngap schema`` as a component."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        encounter = encounter_schema()
        defs = encounter.pop("$defs", {})
        for key in ("$schema", "$id"):
            encounter.pop(key, None)
        text = json.dumps({"Encounter": encounter, **defs}).replace(
            '"#/$defs/', '"#/components/schemas/'
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(json.loads(text))
        app.openapi_schema = schema
        return schema

    return build


def create_app(
    settings: Settings | None = None, nomenclature: Nomenclature | None = None
) -> FastAPI:
    """The application; ``nomenclature`` is loaded at startup unless given (tests share one)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loaded = nomenclature or Nomenclature.load()
        if settings.warm:
            loaded.ground_all()
        app.state.engine = Engine(loaded, settings.solve_seconds)
        yield

    app = FastAPI(
        title="ngap",
        version=__version__,
        description="The NGAP billing rules for general practitioners: optimise, enumerate, "
        "check a claimed coding, why not a code; the catalogue of codes and rules.",
        lifespan=lifespan,
        docs_url="/docs/swagger",
        redoc_url=None,
    )
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    app.include_router(api.router)
    app.include_router(calculator.router)
    app.include_router(pages.router)
    static = resources.files("ngap.service").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        """The API reference from the OpenAPI document, served without any network access."""
        return calculator.api_reference(request, app.openapi())

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, error: ServiceError) -> JSONResponse:
        return _error_response(error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        fields = [".".join(str(p) for p in item["loc"]) for item in error.errors()]
        lines = [f"{f}: {item['msg']}" for f, item in zip(fields, error.errors(), strict=True)]
        return _error_response(
            ServiceError(422, "bad_input", "invalid request\n  " + "\n  ".join(lines), fields)
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return _error_response(ServiceError(error.status_code, "http", str(error.detail)))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        log.exception("internal error on %s", request.url.path)
        return JSONResponse(
            {
                "error": {"status": 500, "kind": "internal", "message": "internal error"},
                "versions": versions(),
            },
            status_code=500,
        )

    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
        )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return app
