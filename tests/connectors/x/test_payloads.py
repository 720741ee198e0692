"""X Account Activity deliveries: the published samples, documented shapes, event ids and the CRC answer."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrm.connectors.items import InboundComment, InboundFollow, InboundMessage, InboundPost
from scrm.connectors.x.payloads import PayloadError, crc_response, event_id, parse_activity, revocation
from webhooks.signatures import x_crc_response_token

from ..conftest import SAMPLES

FIXTURES = Path(__file__).parent / "fixtures"
DM_BODY = (SAMPLES / "x_account_activity_direct_message_events.json").read_bytes()
REVOKE_BODY = (SAMPLES / "x_account_activity_user_event_revoke.json").read_bytes()
TWEETS_BODY = (FIXTURES / "tweet_create_events.json").read_bytes()
FOLLOWS_BODY = (FIXTURES / "follow_events.json").read_bytes()


def test_direct_message_sample_with_its_sender_profile() -> None:
    [item] = parse_activity(DM_BODY)
    assert isinstance(item, InboundMessage)
    assert (item.platform, item.external_id, item.text) == ("x", "954491830116155396", "Hello World!")
    assert item.conversation_id == item.sender.platform_user_id == "3001969357"
    assert (item.sender.display_name, item.sender.username) == ("Jordan Brinks", "furiouscamper")
    assert item.sender.avatar_url.endswith("cW4WTi7C_normal.jpg")
    assert item.at == datetime(2018, 1, 19, 23, 12, 40, 557000, tzinfo=UTC)


def test_our_own_direct_messages_are_skipped() -> None:
    activity = json.loads(DM_BODY)
    activity["direct_message_events"][0]["message_create"]["sender_id"] = activity["for_user_id"]
    assert parse_activity(json.dumps(activity).encode()) == []


def test_mentions_and_replies_skip_our_own_posts() -> None:
    mention, reply = parse_activity(TWEETS_BODY)
    assert isinstance(mention, InboundPost)
    assert (mention.external_id, mention.author.username) == ("2006700000000000001", "furiouscamper")
    assert mention.url == "https://x.com/furiouscamper/status/2006700000000000001"
    assert mention.at == datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    assert isinstance(reply, InboundComment)
    assert (reply.post_id, reply.text) == ("2006600000000000000", "@Harris_0ff thanks, ordered!")


def test_follow_and_unfollow_of_our_account_only() -> None:
    follow, unfollow = parse_activity(FOLLOWS_BODY)
    assert isinstance(follow, InboundFollow) and follow.following
    assert follow.sender.username == "furiouscamper"
    assert follow.external_id == "follow:3001969357:4337869213:1767258000000"
    assert isinstance(unfollow, InboundFollow) and not unfollow.following
    assert unfollow.sender.platform_user_id == "2244994945"


def test_revoke_is_a_channel_health_signal_not_an_item() -> None:
    assert parse_activity(REVOKE_BODY) == []
    assert revocation(REVOKE_BODY) == "x: user 63046977 revoked the app's access at 2018-05-24T09:48:12+00:00"
    assert revocation(DM_BODY) is None


def test_event_id_is_the_platform_id_of_a_single_event() -> None:
    assert event_id(DM_BODY) == "direct_message_events:954491830116155396"


def test_event_id_of_several_posts_is_stable_across_json_spacing() -> None:
    compact = json.dumps(json.loads(TWEETS_BODY), separators=(",", ":")).encode()
    assert event_id(TWEETS_BODY) == event_id(compact)
    assert event_id(TWEETS_BODY).startswith("sha256:")


def test_event_id_without_platform_ids_is_the_body_digest() -> None:
    assert event_id(FOLLOWS_BODY) == "sha256:" + hashlib.sha256(FOLLOWS_BODY).hexdigest()
    assert event_id(b"not json") == "sha256:" + hashlib.sha256(b"not json").hexdigest()


def test_a_body_that_is_not_json_is_refused() -> None:
    with pytest.raises(PayloadError):
        parse_activity(b"[1, 2]")


def test_crc_answer_is_the_hmac_of_the_token_under_the_consumer_secret() -> None:
    # X publishes no CRC vector (x.md b); the expected value was computed with the standard library's hmac
    # and must also agree with the ingress's own check.
    answer = crc_response("challenge-123", "consumer-secret")
    assert answer == {"response_token": "sha256=+JKD3xCx1so7H9dYGqEd8qLRIIR3uCpi/4gsvLxmFd4="}
    assert answer["response_token"] == x_crc_response_token("consumer-secret", "challenge-123")
