"""The README's picture of the report page (docs/report.png), made as a user would see it: a synthetic org of a
few hundred items loaded with its events by `backfill.py --events`, `report.py --format html`, and headless
Chromium (Debian's package; `bash tests/run` installs it) taking the screenshot.

    python3 -m bench.screenshot [--items 1500] [--width 1280] [--output docs/report.png]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import scenario
from bench.scenario import ROOT
from chalicelib import config
from tests.fake import commented, serve, ts
from tests.helpers import headless_chromium


def varied_first_responses(fake, now: datetime, seed: int = 17) -> None:
    """The scenario answers every item with a label at 30 minutes; here each item of the last 90 days gets an
    outsider's comment, then a maintainer's reply after an exponential delay (mean 40 h), or none for one in
    five, so the page shows what a team sees."""
    import random

    rng = random.Random(seed)
    since = ts(now - timedelta(days=90))
    for payload in fake.items.values():
        if payload["created_at"] < since:
            continue
        created = datetime.fromisoformat(payload["created_at"].replace("Z", "+00:00"))
        first_id = scenario.EVENT_IDS + 700_000_000 + payload["id"] * 10
        events = [commented(first_id, payload["user"], ts(created + timedelta(minutes=5)))]
        reply = created + timedelta(hours=rng.expovariate(1 / 40))
        if rng.random() > 0.2 and reply < now:
            events.append(commented(first_id + 1, rng.choice(fake.members), ts(reply)))
        fake.timelines[payload["id"]] = events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1500)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1900)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "report.png")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium, or run bash tests/run once)")
    now = datetime.now(UTC).replace(microsecond=0)
    fake, server = serve(lambda url: scenario.build(url, now, items=args.items))
    scenario.full_history(fake, now)
    varied_first_responses(fake, now)
    workdir = Path(tempfile.mkdtemp(prefix="bench-screenshot-"))
    scenario.aim_the_app_at(fake, DB_URL=f"sqlite:///{workdir}/report.db")
    config.reset_caches()
    logging.basicConfig(level=logging.WARNING)
    import backfill
    import report

    since = (now - timedelta(days=90)).date().isoformat()
    if backfill.main(["--since", since, "--events"]) != 0:
        raise SystemExit("the backfill failed")
    server.shutdown()
    page = workdir / "report.html"
    if report.main(["--since", since, "--format", "html", "--output", str(page)]) != 0:
        raise SystemExit("the report failed")
    command = [
        *headless_chromium(chromium, workdir / "profile"),
        "--hide-scrollbars",
        f"--window-size={args.width},{args.height}",
        f"--screenshot={args.output}",
        page.as_uri(),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    print(f"{args.output} ({args.width}x{args.height}) from {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
