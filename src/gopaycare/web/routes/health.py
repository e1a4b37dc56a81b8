from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from ..deps import Svc
from ..schemas.operations import HealthOut

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(svc: Svc) -> HealthOut:
    with svc.db.read() as s:
        s.execute(text("SELECT 1"))
    return HealthOut(status="ok", database=svc.db.dialect, jobs="redis" if svc.settings.redis_url else "embedded")


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
