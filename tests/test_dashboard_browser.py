"""The HTML report in a real browser: headless Chromium from Debian's packages renders the page offline."""

import json
import os
import re
import shutil
import subprocess
import urllib.request
from datetime import timedelta

import pytest

import report as report_command
from tests.fake import labeled, unlabeled
from tests.helpers import MARIA, OLIVIA, OSCAR, headless_chromium
from tests.history import BASE, at, comment

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHARTS = {
    "weekly-median": "median hours to first reply / response",
    "waiting-trend": "items (count)",
    "backlog": "open items with no reply",
    "pr-outcomes": "pull requests by outsiders (count)",
    "responders": "first replies given (items)",
    "label-time": "median hours in the label",
}
# Added to a copy of the page under test (the page itself has no script): what the browser laid out, as data.
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message)));
window.addEventListener('load', () => {
  const charts = {};
  for (const figure of document.querySelectorAll('figure.chart')) {
    charts[figure.id] = {
      labels: [...figure.querySelectorAll('svg text')].map(t => t.textContent.trim()).filter(Boolean),
      marks: figure.querySelectorAll(`[id^="${figure.id}-mark-"]`).length,
      width: figure.querySelector('svg').getBoundingClientRect().width,
    };
  }
  const broken = [...document.querySelectorAll('td.repo, table.headline td:first-child')]
    .filter(cell => cell.getClientRects().length > 1 || cell.getBoundingClientRect().height > 40).length;
  const cards = [...document.querySelectorAll('body > .cards .card')].map(c => c.getBoundingClientRect().bottom);
  const sections = [...document.querySelectorAll('section.repo')].map(s => s.id);
  const links = [...document.querySelectorAll('table.headline a[href^="#repo-"]')].map(a => a.getAttribute('href'));
  document.body.dataset.probe = JSON.stringify({charts, broken, errors: window.__errors, cards, sections, links,
    pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth});
});
</script>"""


def chromium_dom(url: str, width: int, profile) -> tuple[str, str]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: run the tests with `bash tests/run`, which installs it")
        pytest.skip("chromium is not installed (bash tests/run installs it)")
    command = [
        *headless_chromium(CHROMIUM, profile),
        f"--window-size={width},2000",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
        "--dump-dom",
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


def probe(dom: str) -> dict:
    match = re.search(r'data-probe="([^"]*)"', dom)
    assert match, "the probe did not run: the page did not load"
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.fixture
def page(history, db_url, monkeypatch, tmp_path):
    """A report with every chart and list, written by `report.py --format html`, with the probe added."""
    history.member(MARIA)
    for week in range(4):
        for n in range(3):
            number = 10 * week + n + 1
            events = [comment(1000 + number, MARIA, 24 * 7 * week + 5 * n + 2, "MEMBER")] if n else []
            start = 24 * 7 * week + n
            events += [labeled(2000 + number, MARIA, at(start + 1), "pending-triage")]
            events += [unlabeled(3000 + number, MARIA, at(start + 9), "pending-triage")] if n != 1 else []
            history.issue(
                number,
                OLIVIA if n % 2 else OSCAR,
                hours=24 * 7 * week + n,
                repo="amplify-category-api" if n == 2 else "widgets",
                events=events,
                labels=["bug"],
            )
    history.pull_request(100, OSCAR, hours=3, closed=at(30), merged=at(30))
    history.pull_request(101, OLIVIA, hours=40, closed=at(50))
    history.pull_request(102, OSCAR, hours=24 * 35)
    history.session.commit()
    monkeypatch.setenv("DB_URL", db_url)
    output = tmp_path / "report.html"
    since = (BASE - timedelta(days=1)).date().isoformat()
    assert report_command.main(["--since", since, "--format", "html", "--output", str(output)]) == 0
    probed = tmp_path / "probed.html"
    probed.write_text(output.read_text().replace("</body>", PROBE + "</body>"))
    return probed


@pytest.mark.parametrize("width", [1280, 800])
def test_every_chart_draws_its_axes_and_marks_without_a_script_error(page, tmp_path, width):
    dom, log = chromium_dom(page.as_uri(), width, tmp_path / "profile")
    found = probe(dom)
    assert found["errors"] == [] and "Uncaught" not in log
    assert set(found["charts"]) == set(CHARTS)
    for chart, axis_label in CHARTS.items():
        drawn = found["charts"][chart]
        assert axis_label in drawn["labels"], (chart, drawn["labels"][:10])
        assert drawn["marks"] > 0, chart
        assert 0 < drawn["width"] <= width
    assert found["broken"] == 0, "a repo name broke across lines"
    assert len(found["cards"]) == 5 and max(found["cards"]) < 900, "the headline figures are on the first screen"
    assert found["sections"] == ["repo-amplify-category-api", "repo-widgets"]
    assert set(found["links"]) == {"#repo-amplify-category-api", "#repo-widgets"}
    assert found["pageWidth"] <= width, "the page is wider than the window: the table must scroll inside it"


def test_the_served_page_is_the_current_data(history, report_server):
    url = f"http://127.0.0.1:{report_server()}/"
    first = urllib.request.urlopen(url, timeout=30).read().decode()
    history.issue(2, OSCAR)
    history.session.commit()
    second = urllib.request.urlopen(url, timeout=30).read().decode()
    assert "timelines read for 1 of 1 outsider items" in first
    assert "timelines read for 2 of 2 outsider items" in second
