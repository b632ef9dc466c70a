"""The console's and the docs' files as the running service serves them (no browser needed):
redirects, security headers, validators, package data, and rules the front-end code keeps."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

STATIC = Path(__file__).resolve().parent.parent / "config_service" / "web" / "static"
JS_FILES = sorted(STATIC.glob("*.js"))


@pytest.fixture(scope="module")
def web(server) -> httpx.Client:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


# ---- routes and headers ------------------------------------------------------------------


def test_root_and_bare_ui_redirect_to_the_console(web):
    for path in ("/", "/ui"):
        response = web.get(path)
        assert response.status_code == 302, path
        assert response.headers["location"] == "/ui/"


def test_console_shell_has_a_strict_csp_and_security_headers(web):
    response = web.get("/ui/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = csp_directives(response.headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no other origin
    assert csp["style-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/ui/static/app.js">' in response.text


def test_static_files_have_types_validators_and_304(web):
    response = web.get("/ui/static/app.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers
    etag = response.headers["etag"]
    assert response.content == (STATIC / "app.js").read_bytes()
    again = web.get("/ui/static/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    css = web.get("/ui/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert web.get("/ui/static/favicon.svg").headers["content-type"] == "image/svg+xml"


@pytest.mark.parametrize("name", ["nope.js", "..%2Fendpoints.py", "..%2F__init__.py", "index.html", "%2Fetc%2Fpasswd"])
def test_only_shipped_console_files_are_served(web, name):
    response = web.get(f"/ui/static/{name}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_every_module_the_console_imports_is_served(web):
    """Follow the import graph from app.js: a missing file would be a blank page."""
    seen: set[str] = set()
    todo = ["app.js"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        response = web.get(f"/ui/static/{name}")
        assert response.status_code == 200, name
        todo += re.findall(r'from "\./([a-z_]+\.js)"', response.text)
    assert seen == {path.name for path in JS_FILES}  # and no file is dead


def test_metrics_name_console_routes_by_template(web):
    web.get("/ui/static/app.js")
    web.get("/ui/static/api.js")
    metrics = web.get("/metrics").text
    assert 'route="/ui/static/{name}"' in metrics
    assert "/ui/static/api.js" not in metrics  # one series for every file, not one per file


# ---- the docs, offline ---------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_reference_only_local_assets_that_answer(web, page):
    response = web.get(page)
    assert response.status_code == 200
    html = response.text
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    urls += re.findall(r'spec-url="([^"]+)"', html)
    assert urls, html
    assert not re.search(r"https?://", html), "the page names another host"
    for url in urls:
        assert url.startswith("/"), url
        asset = web.get(url)
        assert asset.status_code == 200, url
    csp = csp_directives(response.headers["content-security-policy"])
    assert csp["connect-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]


def test_docs_assets_come_from_the_pinned_package(web):
    import fastapi_offline

    shipped = Path(fastapi_offline.__file__).parent / "static" / "swagger-ui-bundle.js"
    response = web.get("/docs/assets/swagger-ui-bundle.js")
    assert response.status_code == 200 and response.content == shipped.read_bytes()
    assert web.get("/docs/assets/nope.js").status_code == 404


# ---- rules of the front-end code -----------------------------------------------------------


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("inline <style>")
        for name in names:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
        for name, value in attrs:
            if name in ("src", "href") and value and re.match(r"[a-z]+:", value):
                self.problems.append(f"external {name}={value}")


def test_shell_has_nothing_the_csp_would_block():
    parser = _Markup()
    parser.feed((STATIC / "index.html").read_text())
    assert parser.problems == []


FORBIDDEN = [
    r"\.innerHTML\b", r"\.outerHTML\b", r"insertAdjacentHTML", r"document\.write", r"\beval\(",
    r"new Function\(", r"setAttribute\(\s*[\"']style", r"setAttribute\(\s*[\"']on", r"\.style\.",
    r"localStorage", r"document\.cookie", r"new EventSource",
]


@pytest.mark.parametrize("path", JS_FILES, ids=lambda p: p.name)
def test_console_code_puts_text_never_markup_into_the_page(path):
    code = path.read_text()
    for pattern in FORBIDDEN:
        assert not re.search(pattern, code), f"{path.name}: {pattern}"
    # no other host: every request goes to this service
    assert not re.search(r"https?://", code.replace("http://www.w3.org/2000/svg", "")), path.name


def test_console_files_ship_in_the_package():
    """An installed wheel must carry every file of the console (pyproject package-data)."""
    pyproject = tomllib.loads((STATIC.parent.parent.parent / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["config_service"]
    for path in STATIC.iterdir():
        relative = path.relative_to(STATIC.parent.parent).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
    assert "fastapi-offline==1.7.7" in pyproject["project"]["dependencies"]
