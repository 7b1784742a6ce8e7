"""What the command-line entry points (app.py, backfill.py, report.py) share."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date, datetime


def day(text: str) -> date:
    """An argparse type for `YYYY-MM-DD`, with a message that says what was expected."""
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-01-31") from None


def configure_cli_logging(stream=sys.stdout) -> None:
    """Progress lines for a person at a terminal; Alembic's per-migration chatter kept out of them."""
    logging.basicConfig(
        stream=stream, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
