"""The subscription handshake and the delivery's event id."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from scrm.connectors.meta import event_id, verify_subscription

# The documented verification request (meta.md a, graph-api/webhooks/getting-started)
DOCUMENTED = (
    "https://www.your-clever-domain-name.com/webhooks"
    "?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock"
)
PARAMS = dict(parse_qsl(urlsplit(DOCUMENTED).query))


def test_documented_request_gets_its_challenge_back() -> None:
    assert verify_subscription(PARAMS, "meatyhamhock") == "1158201444"


@pytest.mark.parametrize(
    ("params", "token"),
    [
        ({**PARAMS, "hub.verify_token": "meatyhamhocks"}, "meatyhamhock"),
        ({**PARAMS, "hub.verify_token": ""}, "meatyhamhock"),
        ({**PARAMS, "hub.mode": "unsubscribe"}, "meatyhamhock"),
        ({k: v for k, v in PARAMS.items() if k != "hub.mode"}, "meatyhamhock"),
        ({**PARAMS, "hub.verify_token": ""}, ""),  # a channel without a token accepts nobody
    ],
    ids=["wrong-token", "empty-token", "wrong-mode", "no-mode", "no-configured-token"],
)
def test_anything_else_gets_no_challenge(params: dict[str, str], token: str) -> None:
    assert verify_subscription(params, token) is None


def test_event_id_is_the_sha256_of_the_raw_body() -> None:
    body = (Path(__file__).parent / "fixtures" / "whatsapp_text.json").read_bytes()
    assert event_id(body) == hashlib.sha256(body).hexdigest()
    assert event_id(body) == event_id(bytes(body))  # a retry repeats the bytes, so the id


def test_event_id_differs_for_a_differently_serialised_body() -> None:
    assert event_id(b'{"object":"page"}') != event_id(b'{"object": "page"}')
