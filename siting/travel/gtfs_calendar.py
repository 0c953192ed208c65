"""Which GTFS services run on a date: calendar.txt weekdays and periods, calendar_dates.txt
exceptions (1 adds the date, 2 removes it)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from siting.travel.gtfs_feed import WEEKDAYS, Feed, parse_dates


def feed_period(feed: Feed) -> tuple[dt.date, dt.date]:
    """First and last date the feed's calendars mention."""
    dates: list[dt.date] = []
    calendar = feed.tables["calendar.txt"]
    if calendar is not None and len(calendar):
        dates += parse_dates(feed, "calendar.txt", "start_date", calendar["start_date"])
        dates += parse_dates(feed, "calendar.txt", "end_date", calendar["end_date"])
    exceptions = feed.tables["calendar_dates.txt"]
    if exceptions is not None and len(exceptions):
        dates += parse_dates(feed, "calendar_dates.txt", "date", exceptions["date"])
    if not dates:
        raise feed.fail("calendar.txt", "the feed's calendars hold no dates")
    return min(dates), max(dates)


def services_on(feed: Feed, date: dt.date) -> set[str]:
    """The service ids that run on `date` (may be empty)."""
    running: set[str] = set()
    calendar = feed.tables["calendar.txt"]
    if calendar is not None and len(calendar):
        running |= _weekly(feed, calendar, date)
    exceptions = feed.tables["calendar_dates.txt"]
    if exceptions is not None and len(exceptions):
        days = parse_dates(feed, "calendar_dates.txt", "date", exceptions["date"])
        today = exceptions[[day == date for day in days]]
        kinds = today["exception_type"]
        bad = ~kinds.isin(["1", "2"])
        if bad.any():
            value = kinds[bad].iloc[0]
            raise feed.fail("calendar_dates.txt", f"exception_type must be 1 or 2, got {value!r}")
        running |= set(today.loc[kinds == "1", "service_id"])
        running -= set(today.loc[kinds == "2", "service_id"])
    return running


def _weekly(feed: Feed, calendar: pd.DataFrame, date: dt.date) -> set[str]:
    starts = parse_dates(feed, "calendar.txt", "start_date", calendar["start_date"])
    ends = parse_dates(feed, "calendar.txt", "end_date", calendar["end_date"])
    weekday = calendar[WEEKDAYS[date.weekday()]]
    bad = ~weekday.isin(["0", "1"])
    if bad.any():
        column = WEEKDAYS[date.weekday()]
        raise feed.fail("calendar.txt", f"{column} must be 0 or 1, got {weekday[bad].iloc[0]!r}")
    runs = [start <= date <= end for start, end in zip(starts, ends, strict=True)]
    return set(calendar.loc[runs & (weekday == "1").to_numpy(), "service_id"])
