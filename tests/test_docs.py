"""/docs works without internet: Swagger UI's page refers only to this server, whose copies of the
assets (swagger-ui-dist from npm, `make vendor`) answer with their licence beside them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gopaycare.web.docs import STATIC_DIR

ASSETS = {
    "/static/vendor/swagger-ui/swagger-ui-bundle.js": "javascript",
    "/static/vendor/swagger-ui/swagger-ui.css": "text/css",
    "/static/vendor/swagger-ui/favicon-32x32.png": "image/png",
}


@pytest.mark.parametrize("backend", ["sqlite"])  # the page does not depend on the database
def test_the_docs_page_and_its_assets_come_from_this_server(client):
    # When the docs page is fetched
    page = client.get("/docs")

    # Then it is Swagger UI on /openapi.json, and every address it loads is a path on this server
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.text and "'/openapi.json'" in page.text
    assert "://" not in page.text and "//cdn" not in page.text
    loaded = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert sorted(loaded) == sorted(ASSETS)
    assert '"validatorUrl": null' in page.text

    # And each asset answers, with its type
    for path, kind in ASSETS.items():
        asset = client.get(path)
        assert asset.status_code == 200, path
        assert kind in asset.headers["content-type"], (path, asset.headers["content-type"])
        assert len(asset.content) > 500


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_oauth2_redirect_page_is_local_and_missing_assets_are_404(client):
    redirect = client.get("/docs/oauth2-redirect")
    missing = client.get("/static/vendor/swagger-ui/nothing.js")
    outside = client.get("/static/../docs.py")

    assert redirect.status_code == 200 and "://" not in redirect.text
    assert missing.status_code == 404
    assert outside.status_code == 404


def test_the_vendored_copy_carries_its_licence_and_version():
    vendor = STATIC_DIR / "vendor" / "swagger-ui"

    assert "Apache License" in (vendor / "LICENSE").read_text(encoding="utf-8")
    assert (vendor / "NOTICE").is_file() and (vendor / "swagger-ui-bundle.js.LICENSE.txt").is_file()
    assert re.fullmatch(r"swagger-ui-dist \d+\.\d+\.\d+ \(npm\), taken by `make vendor`\n",
                        (vendor / "VERSION").read_text(encoding="utf-8"))


def test_the_readme_works_from_a_clone_commands_and_links():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")

    # Every `gopaycare` command is spelled with its path (a clone has no `gopaycare` on PATH)
    bare = re.findall(r"(?:^|[`(\s])(gopaycare (?:serve|demo|migrate|worker|ledger|agents|tokens|outbox|nlu)\b)",
                      readme, re.MULTILINE)
    assert bare == []
    # And the documents it links are in the repository
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        if "://" not in target:
            assert (Path(__file__).resolve().parents[1] / target).exists(), target
    assert "../shared" not in readme
