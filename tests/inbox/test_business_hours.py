"""Business-time arithmetic: overnight shifts, weekends, holidays and DST changes, in real instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scrm.inbox.business_hours import (
    ALWAYS_OPEN,
    ScheduleError,
    add_business_time,
    business_time_between,
    check_day,
    is_open,
    local_instant,
    make_schedule,
    parse_clock,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
NINE_TO_SIX = (540, 1080)
WORKDAYS = dict.fromkeys(range(5), (NINE_TO_SIX,))
OFFICE = make_schedule("Asia/Shanghai", WORKDAYS, [date(2026, 10, 1)])


def local(tz: ZoneInfo, *parts: int) -> datetime:
    """A local wall-clock time in `tz` as an aware datetime."""
    return datetime(*parts).replace(tzinfo=tz)  # type: ignore[arg-type]


def test_always_open_is_calendar_time() -> None:
    start = datetime(2026, 5, 16, 23, 50, tzinfo=UTC)
    assert add_business_time(ALWAYS_OPEN, start, timedelta(minutes=90)) == start + timedelta(minutes=90)
    assert business_time_between(ALWAYS_OPEN, start, start + timedelta(days=3)) == timedelta(days=3)


def test_time_left_on_friday_carries_over_the_weekend() -> None:
    friday_five = local(SHANGHAI, 2026, 5, 15, 17, 0)
    due = add_business_time(OFFICE, friday_five, timedelta(hours=2))
    assert due == local(SHANGHAI, 2026, 5, 18, 10, 0)  # one hour on Friday, one on Monday
    assert business_time_between(OFFICE, friday_five, due) == timedelta(hours=2)


def test_a_message_on_saturday_counts_from_monday_morning() -> None:
    saturday = local(SHANGHAI, 2026, 5, 16, 11, 30)
    assert add_business_time(OFFICE, saturday, timedelta(minutes=30)) == local(SHANGHAI, 2026, 5, 18, 9, 30)
    assert business_time_between(OFFICE, saturday, local(SHANGHAI, 2026, 5, 18, 8, 59)) == timedelta(0)
    assert not is_open(OFFICE, saturday) and is_open(OFFICE, local(SHANGHAI, 2026, 5, 18, 9, 0))


def test_before_opening_the_count_starts_at_opening() -> None:
    early = local(SHANGHAI, 2026, 5, 19, 6, 15)
    assert add_business_time(OFFICE, early, timedelta(hours=8)) == local(SHANGHAI, 2026, 5, 19, 17, 0)
    assert add_business_time(OFFICE, early, timedelta(hours=9)) == local(SHANGHAI, 2026, 5, 19, 18, 0)
    assert add_business_time(OFFICE, early, timedelta(hours=9, minutes=1)) == local(SHANGHAI, 2026, 5, 20, 9, 1)


def test_a_holiday_is_closed_all_day() -> None:
    wednesday = local(SHANGHAI, 2026, 9, 30, 17, 0)  # Thursday 1 October is National Day
    assert add_business_time(OFFICE, wednesday, timedelta(hours=2)) == local(SHANGHAI, 2026, 10, 2, 10, 0)
    whole_holiday = business_time_between(OFFICE, local(SHANGHAI, 2026, 10, 1), local(SHANGHAI, 2026, 10, 2))
    assert whole_holiday == timedelta(0)


def test_an_overnight_shift_runs_on_across_midnight() -> None:
    nights = make_schedule("Asia/Shanghai", {0: [(1320, 1440)], 1: [(0, 360)]})
    monday_eleven_pm = local(SHANGHAI, 2026, 5, 18, 23, 0)
    assert add_business_time(nights, monday_eleven_pm, timedelta(hours=3)) == local(SHANGHAI, 2026, 5, 19, 2, 0)
    shift = business_time_between(nights, local(SHANGHAI, 2026, 5, 18, 21, 0), local(SHANGHAI, 2026, 5, 19, 7, 0))
    assert shift == timedelta(hours=8)
    # the next shift is a week later
    after = add_business_time(nights, local(SHANGHAI, 2026, 5, 19, 5, 0), timedelta(hours=2))
    assert after == local(SHANGHAI, 2026, 5, 25, 23, 0)


def test_spring_forward_in_new_york_uses_the_real_offset() -> None:
    every_day = make_schedule("America/New_York", dict.fromkeys(range(7), ((540, 1020),)))
    saturday = local(NEW_YORK, 2026, 3, 7, 16, 0)  # EST, UTC-5
    due = add_business_time(every_day, saturday, timedelta(hours=2))
    assert due == datetime(2026, 3, 8, 14, 0, tzinfo=UTC)  # Sunday 10:00 EDT, UTC-4
    assert business_time_between(every_day, saturday, due) == timedelta(hours=2)


def test_an_interval_across_the_skipped_hour_is_an_hour_shorter() -> None:
    small_hours = make_schedule("America/New_York", {6: [(60, 300)]})  # Sundays 01:00–05:00
    spring = business_time_between(small_hours, local(NEW_YORK, 2026, 3, 8), local(NEW_YORK, 2026, 3, 9))
    autumn = business_time_between(small_hours, local(NEW_YORK, 2026, 11, 1), local(NEW_YORK, 2026, 11, 2))
    ordinary = business_time_between(small_hours, local(NEW_YORK, 2026, 3, 15), local(NEW_YORK, 2026, 3, 16))
    assert (spring, autumn, ordinary) == (timedelta(hours=3), timedelta(hours=5), timedelta(hours=4))
    # three hours from 01:00 fill that shortened Sunday morning to its close at 05:00 EDT
    assert add_business_time(small_hours, local(NEW_YORK, 2026, 3, 8, 1, 0), timedelta(hours=3)) == datetime(
        2026, 3, 8, 9, 0, tzinfo=UTC
    )


def test_a_skipped_local_time_means_the_first_minute_that_exists() -> None:
    assert local_instant(date(2026, 3, 8), 150, NEW_YORK) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 02:30 -> 03:00
    assert local_instant(date(2026, 11, 1), 90, NEW_YORK) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # first 01:30
    skipped_start = make_schedule("America/New_York", {6: [(150, 240)]})  # 02:30–04:00
    day = business_time_between(skipped_start, local(NEW_YORK, 2026, 3, 8), local(NEW_YORK, 2026, 3, 9))
    assert day == timedelta(hours=1)


def test_shanghai_has_no_dst_and_the_same_office_week_all_year() -> None:
    for month in (1, 3, 7, 11):
        monday = next(date(2026, month, d) for d in range(1, 8) if date(2026, month, d).weekday() == 0)
        opens = local_instant(monday, 540, SHANGHAI)
        assert (opens.hour, opens.minute) == (1, 0)  # 09:00 CST is 01:00 UTC
        assert business_time_between(OFFICE, opens, opens + timedelta(days=7)) == timedelta(hours=45)


@pytest.mark.parametrize("schedule_name", ["office", "new_york", "nights"])
def test_elapsed_time_undoes_added_time(schedule_name: str) -> None:
    schedules = {
        "office": OFFICE,
        "new_york": make_schedule("America/New_York", {0: [(480, 720), (780, 1020)], 2: [(0, 1440)], 6: [(60, 240)]}),
        "nights": make_schedule("Asia/Shanghai", {4: [(1200, 1440)], 5: [(0, 240)]}),
    }
    schedule = schedules[schedule_name]
    start = datetime(2026, 2, 27, 3, 17, tzinfo=UTC)
    for step in range(40):  # across the March and November DST changes
        begin = start + timedelta(days=step * 7, hours=step * 5, minutes=step * 11)
        for minutes in (1, 59, 240, 600, 2500):
            due = add_business_time(schedule, begin, timedelta(minutes=minutes))
            assert due >= begin
            assert business_time_between(schedule, begin, due) == timedelta(minutes=minutes), (begin, minutes)
            assert is_open(schedule, due - timedelta(seconds=1))


def test_touching_intervals_join_and_overlapping_ones_are_refused() -> None:
    assert check_day([(780, 1080), (540, 780)]) == ((540, 1080),)
    with pytest.raises(ScheduleError, match="Tuesday: 12:00–14:00 overlaps 09:00–13:00"):
        make_schedule("UTC", {1: [(540, 780), (720, 840)]})
    with pytest.raises(ScheduleError, match="not an interval"):
        make_schedule("UTC", {0: [(600, 540)]})
    with pytest.raises(ScheduleError, match="Unknown timezone 'Mars/Olympus'"):
        make_schedule("Mars/Olympus")
    with pytest.raises(ScheduleError, match="Weekday 7"):
        make_schedule("UTC", {7: [(0, 60)]})


def test_clock_text_is_checked() -> None:
    assert (parse_clock("09:00"), parse_clock("24:00"), parse_clock("7:05")) == (540, 1440, 425)
    for bad in ("24:01", "9", "09:60", "nine", "09:5", "-1:00"):
        with pytest.raises(ScheduleError):
            parse_clock(bad)


def test_negative_durations_are_refused_and_zero_is_now() -> None:
    sunday = local(SHANGHAI, 2026, 5, 17, 12, 0)
    assert add_business_time(OFFICE, sunday, timedelta(0)) == sunday
    with pytest.raises(ValueError, match="negative"):
        add_business_time(OFFICE, sunday, timedelta(minutes=-1))
    assert business_time_between(OFFICE, sunday, sunday - timedelta(days=2)) == timedelta(0)


def test_a_schedule_closed_forever_is_an_error_not_a_hang() -> None:
    nowhere = make_schedule("UTC", None, [date(2026, 1, 1) + timedelta(days=n) for n in range(4000)])
    with pytest.raises(ScheduleError, match="No open time"):
        add_business_time(nowhere, datetime(2026, 1, 1, tzinfo=UTC), timedelta(minutes=1))
