"""`/` → `/ui/`, the console's shell and files, and `/docs` / `/redoc` with local assets.

The console is a client of the JSON API like any other (docs/DECISIONS.md): the server only
hands out its files. Its pages get a strict Content-Security-Policy; the docs pages run the
inline bootstrap FastAPI writes for Swagger UI and ReDoc, so theirs allows inline code but
still no other origin.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import RedirectResponse

from config_service.configs.preconditions import none_match
from config_service.errors import NotFound
from config_service.http import ClientInputRoute
from config_service.web.assets import Asset, AssetDir

router = APIRouter(include_in_schema=False, route_class=ClientInputRoute)

UI_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}
# No hash in the file names (there is no build step): browsers revalidate every time, and an
# unchanged file costs a 304.
REVALIDATE = "no-cache"

UI_FILES = AssetDir(Path(__file__).parent / "static")
DOCS_FILES = AssetDir(Path(str(resources.files("fastapi_offline") / "static")))
DOCS_ASSETS = "/docs/assets"


def _asset_response(request: Request, asset: Asset, csp: str) -> Response:
    headers = {
        **COMMON_HEADERS, "Content-Security-Policy": csp, "Cache-Control": REVALIDATE, "ETag": f'"{asset.etag}"'
    }
    if none_match(request.headers.get("if-none-match"), asset.etag):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=302)


@router.get("/ui")
async def ui_bare() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=302)


@router.get("/ui/")
async def ui_shell(request: Request) -> Response:
    """The console's one page; everything else happens in the browser through the API."""
    asset = UI_FILES.get("index.html")
    if asset is None:
        raise NotFound("the console's files are missing from this installation")
    return _asset_response(request, asset, UI_CSP)


@router.get("/ui/static/{name}")
async def ui_file(request: Request, name: str) -> Response:
    asset = UI_FILES.get(name)
    if asset is None or name == "index.html":
        raise NotFound(f"no console file '{name}'")
    return _asset_response(request, asset, UI_CSP)


@router.get("/docs")
async def swagger_ui(request: Request) -> Response:
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
    )
    page.headers.update({**COMMON_HEADERS, "Content-Security-Policy": DOCS_CSP})
    return page


@router.get("/redoc")
async def redoc(request: Request) -> Response:
    page = get_redoc_html(
        openapi_url="/openapi.json",
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        with_google_fonts=False,
    )
    page.headers.update({**COMMON_HEADERS, "Content-Security-Policy": DOCS_CSP})
    return page


@router.get(DOCS_ASSETS + "/{name}")
async def docs_file(request: Request, name: str) -> Response:
    asset = DOCS_FILES.get(name)
    if asset is None:
        raise NotFound(f"no docs asset '{name}'")
    return _asset_response(request, asset, DOCS_CSP)
