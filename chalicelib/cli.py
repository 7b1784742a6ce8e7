"""What the command-line entry points (app.py, backfill.py, report.py) share."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, date, datetime, timedelta


def day(text: str) -> date:
    """An argparse type for `YYYY-MM-DD`, or `30d` for thirty days ago, with a message that says what was expected."""
    if text.endswith("d") and text[:-1].isdigit():
        return datetime.now(UTC).date() - timedelta(days=int(text[:-1]))
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-01-31 (or 30d: thirty days ago)") from None


def configure_cli_logging(stream=sys.stdout) -> None:
    """Progress lines for a person at a terminal; Alembic's per-migration chatter kept out of them."""
    logging.basicConfig(
        stream=stream, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
