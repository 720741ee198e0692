"""Quiet hours, caps and messaging windows, as plain rules over times and contacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scrm.connectors.base import Reply, ReplyKind, Template
from scrm.messaging_windows import closed_reason, window_for
from scrm.send_policy import MARKETING_CAP, Recipient, over_cap, quiet_until, refusal


def recipient(timezone: str | None = None, consent: str = "unknown", blocked: bool = False) -> Recipient:
    """A contact as the checks see one."""
    return Recipient(blocked, consent, timezone, (("telegram", "777", ""),))


def test_quiet_hours_hold_marketing_until_nine_in_the_contacts_timezone() -> None:
    tokyo = recipient("Asia/Tokyo")  # UTC+9, no daylight saving
    late = datetime(2026, 5, 20, 13, 30, tzinfo=UTC)  # 22:30 in Tokyo
    assert quiet_until(tokyo, "campaign", late) == datetime(2026, 5, 21, 0, 0, tzinfo=UTC)
    early = datetime(2026, 5, 20, 20, 0, tzinfo=UTC)  # 05:00 the next day in Tokyo
    assert quiet_until(tokyo, "journey", early) == datetime(2026, 5, 21, 0, 0, tzinfo=UTC)
    assert quiet_until(tokyo, "campaign", datetime(2026, 5, 20, 0, 0, tzinfo=UTC)) is None  # 09:00 sharp
    assert quiet_until(tokyo, "campaign", datetime(2026, 5, 20, 11, 59, tzinfo=UTC)) is None  # 20:59


def test_quiet_hours_spare_replies_and_fall_back_to_utc() -> None:
    night = datetime(2026, 5, 20, 23, 0, tzinfo=UTC)
    assert quiet_until(recipient("Asia/Tokyo"), "inbox", night) is None
    assert quiet_until(recipient("Not/AZone"), "campaign", night) == datetime(2026, 5, 21, 9, 0, tzinfo=UTC)
    assert quiet_until(recipient(None), "campaign", night) == datetime(2026, 5, 21, 9, 0, tzinfo=UTC)


def test_quiet_hours_end_at_nine_local_across_a_daylight_saving_change() -> None:
    # Europe/Berlin moves to summer time on 2026-03-29 at 02:00: 09:00 that morning is 07:00 UTC
    night = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # 23:00 in Berlin, still winter time
    assert quiet_until(recipient("Europe/Berlin"), "campaign", night) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


def test_blocks_stop_everything_and_withdrawn_consent_stops_marketing() -> None:
    assert refusal(recipient(blocked=True), "inbox") == "the contact is blocked"
    assert refusal(recipient(consent="denied"), "campaign") == "the contact has withdrawn marketing consent"
    assert refusal(recipient(consent="denied"), "inbox") is None
    assert over_cap(MARKETING_CAP - 1) is None and over_cap(MARKETING_CAP) is not None


def test_windows_per_platform() -> None:
    now = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
    text = Reply(to="oUser", text="hi")
    assert closed_reason("wechat", text, now - timedelta(hours=47), now) is None
    assert closed_reason("wechat", text, None, now) == (
        "outside WeChat's 48-hour customer-service window: the contact has never written to this channel"
    )
    assert closed_reason("wecom", text, now - timedelta(hours=49), now) is not None
    for platform in ("telegram", "line", "x"):
        assert window_for(platform, text) is None
    instagram = Reply(to="instagram:1789", text="hi", tag="HUMAN_AGENT")
    assert closed_reason("meta", instagram, now - timedelta(days=6), now) is None
    assert closed_reason("meta", instagram, now - timedelta(days=8), now) == (
        "outside Instagram's 7-day human-agent window: the contact last wrote 8 days ago"
    )
    template = Reply(to="whatsapp:49151", text="", kind=ReplyKind.TEMPLATE, template=Template("t", "en"))
    assert closed_reason("meta", template, now - timedelta(days=30), now) is None
