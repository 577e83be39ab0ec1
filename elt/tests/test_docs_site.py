"""The dbt docs site, served as `make docs` serves it and opened in real headless Chromium.

Checks what an analyst relies on: every mart is in the model list, the lineage graph of
fct_order_items draws its upstream models, and the page logs no errors. A screenshot of the
lineage goes to artifacts/docs-site/ (git-ignored).

Needs Debian's `chromium` (/usr/bin/chromium, or ELT_CHROMIUM). Without it the test skips,
unless ELT_REQUIRE_BROWSER=1 (set by CI), where it fails.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from elt.browser import CHROMIUM_ARGS
from elt.tests.browser_checks import PageProblems, chromium_path
from elt.tests.conftest import REPO
from elt.tests.dbt_runner import DBT
from elt.tests.docs_artifacts import DocsProject

pytestmark = pytest.mark.slow

SCREENSHOTS = REPO / "artifacts" / "docs-site"
FACT = "model.elt_warehouse.fct_order_items"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def site(docs_project: DocsProject) -> Iterator[str]:
    """`dbt docs serve` on a free port (the command `make docs` runs), until the module ends."""
    port = free_port()
    log = (docs_project.work / "serve.log").open("w")
    server = subprocess.Popen(
        [DBT, "docs", "serve", "--port", str(port), "--no-browser", "--project-dir", str(REPO)],
        cwd=REPO,
        env=docs_project.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"dbt docs serve did not come up: {(docs_project.work / 'serve.log').read_text()[-2000:]}"
                    )
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def browser(site: str) -> Iterator[Any]:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def open_page(browser: Any, url: str) -> tuple[Any, PageProblems]:
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    problems = PageProblems(page)
    page.goto(url, wait_until="networkidle")
    # the app is ready once it has loaded the manifest and drawn the project tree
    page.locator(".menu").get_by_text("elt_warehouse", exact=True).first.wait_for()
    return page, problems


def test_model_list_shows_every_mart(browser: Any, site: str, docs_project: DocsProject) -> None:
    marts = docs_project.marts()
    assert len(marts) >= 11, marts
    page, problems = open_page(browser, site + "#!/overview")
    # Projects > elt_warehouse > models > marts, as an analyst clicks through the tree (the
    # project's name also heads the Metrics, Semantic Models and Saved Queries lists above it)
    tree = page.locator(".menu")
    menu = tree.first.inner_text()
    assert all(s in menu for s in ("Metrics", "Semantic Models", "Saved Queries")), menu
    tree.get_by_text("elt_warehouse", exact=True).filter(visible=True).last.click()
    for folder in ("models", "marts", "shared", "sales", "operations"):
        tree.get_by_text(folder, exact=True).filter(visible=True).first.click()
    # visible entries only; long names wrap, so the browser's text can hold line breaks
    listed = {
        "".join(t.split()) for t in page.locator(".menu a").filter(visible=True).all_inner_texts()
    }
    assert set(marts) <= listed, (set(marts) - listed, sorted(listed))
    assert problems.real_errors() == []
    page.close()


def test_lineage_of_fct_order_items_renders_its_upstream(
    browser: Any, site: str, docs_project: DocsProject
) -> None:
    upstream = set(docs_project.manifest["nodes"][FACT]["depends_on"]["nodes"])
    assert {
        "model.elt_warehouse.int_order_items_deduplicated",
        "model.elt_warehouse.int_orders_resolved",
        "model.elt_warehouse.dim_product",
    } <= upstream
    page, problems = open_page(browser, site + f"#!/model/{FACT}")
    assert page.locator("h1").first.inner_text().startswith("fct_order_items")
    page.locator("[ng-click='onLauncherClick()']").click()
    # the lineage panel's graph is cytoscape on canvas: ask it which nodes it laid out
    page.wait_for_function(
        "() => { const g = angular.element(document.body).injector().get('graph');"
        " return g.graph_element && g.graph_element.nodes && g.graph_element.nodes().length > 0; }"
    )
    page.wait_for_timeout(1000)  # let the layout settle before reading positions
    drawn = page.evaluate(
        """() => {
            const cy = angular.element(document.body).injector().get('graph').graph_element;
            const box = cy.container().getBoundingClientRect();
            return cy.nodes().filter(n => n.visible()).map(n => {
                const p = n.renderedPosition();
                return {id: n.id(), x: p.x, y: p.y, w: box.width, h: box.height,
                        selected: n.selected() || n.hasClass('selected')};
            });
        }"""
    )
    ids = {n["id"] for n in drawn}
    assert FACT in ids
    assert upstream <= ids, upstream - ids
    for n in drawn:
        if n["id"] in upstream | {FACT}:
            assert 0 <= n["x"] <= n["w"], n  # inside the panel
            assert 0 <= n["y"] <= n["h"], n
    # and the canvas really has pixels on it: the node layer is not blank
    painted = page.evaluate(
        """() => {
            const c = document.querySelector("canvas[data-id='layer2-node']");
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
            return n;
        }"""
    )
    assert painted > 500, painted
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "fct_order_items_lineage.png"))
    assert problems.real_errors() == []
    page.close()


def test_site_pages_log_no_errors(browser: Any, site: str, docs_project: DocsProject) -> None:
    """Every mart's page, a source and the overview load without console errors or failed requests."""
    pages = {"shop.orders": "#!/source/source.elt_warehouse.shop.orders"}
    pages |= {m: f"#!/model/model.elt_warehouse.{m}" for m in docs_project.marts()}
    page, problems = open_page(browser, site + "#!/overview")
    for heading, fragment in pages.items():
        page.goto(site + fragment, wait_until="networkidle")
        page.locator("h1").filter(has_text=heading).first.wait_for()
    assert problems.real_errors() == []
    page.close()


def test_the_overview_draws_the_star_and_links_the_lineage_page(
    browser: Any, site: str, docs_project: DocsProject
) -> None:
    """The overview shows the star as a picture (no Mermaid source, no marker comments) and
    links the column-lineage page; a mart's page says where analysts read and links its
    lineage."""
    page, problems = open_page(browser, site + "#!/overview")
    text = page.locator(".app-body").first.inner_text()
    assert "erd:start" not in text
    assert "erDiagram" not in text
    star = page.locator("img[src='erd-sales.svg']")
    star.wait_for()
    assert star.evaluate("img => img.complete && img.naturalWidth") > 600
    assert page.locator("a[href='lineage.html']").count() == 1
    page.goto(site + "#!/model/model.elt_warehouse.fct_orders", wait_until="networkidle")
    page.locator("h1").filter(has_text="fct_orders").first.wait_for()
    page.locator("a[href='lineage.html#fct_orders']").first.wait_for()
    assert "Analysts read the published copy" in page.locator("body").inner_text()
    assert problems.real_errors() == []
    page.close()


def test_the_lineage_page_shows_a_mart_columns_path_to_raw(
    browser: Any, site: str, docs_project: DocsProject
) -> None:
    """Opened from disk (file://), as a reader with no server would: no request but the page
    itself, no console error; clicking a mart column shows its path to raw."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems = PageProblems(page)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    url = (docs_project.target_dir / "lineage.html").as_uri()
    page.goto(url + "#fct_orders", wait_until="load")
    page.locator("#columns a", has_text="fct_orders.net_revenue_usd").click()
    section = page.locator("#column-lineage")
    section.wait_for()
    path = section.inner_text()
    assert "fct_order_items.net_revenue_usd" in path
    assert "aggregation" in path
    raw = page.locator("#raw-columns").inner_text()
    assert "shop.order_items.quantity" in raw
    assert "shop.order_items.discount" in raw
    # from a raw column, the mart columns it reaches
    page.locator("#raw-columns a", has_text="shop.order_items.discount").click()
    page.locator("h1", has_text="shop.order_items").wait_for()
    assert "fct_orders.net_revenue_usd" in page.locator("#marts-reached").inner_text()
    assert {u.split("#")[0] for u in requested} == {url}
    assert problems.real_errors() == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "column_lineage.png"))
    page.close()
