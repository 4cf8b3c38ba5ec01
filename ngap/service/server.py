"""Running the service with uvicorn: settings travel to every worker process by environment.

uvicorn starts several workers from an import string, so the application is built by a factory
(``factory``) that reads its settings from ``NGAP_SERVICE_*`` variables set by ``run``.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from ngap.service.app import Settings, create_app

_PREFIX = "NGAP_SERVICE_"


def settings_from_env() -> Settings:
    env = os.environ
    cors = env.get(_PREFIX + "CORS", "")
    limit = env.get(_PREFIX + "TIME_LIMIT", "10.0")
    return Settings(
        max_body_bytes=int(env.get(_PREFIX + "MAX_BODY", "1000000")),
        solve_seconds=float(limit) if float(limit) > 0 else None,
        warm=env.get(_PREFIX + "WARM", "1") != "0",
        cors_origins=tuple(o.strip() for o in cors.split(",") if o.strip()),
    )


def factory() -> FastAPI:
    """The application of one worker process (``uvicorn --factory ngap.service.server:factory``)."""
    return create_app(settings_from_env())


def run(
    host: str, port: int, workers: int, max_body: int, time_limit: float, cors: str | None
) -> None:
    import uvicorn

    if workers < 1:
        raise ValueError("--workers must be at least 1")
    if max_body < 1:
        raise ValueError("--max-body must be positive")
    os.environ[_PREFIX + "MAX_BODY"] = str(max_body)
    os.environ[_PREFIX + "TIME_LIMIT"] = str(time_limit)
    os.environ[_PREFIX + "CORS"] = cors or ""
    uvicorn.run(
        "ngap.service.server:factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
