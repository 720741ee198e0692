"""OAuth 1.0a signing: X's worked example, and the header of a signed request checked from the rules."""

from __future__ import annotations

import httpx

from scrm.connectors.x.oauth1 import OAuth1, hmac_sha1_signature, parameter_string, percent, signature_base_string

from ..memory import FakeClock

# The worked example of X's "Creating a signature" page (see fixtures/README.md).
EXAMPLE_PARAMS = [
    ("status", "Hello Ladies + Gentlemen, a signed OAuth request!"),
    ("include_entities", "true"),
    ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
    ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
    ("oauth_signature_method", "HMAC-SHA1"),
    ("oauth_timestamp", "1318622958"),
    ("oauth_token", "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
    ("oauth_version", "1.0"),
]
CONSUMER_SECRET = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"
TOKEN_SECRET = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"


def test_percent_encoding_keeps_only_unreserved_characters() -> None:
    assert percent("Ladies + Gentlemen, a/b~c_d.e-f!") == "Ladies%20%2B%20Gentlemen%2C%20a%2Fb~c_d.e-f%21"
    assert percent("☃") == "%E2%98%83"


def test_parameter_string_of_the_worked_example() -> None:
    assert parameter_string(EXAMPLE_PARAMS) == (
        "include_entities=true&oauth_consumer_key=xvz1evFS4wEEPTGEFPHBog"
        "&oauth_nonce=kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg&oauth_signature_method=HMAC-SHA1"
        "&oauth_timestamp=1318622958&oauth_token=370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"
        "&oauth_version=1.0&status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21"
    )


def test_signature_of_the_worked_example() -> None:
    url = httpx.URL("https://api.twitter.com/1.1/statuses/update.json?include_entities=true")
    base = signature_base_string("post", url, EXAMPLE_PARAMS)
    assert base.startswith(
        "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26"
    )
    assert hmac_sha1_signature(base, CONSUMER_SECRET, TOKEN_SECRET) == "hCtSmYh+iHYCEqBWrE7C7hYmtUk="


def test_a_form_encoded_request_signs_its_body_and_query() -> None:
    clock = FakeClock()
    clock.advance(1318622958 - clock.now().timestamp())
    signer = OAuth1(
        "xvz1evFS4wEEPTGEFPHBog",
        CONSUMER_SECRET,
        "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        TOKEN_SECRET,
        clock,
        nonce=lambda: "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
    )
    request = httpx.Request(
        "POST",
        "https://api.twitter.com/1.1/statuses/update.json?include_entities=true",
        data={"status": "Hello Ladies + Gentlemen, a signed OAuth request!"},
    )
    header = signer.authorization(request)
    assert 'oauth_signature="hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D"' in header
    assert header.startswith('OAuth oauth_consumer_key="xvz1evFS4wEEPTGEFPHBog", oauth_nonce=')


def test_default_ports_are_dropped_from_the_base_url() -> None:
    with_port = signature_base_string("GET", httpx.URL("https://API.x.com:443/2/users/me?a=1"), [("a", "1")])
    assert with_port == signature_base_string("GET", httpx.URL("https://api.x.com/2/users/me"), [("a", "1")])
