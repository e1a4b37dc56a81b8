"""The landing page of a running instance (the agent console and chat widget come later)."""

from __future__ import annotations

from html import escape

from ..container import Services

_TEXT = {
    "title": "GoPay Care 客服平台",
    "intro": "GoPay 电子钱包的客户服务平台正在运行。",
    "links": [("/docs", "API 文档 / API docs / Dokumentasi API"), ("/healthz", "健康检查 / Health / Kesehatan"),
              ("/metrics", "指标 / Metrics / Metrik")],
}


def landing_page(services: Services) -> str:
    links = "".join(f'<li><a href="{href}">{escape(label)}</a></li>' for href, label in _TEXT["links"])
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(_TEXT['title'])}</title></head><body><h1>{escape(_TEXT['title'])}</h1><p>{escape(_TEXT['intro'])}</p>"
        f"<p>Database: {escape(services.db.dialect)}</p><ul>{links}</ul></body></html>"
    )
