"""The HTML report as a person sees it: opened in headless Chromium (Debian's chromium and
chromium-driver, which CI installs), with no network, no console error and every image drawn."""

import shutil
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from results_helpers import report_page, second_host_result

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SECTIONS = ("machines", "answer", "across-machines", "geomeans", "table")


@pytest.fixture(scope="module")
def report(small_result, tmp_path_factory) -> Path:
    """Two real runs, one with a failed cell (the page test_report.py reads)."""
    return report_page(tmp_path_factory, small_result, second_host_result(tmp_path_factory))


@pytest.fixture(scope="module")
def patterns_report(small_result, patterns_result, tmp_path_factory) -> Path:
    """An old-style file (pingpong, stream) and one with startup, fanin, pool and counter."""
    return report_page(tmp_path_factory, small_result, patterns_result)


@pytest.fixture
def browser():
    """A fresh headless Chromium with its own profile, quit and cleaned up whatever happens."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: the report test needs Debian's chromium and "
            "chromium-driver (apt-get install -y chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="ipcbench-test-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    before = _browser_processes()
    driver = None
    try:
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        yield driver
    finally:
        if driver is not None:
            driver.quit()
        _wait_until_gone(before)
        shutil.rmtree(profile, ignore_errors=True)


def _browser_processes() -> set[int]:
    found = set()
    for process in psutil.process_iter(["pid", "name"]):
        if (process.info["name"] or "").startswith(("chromium", "chromedriver", "chrome")):
            found.add(process.info["pid"])
    return found


def _wait_until_gone(before: set[int]) -> None:
    deadline = time.monotonic() + 10
    while (left := _browser_processes() - before) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"chromium processes left behind: {sorted(left)}"


def _open(browser, page: Path, figures: int) -> None:
    """Load the page; every figure must decode, and nothing may be fetched."""
    browser.get(page.as_uri())
    assert browser.title == "ipcbench report"
    images = browser.execute_script(
        "return Array.from(document.images).map("
        "  i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight]);"
    )
    assert len(images) == figures
    for alt, complete, width, height in images:
        assert complete and width > 0 and height > 0, f"image {alt!r} did not decode"
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )
    assert resources == []


def _no_console_errors(browser) -> None:
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


def _screenshot(browser, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1400, min(height + 100, 12000))
    assert browser.save_screenshot(str(ARTIFACTS / name))
    assert (ARTIFACTS / name).stat().st_size > 10_000


def test_report_in_a_real_browser(report, browser):
    _open(browser, report, figures=8)  # as in test_report: one per figure

    for section in SECTIONS:
        element = browser.find_element("id", section)
        assert element.is_displayed() and element.text.strip(), section
    assert "The answer: fastest way per payload size" in browser.find_element("id", "answer").text

    # The full table sorts in the page: click "median time (µs)" and read the column.
    table = browser.find_element("id", "full-table")
    headers = table.find_elements("css selector", "th")
    column = [h.text for h in headers].index("median time (µs)")
    headers[column].click()
    medians = browser.execute_script(
        "return Array.from(arguments[0].tBodies[0].rows)"
        "  .map(r => parseFloat(r.cells[arguments[1]].getAttribute('data-sort')));",
        table,
        column,
    )
    assert len(medians) > 10 and medians == sorted(medians)

    # The start-method ratios as a table: each ratio carries its verdict as a class, and every
    # ratio the workers cannot show to differ is greyed.
    ratios = browser.find_elements("css selector", "table.grid td.num")
    classes = {r.get_attribute("class") for r in ratios}
    assert ratios and classes <= {
        "num faster", "num slower", "num not-significant", "num untested"
    }  # fmt: skip
    grey = "rgba(236, 236, 236, 1)"  # #ececec
    for ratio in ratios:
        background = ratio.value_of_css_property("background-color")
        greyed = ratio.get_attribute("class") in ("num not-significant", "num untested")
        assert greyed == (background == grey), (ratio.text, background)
    # The answer never crowns the in-process floor.
    answer = browser.find_element("id", "answer-table").text
    assert "null (none)" in answer
    for fastest in browser.find_elements(
        "css selector", "#answer-table td b, #answer-table span.tied"
    ):
        assert not fastest.text.startswith("null")

    _no_console_errors(browser)
    _screenshot(browser, "report.png")


def test_pattern_sections_in_a_real_browser(patterns_report, browser):
    # small: latency, throughput, CPU, methods; patterns: startup, fanin, pool.
    _open(browser, patterns_report, figures=7)
    for section, heading in (
        ("startup", "Process start-up"),
        ("fanin", "Fan-in: several producers, one consumer"),
        ("pool", "multiprocessing.Pool: time per task"),
        ("counter", "Shared counter: speed and lost updates"),
    ):
        element = browser.find_element("id", section)
        assert element.is_displayed() and element.text.startswith(heading), section
        # The navigation leads there.
        link = browser.find_element("css selector", f'nav a[href="#{section}"]')
        assert link.is_displayed()
    startup = browser.find_element("id", "startup").text
    assert "spawn costs" in startup and "× fork here" in startup
    # The counter's finding is stated at the top, beside the answer, and looks like a warning.
    warning = browser.find_element("css selector", "#answer p.warning")
    assert warning.is_displayed() and "unlocked" in warning.text
    colour = warning.value_of_css_property("background-color")
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent")
    # Each figure of a section sits in that section, under its own table.
    for name in ("startup", "fanin", "pool"):
        figure = browser.find_element("css selector", f"#{name} figure#{name}-patterns img")
        assert figure.size["width"] > 300
    _no_console_errors(browser)
    _screenshot(browser, "report-patterns.png")
