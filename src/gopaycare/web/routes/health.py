from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from ...platform.errors import NotFound, Unauthenticated
from ..deps import Svc
from ..schemas.operations import HealthOut

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(svc: Svc) -> HealthOut:
    with svc.db.read() as s:
        s.execute(text("SELECT 1"))
    return HealthOut(status="ok", database=svc.db.dialect, jobs="redis" if svc.settings.redis_url else "embedded")


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, svc: Svc) -> Response:
    """Prometheus' scrape: off with GOPAYCARE_METRICS_ENABLED=false; with GOPAYCARE_METRICS_TOKEN set,
    only for `Authorization: Bearer <token>` (route names and counts tell an attacker what is used)."""
    settings = svc.settings
    if not settings.metrics_enabled:
        raise NotFound("metrics are off on this instance")
    if settings.metrics_token is not None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
        if not hmac.compare_digest(given, settings.metrics_token.encode()):
            raise Unauthenticated("metrics need the metrics token")
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
