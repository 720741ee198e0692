"""The SLA settings page: the workspace's business hours and SLA policy, as two plain forms.

Each form is posted and answered with a redirect, or with the page again (400) saying what is wrong; only
owners and admins reach the page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Request
from litestar.response import Redirect, Template

from scrm.auth.roles import Principal
from scrm.inbox import sla_settings
from scrm.inbox.business_hours import WEEKDAYS, ScheduleError
from scrm.models import Channel
from scrm.models.sla import PAUSABLE
from scrm.web.inbox.pages import form_principal, principal_of, signed_in_of
from scrm.web.inbox.sla_chip import MANAGE_SLA
from scrm.web.pages import page_context

SETTINGS_PATH = "/inbox/settings/sla"
MANAGE = MANAGE_SLA


class HoursFormData(msgspec.Struct):
    """The business-hours form: a timezone, one line of intervals per weekday, holidays one per line."""

    csrf_token: str = ""
    timezone: str = ""
    day0: str = ""
    day1: str = ""
    day2: str = ""
    day3: str = ""
    day4: str = ""
    day5: str = ""
    day6: str = ""
    holidays: str = ""


class PolicyFormData(msgspec.Struct):
    """The SLA policy form; an empty target is not measured."""

    csrf_token: str = ""
    name: str = "Default"
    enabled: str = ""
    first_response_minutes: str = ""
    resolution_minutes: str = ""
    business_time: str = ""
    channel_ids: list[str] | str = msgspec.field(default_factory=list)
    """A form sends one ticked box as a single value, several as a list."""
    pause_on: list[str] | str | None = None
    """The statuses that pause the clock. The page sends an empty value before its boxes, so none ticked is
    `""`; a post without the field at all (not from the page) keeps the default, both."""


def day_text(hours: sla_settings.HoursForm, weekday: int) -> str:
    """One weekday's intervals as the form shows them: `09:00-12:00, 13:00-18:00` (empty: closed)."""
    return ", ".join(f"{i.start}-{i.end}" for i in hours.intervals if i.weekday == weekday)


def parse_day(weekday: int, text: str) -> list[sla_settings.IntervalForm]:
    """A weekday's line of `HH:MM-HH:MM` intervals separated by commas; ScheduleError naming a bad one."""
    intervals = []
    for part in text.replace("–", "-").replace("，", ",").split(","):
        if not part.strip():
            continue
        start, sep, end = part.strip().partition("-")
        if not sep:
            raise ScheduleError(f"{WEEKDAYS[weekday]}: write {part.strip()!r} as HH:MM-HH:MM, such as 09:00-18:00")
        intervals.append(sla_settings.IntervalForm(weekday, start.strip(), end.strip()))
    return intervals


def hours_from(data: HoursFormData) -> sla_settings.HoursForm:
    """The business hours a submitted form describes."""
    lines = (data.day0, data.day1, data.day2, data.day3, data.day4, data.day5, data.day6)
    intervals = [interval for day, line in enumerate(lines) for interval in parse_day(day, line)]
    holidays = [day for day in data.holidays.replace(",", "\n").split() if day.strip()]
    return sla_settings.HoursForm(data.timezone.strip(), intervals, holidays)


def _minutes(text: str, label: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit():
        raise ScheduleError(f"The {label} target is a whole number of minutes")
    return int(text)


def _lenient(text: str) -> int | None:
    """A target as typed, to show again after a refusal (what is not a number is left out)."""
    return int(text) if text.strip().isdigit() else None


def pause_on_from(data: PolicyFormData) -> tuple[str, ...]:
    """The ticked statuses that pause the clock (the page's empty marker left out)."""
    if data.pause_on is None:
        return sla_settings.PolicyForm().pause_on
    values = (data.pause_on,) if isinstance(data.pause_on, str) else tuple(data.pause_on)
    return tuple(value for value in values if value)


def policy_from(data: PolicyFormData) -> sla_settings.PolicyForm:
    """The SLA policy a submitted form describes."""
    return sla_settings.PolicyForm(
        name=data.name,
        enabled=bool(data.enabled),
        first_response_minutes=_minutes(data.first_response_minutes, "first response"),
        resolution_minutes=_minutes(data.resolution_minutes, "resolution"),
        business_time=bool(data.business_time),
        channel_ids=(data.channel_ids,) if isinstance(data.channel_ids, str) else tuple(data.channel_ids),
        pause_on=pause_on_from(data),
    )


async def settings_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    status_code: int = 200,
    **shown: Any,
) -> Template:
    """The settings page, showing what is stored unless `shown` carries a form that was refused."""
    hours = shown.pop("hours", None) or await sla_settings.read_hours(principal.scope)
    policy = shown.pop("policy", None) or await sla_settings.read_policy(principal.scope)
    channels = await principal.scope.find(Channel).sort("+name").to_list()
    values = {
        "pausable": PAUSABLE,
        "hours": hours,
        "days": [(day, name, day_text(hours, day)) for day, name in enumerate(WEEKDAYS)],
        "policy": policy,
        "channels": channels,
        "csrf_token": signed_in_of(request).csrf_token,
        "saved": request.query_params.get("saved", ""),
        "error": None,
    }
    context = page_context(request, "inbox", **(values | shown))
    return Template(template_name="inbox_sla_settings.html", context=context, status_code=status_code)


async def show_settings(request: Request[Any, Any, Any]) -> Template:
    """GET: the settings page (owners and admins)."""
    return await settings_page(request, principal_of(request, MANAGE))


async def save_hours(request: Request[Any, Any, Any], data: HoursFormData, now: datetime) -> Redirect | Template:
    """POST: store the business hours, or show the page again saying what is wrong."""
    principal = form_principal(request, data, MANAGE)
    lines = (data.day0, data.day1, data.day2, data.day3, data.day4, data.day5, data.day6)
    try:
        await sla_settings.save_hours(principal.scope, hours_from(data), now, principal.actor)
    except ScheduleError as exc:
        typed = sla_settings.HoursForm(data.timezone, [], data.holidays.split())
        days = [(day, name, lines[day]) for day, name in enumerate(WEEKDAYS)]
        return await settings_page(request, principal, 400, hours=typed, days=days, error=str(exc), error_form="hours")
    return Redirect(path=f"{SETTINGS_PATH}?saved=hours", status_code=303)


async def save_policy(request: Request[Any, Any, Any], data: PolicyFormData, now: datetime) -> Redirect | Template:
    """POST: store the SLA policy, or show the page again saying what is wrong."""
    principal = form_principal(request, data, MANAGE)
    try:
        await sla_settings.save_policy(principal.scope, policy_from(data), now, principal.actor)
    except ScheduleError as exc:
        typed = sla_settings.PolicyForm(
            name=data.name,
            enabled=bool(data.enabled),
            first_response_minutes=_lenient(data.first_response_minutes),
            resolution_minutes=_lenient(data.resolution_minutes),
            business_time=bool(data.business_time),
            channel_ids=(data.channel_ids,) if isinstance(data.channel_ids, str) else tuple(data.channel_ids),
            pause_on=pause_on_from(data),
        )
        return await settings_page(request, principal, 400, policy=typed, error=str(exc), error_form="policy")
    return Redirect(path=f"{SETTINGS_PATH}?saved=policy", status_code=303)
