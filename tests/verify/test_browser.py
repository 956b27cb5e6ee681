"""The HTML report in a real headless browser (Debian's chromium)."""

import pytest

from verify.browser import HeadlessChromium, find_chromium, png_size
from verify.demo import demo_journal
from verify.report_html import write_html

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser")
    page = write_html(demo_journal(1_700_000_000), out / "report.html")
    blank = out / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    browser = HeadlessChromium()
    return browser, page, blank, out


def test_the_browser_renders_every_chart(rendered):
    browser, page, _, _ = rendered
    run = browser.dump_dom(page)
    dom = run.stdout
    for chart in ("chart-rps", "chart-latency", "chart-errors", "chart-health"):
        assert f'class="chart {chart}"' in dom
    assert dom.count("<polyline") >= 7 and "fault until recovery" in dom and "recovered +22.7 s" in dom
    assert "Uncaught" not in run.stderr and "SyntaxError" not in run.stderr


def test_a_screenshot_shows_a_full_page(rendered):
    browser, page, blank, out = rendered
    shot = browser.screenshot(page, out / "report.png", 1100, 2600)
    empty = browser.screenshot(blank, out / "blank.png", 1100, 2600)
    assert png_size(shot) == (1100, 2600)
    # charts, tables and text compress far worse than an empty page of the same size
    assert shot.stat().st_size > 5 * empty.stat().st_size
