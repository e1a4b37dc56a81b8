from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from ...container import Services
from ..deps import services

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(svc: Services = Depends(services)) -> dict[str, str]:
    with svc.db.read() as s:
        s.execute(text("SELECT 1"))
    return {"status": "ok", "database": svc.db.dialect, "jobs": "redis" if svc.settings.redis_url else "embedded"}


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
