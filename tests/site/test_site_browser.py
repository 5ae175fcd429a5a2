"""The built site in a real browser (headless Debian Chromium via Selenium): sorting, filters, escaping, plots.

Needs ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (Debian packages ``chromium`` and ``chromium-driver``);
skipped with that reason when they are absent. The site is served from a 127.0.0.1 http.server thread; the browser
runs with networking extras off and a fresh profile. Screenshots go to pytest's tmp_path (paths printed).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

import medeval
from medeval.site.demo import write_model_meta, write_result, write_run_settings

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
EVIL = "<script>alert(1)</script>"
QUOTED = 'say "hi"/model'
RTL = "rtl/\u202egnp.exe"
IMG = "org/<img src=x onerror=alert(2)>"
HOSTILE = [EVIL, QUOTED, RTL, IMG]
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
TERMS = "MedEval-Terms(v1)"

# records alert()/confirm()/prompt() calls instead of blocking on a dialog; installed before any page script runs
ALERT_TRAP = """
window.__alerts = [];
['alert', 'confirm', 'prompt'].forEach(function (f) {
  window[f] = function (m) { window.__alerts.push(f + ':' + m); return null; };
});
"""


def _require_browser() -> None:
    pytest.importorskip("selenium", reason="selenium is not installed (pip install selenium)")
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip("needs Debian chromium and chromium-driver (apt-get install -y chromium chromium-driver)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    _require_browser()
    from medeval.site import build_site, make_server

    root = tmp_path_factory.mktemp("lb")
    tasks = sorted(t.metadata.name for t in medeval.get_tasks(benchmark=TERMS))
    # Borda order (z-best first) is the reverse of the alphabetical order, so sorting by name must reorder rows
    models = [("org/z-best", 0.8, 335_000_000, True), ("org/m-middle", 0.6, 22_700_000, True),
              ("org/a-worst", 0.4, 7_000_000_000, False), (EVIL, 0.5, None, None)]
    # more hostile names, with partial coverage (2, 10 and 1 tasks: text order of "10/11" "2/11" is not numeric)
    models += [(QUOTED, 0.3, None, None, 2), (RTL, 0.35, None, None, 10), (IMG, 0.45, None, None, 1)]
    for i, (name, base, params, open_w, *n) in enumerate(models):
        folder = root / "results" / f"m{i}" / "r1"
        write_model_meta(folder, name, "r1", n_parameters=params, open_weights=open_w, embed_dim=384)
        ran = tasks[: n[0]] if n else tasks
        for j, t in enumerate(ran):
            write_result(folder, t, base + j / 100)
        write_run_settings(folder, ran, batch_size=32)
    out = root.parent / (root.name + "-site")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDEVAL_HOME", str(tmp_path_factory.mktemp("empty-home")))  # no built data: committed stats only
        message = build_site(root, out, n_boot=200)
    server = make_server(out, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sub = _subpath_server(out)
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "out": out, "message": message, "tasks": tasks,
           "sub": f"http://127.0.0.1:{sub.server_address[1]}/project"}
    for srv in (server, sub):
        srv.shutdown()
        srv.server_close()


def _subpath_server(out: Path):
    """Serve the site under /project/ as a project page is, answering a missing page with 404.html (status 404)."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Sub(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def translate_path(self, path: str) -> str:
            if not path.startswith("/project/"):
                return str(out / "__nothing__")
            return super().translate_path(path[len("/project"):])

        def send_error(self, code, message=None, explain=None):
            if code != 404:
                return super().send_error(code, message, explain)
            body = (out / "404.html").read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Sub, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def browser(site, tmp_path_factory: pytest.TempPathFactory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tmp_path_factory.mktemp("chromium-profile")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", "--window-size=1400,1000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ALERT_TRAP})
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _open(driver, url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.documentElement.getAttribute('data-mv-ready')") == "1")


def _visible_models(driver, table_id: str) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.querySelector('td.mv-model').textContent.trim());", table_id)


def _header(driver, table_id: str, label: str):
    from selenium.webdriver.common.by import By

    for th in driver.find_elements(By.CSS_SELECTOR, f"#{table_id} thead th"):
        if th.get_attribute("textContent").strip().startswith(label):
            return th
    raise AssertionError(f"no column {label!r} in #{table_id}")


def _no_alerts(driver) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    assert driver.execute_script("return window.__alerts") == []
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - raises when no dialog is open


def test_sorting_reorders_the_leaderboard(site, browser, tmp_path):
    _open(browser, site["url"] + "/index.html")
    before = _visible_models(browser, "board-terms")
    assert before[0] == "org/z-best" and before.index("org/a-worst") > before.index("org/m-middle")
    _header(browser, "board-terms", "Model").click()
    after = _visible_models(browser, "board-terms")
    assert after != before
    assert after == sorted(before, key=str.lower)
    assert _header(browser, "board-terms", "Model").get_attribute("aria-sort") == "ascending"
    _header(browser, "board-terms", "Model").click()  # again: descending
    assert _visible_models(browser, "board-terms") == sorted(before, key=str.lower, reverse=True)
    _header(browser, "board-terms", "Parameters").click()  # numbers: biggest first, unknown size last
    by_size = _visible_models(browser, "board-terms")
    assert by_size[:3] == ["org/a-worst", "org/z-best", "org/m-middle"] and set(by_size[3:]) == {EVIL, QUOTED, RTL.replace("\u202e", "[U+202E]"), IMG}
    browser.execute_script("document.getElementById('terms').scrollIntoView()")
    shot = tmp_path / "home-sorted.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000


def test_hostile_model_name_is_text_and_runs_nothing(site, browser):
    from selenium.webdriver.common.by import By

    _open(browser, site["url"] + "/index.html")
    assert {EVIL, QUOTED, IMG} <= set(_visible_models(browser, "board-terms"))  # shown literally, as text
    _no_alerts(browser)
    link = next(a for a in browser.find_elements(By.CSS_SELECTOR, "#board-terms td.mv-model a") if a.text == EVIL)
    link.click()
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(lambda d: "/models/" in d.current_url)
    assert browser.find_element(By.CSS_SELECTOR, "h1.mv-title").text == EVIL
    assert "<script>" not in browser.title
    _no_alerts(browser)
    _open(browser, site["url"] + "/plots.html")  # names reach plotly too
    assert browser.execute_script("return document.querySelectorAll('.mv-figure .main-svg').length") > 0
    assert EVIL in browser.find_element(By.CSS_SELECTOR, "body").text
    _no_alerts(browser)


def test_filters_hide_rows_and_compute_a_selection_mean(site, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _open(browser, site["url"] + "/index.html")
    form = browser.find_element(By.CSS_SELECTOR, 'form[data-board="board-terms"]')
    form.find_element(By.CSS_SELECTOR, 'input[name="open"]').click()
    assert set(_visible_models(browser, "board-terms")) == {"org/z-best", "org/m-middle"}
    form.find_element(By.CSS_SELECTOR, 'input[name="open"]').click()
    Select(form.find_element(By.CSS_SELECTOR, 'select[name="size"]')).select_by_value("1000000000-")
    assert _visible_models(browser, "board-terms") == ["org/a-worst"]
    Select(form.find_element(By.CSS_SELECTOR, 'select[name="size"]')).select_by_value("")
    sel_header = _header(browser, "board-terms", "Mean (selection)")
    assert not sel_header.is_displayed()
    form.find_element(By.CSS_SELECTOR, 'input[name="type"][value="Retrieval"]').click()  # keep the other types
    assert sel_header.is_displayed()
    # the selection mean is recomputed in the page from the per-task scores: check it for one model
    tasks = [t for t in site["tasks"] if medeval.get_spec(t).type != "Retrieval"]
    idx = [site["tasks"].index(t) for t in tasks]
    expected = sum(0.8 + j / 100 for j in idx) / len(idx) * 100
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#board-terms tbody tr") if "org/z-best" in r.text)
    rank_cell, cell = row.find_elements(By.CSS_SELECTOR, "td.mv-sel")  # Rank (selection), Mean (selection)
    assert float(cell.text) == pytest.approx(expected, abs=0.006)
    assert rank_cell.text == "1"  # the best model on every selected task
    status = form.find_element(By.CSS_SELECTOR, ".mv-status").text
    assert f"over {len(tasks)} task(s)" in status
    browser.execute_script("document.getElementById('terms').scrollIntoView()")
    shot = tmp_path / "home-filtered.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")


def test_task_page_copy_button(site, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    task = site["tasks"][0]
    _open(browser, f"{site['url']}/tasks/{task}.html")
    page = browser.page_source
    # committed statistics (mteb's format) show without any built data, after the scores
    assert browser.find_elements(By.CSS_SELECTOR, "table#stats") and "Not built here" not in page
    assert page.index('id="scores"') < page.index('id="descriptive-statistics"')
    bib = browser.find_element(By.CSS_SELECTOR, "#bibtex pre").text
    assert bib.lstrip().startswith("@")
    button = browser.find_element(By.CSS_SELECTOR, "button.mv-copy")
    button.click()
    WebDriverWait(browser, 5).until(lambda d: button.text == "Copied")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.mv-sortable tbody tr")
    assert len(rows) == 7  # every model ran the first task
    browser.execute_script("document.getElementById('citation').scrollIntoView()")
    shot = tmp_path / "task.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    _no_alerts(browser)


# ----------------------------------------------------------------------------------------------- reader features
def _rect(driver, el) -> dict:
    return driver.execute_script("var r = arguments[0].getBoundingClientRect(); return {l: r.left, r: r.right, t: r.top, b: r.bottom};", el)


def _model_cell(driver, table_id: str, name: str):
    from selenium.webdriver.common.by import By

    return next(c for c in driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody td.mv-model") if c.text == name)


def test_rank_and_model_stay_pinned_while_scrolling(site, browser):
    _open(browser, site["url"] + "/index.html")
    browser.execute_script("document.getElementById('board-terms').scrollIntoView()")
    cell = _model_cell(browser, "board-terms", "org/z-best")
    before = _rect(browser, cell)
    scrolled = browser.execute_script(
        "var s = document.getElementById('board-terms').closest('.mv-scroll'); s.scrollLeft = 700; return s.scrollLeft;")
    assert scrolled > 300  # the table is wider than the window
    after = _rect(browser, cell)
    assert abs(after["l"] - before["l"]) < 2  # did not move with the scroll
    # nothing covers it: the element at its centre is the cell (or its link)
    hit = browser.execute_script("var r = arguments[0].getBoundingClientRect();"
                                 "return arguments[0].contains(document.elementFromPoint(r.left + 5, (r.top + r.bottom) / 2));", cell)
    assert hit


def test_search_by_name_and_url_state_round_trip(site, browser):
    from selenium.webdriver.common.by import By

    _open(browser, site["url"] + "/index.html")
    form = browser.find_element(By.CSS_SELECTOR, 'form[data-board="board-terms"]')
    box = form.find_element(By.CSS_SELECTOR, 'input[name="q"]')
    box.send_keys("org/")
    assert set(_visible_models(browser, "board-terms")) == {"org/z-best", "org/m-middle", "org/a-worst", IMG}
    form.find_element(By.CSS_SELECTOR, 'input[name="type"][value="Retrieval"]').click()
    _header(browser, "board-terms", "Model").click()
    view = _visible_models(browser, "board-terms")
    assert view == [IMG, "org/a-worst", "org/m-middle", "org/z-best"]
    url = browser.current_url
    assert "terms.q=org" in url and "board-terms.sort=" in url and "terms.type=" in url
    _open(browser, site["url"] + "/index.html")  # a fresh page without state
    assert len(_visible_models(browser, "board-terms")) == 7
    _open(browser, url)  # the shared link restores the view
    assert _visible_models(browser, "board-terms") == view
    form = browser.find_element(By.CSS_SELECTOR, 'form[data-board="board-terms"]')
    assert form.find_element(By.CSS_SELECTOR, 'input[name="q"]').get_attribute("value") == "org/"
    assert not form.find_element(By.CSS_SELECTOR, 'input[name="type"][value="Retrieval"]').is_selected()
    assert _header(browser, "board-terms", "Rank (selection)").is_displayed()


def test_size_unknown_filter_keeps_models_without_a_size(site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _open(browser, site["url"] + "/index.html")
    form = browser.find_element(By.CSS_SELECTOR, 'form[data-board="board-terms"]')
    Select(form.find_element(By.CSS_SELECTOR, 'select[name="size"]')).select_by_value("unknown")
    assert set(_visible_models(browser, "board-terms")) == {EVIL, QUOTED, RTL.replace("\u202e", "[U+202E]"), IMG}


def test_models_index_sorts_coverage_as_numbers(site, browser):
    _open(browser, site["url"] + "/models/index.html")
    _header(browser, "models", "MedEval-Terms").click()
    cov = browser.execute_script(
        "return Array.from(document.querySelectorAll('#models tbody tr')).map(r => r.cells[r.cells.length - 1].textContent.trim());")
    done = [int(c.split("/")[0]) for c in cov if "/" in c]
    assert done == sorted(done, reverse=True) and done[-3:] == [10, 2, 1]


def test_phone_layout_keeps_names_beside_scores(site, browser, tmp_path):
    browser.set_window_size(390, 844)
    try:
        _open(browser, site["url"] + "/index.html")
        browser.execute_script("document.getElementById('board-terms').scrollIntoView()")
        cell = _model_cell(browser, "board-terms", "org/z-best")
        row = cell.find_element("xpath", "..")
        width = browser.execute_script("return window.innerWidth")
        browser.execute_script("document.getElementById('board-terms').closest('.mv-scroll').scrollLeft = 400")
        shot = tmp_path / "home-phone.png"
        browser.save_screenshot(str(shot))
        print(f"screenshot: {shot}")
        name_r = _rect(browser, cell)
        assert 0 <= name_r["l"] and name_r["r"] <= width * 0.6, (name_r, width)  # on screen, in the left part
        assert cell.text == "org/z-best"
        # some score cell of the same row shows right of the name, on the same line
        scores = browser.execute_script(
            "var W = window.innerWidth; return Array.from(arguments[0].cells).filter(c => c.classList.contains('num') && c.textContent.trim())"
            ".map(c => c.getBoundingClientRect()).filter(r => r.right > arguments[1] + 10 && r.right <= W).length;", row, name_r["r"])
        assert scores >= 1, (name_r, width)
    finally:
        browser.set_window_size(1400, 1000)


def test_404_keeps_its_styles_under_a_subpath(site, browser):
    browser.get(site["sub"] + "/no/such/page.html")
    from selenium.webdriver.common.by import By

    header = browser.find_element(By.CSS_SELECTOR, ".md-header")
    style = browser.execute_script("var s = getComputedStyle(arguments[0]); return [s.position, s.backgroundColor];", header)
    assert style[0] == "sticky" and style[1] not in ("rgba(0, 0, 0, 0)", "transparent")  # MkDocs Material's CSS applied
    assert not (site["out"] / "sitemap.xml").exists()  # no site_url: no empty sitemap


def test_legends_show_quotes_and_bidi_controls_are_neutralised(site, browser):
    _open(browser, site["url"] + "/plots.html")
    legends = browser.execute_script("return Array.from(document.querySelectorAll('.legendtext')).map(e => e.textContent);")
    hover = browser.execute_script("return Array.from(document.querySelectorAll('.mv-figure')).length;")
    assert hover > 0 and not any("&quot;" in x or "&#" in x for x in legends)
    assert any('"hi"' in x for x in legends)
    # dark mode: the figures follow Material's palette (text turns light, backgrounds stay transparent)
    before = browser.execute_script("return document.querySelector('.mv-figure').layout.font.color;")
    browser.execute_script("document.body.setAttribute('data-md-color-scheme', 'slate');")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return document.querySelector('.mv-figure').layout.font.color;") != before)
    assert browser.execute_script("return document.querySelector('.mv-figure').layout.paper_bgcolor;") == "rgba(0,0,0,0)"
    for page in ("/index.html", "/plots.html", "/matrix.html", "/compare.html", "/models/index.html"):
        _open(browser, site["url"] + page)
        body = browser.execute_script("return document.body.innerText + document.title;")
        assert not any(c in body for c in BIDI), page
    _open(browser, site["url"] + "/index.html")
    assert "rtl/[U+202E]gnp.exe" in _visible_models(browser, "board-terms")


def test_no_hostile_name_runs_anything_anywhere(site, browser):
    from selenium.webdriver.common.by import By

    _open(browser, site["url"] + "/models/index.html")
    pages = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#models tbody a")]
    assert len(pages) == 7
    for url in [*pages, site["url"] + "/index.html", site["url"] + "/matrix.html", site["url"] + "/plots.html"]:
        _open(browser, url)
        _no_alerts(browser)
    from urllib.parse import quote

    for a, b in ((EVIL, IMG), (QUOTED, RTL)):
        _open(browser, f"{site['url']}/compare.html?a={quote(a)}&b={quote(b)}")
        _no_alerts(browser)
    assert "A \u2212 B" in browser.find_element(By.ID, "compare-summary").text


def test_compare_page_pairs_two_models(site, browser):
    from selenium.webdriver.common.by import By
    from urllib.parse import quote

    _open(browser, f"{site['url']}/compare.html?a={quote('org/z-best')}&b={quote('org/m-middle')}")
    summary = browser.find_element(By.ID, "compare-summary").text
    assert "over the 11 task(s) both ran: mean 20.00" in summary and "A is better" in summary
    assert len(browser.find_elements(By.CSS_SELECTOR, "#compare-table tbody tr")) == 11
