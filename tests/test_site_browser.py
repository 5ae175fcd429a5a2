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
    for i, (name, base, params, open_w) in enumerate(models):
        folder = root / "results" / (name.replace("/", "__") if name != EVIL else "evil__model") / "r1"
        write_model_meta(folder, name, "r1", n_parameters=params, open_weights=open_w, embed_dim=384)
        for j, t in enumerate(tasks):
            write_result(folder, t, base + j / 100)
        write_run_settings(folder, tasks, batch_size=32)
    out = root.parent / (root.name + "-site")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDEVAL_HOME", str(tmp_path_factory.mktemp("empty-home")))  # no built data: stats say so
        message = build_site(root, out, n_boot=200)
    server = make_server(out, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "out": out, "message": message, "tasks": tasks}
    server.shutdown()
    server.server_close()


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
    assert by_size == ["org/a-worst", "org/z-best", "org/m-middle", EVIL]
    browser.execute_script("document.getElementById('terms').scrollIntoView()")
    shot = tmp_path / "home-sorted.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000


def test_hostile_model_name_is_text_and_runs_nothing(site, browser):
    from selenium.webdriver.common.by import By

    _open(browser, site["url"] + "/index.html")
    assert EVIL in _visible_models(browser, "board-terms")  # shown literally, as text
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
    cell = row.find_element(By.CSS_SELECTOR, "td.mv-sel")
    assert float(cell.text) == pytest.approx(expected, abs=0.006)
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
    assert "Descriptive statistics" in browser.page_source
    bib = browser.find_element(By.CSS_SELECTOR, "#bibtex pre").text
    assert bib.lstrip().startswith("@")
    button = browser.find_element(By.CSS_SELECTOR, "button.mv-copy")
    button.click()
    WebDriverWait(browser, 5).until(lambda d: button.text == "Copied")
    assert "Not built here" in browser.page_source
    rows = browser.find_elements(By.CSS_SELECTOR, "table.mv-sortable tbody tr")
    assert len(rows) == 4
    browser.execute_script("document.getElementById('citation').scrollIntoView()")
    shot = tmp_path / "task.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    _no_alerts(browser)
