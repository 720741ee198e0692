"""Lead-capture entities are found in real-looking English and Chinese posts."""

from __future__ import annotations

import pytest

from scrm.nlp.entities import extract_entities
from scrm.nlp.tags import ENTITY_KINDS


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("加我微信: abc_123", "wechat", "abc_123"),
        ("wx：tony_li88 详聊", "wechat", "tony_li88"),
        ("VX abc12345 加我", "wechat", "abc12345"),
        ("my WeChat: lucy_w2024 thx", "wechat", "lucy_w2024"),
        ("call me at +1 415 555 2671", "phone", "+14155552671"),
        ("call 415-555-2671 after 5pm", "phone", "+14155552671"),
        ("手机 13812345678", "phone", "+8613812345678"),
        ("电话13911112222，谢谢", "phone", "+8613911112222"),
        ("+86 138 1234 5678 找王经理", "phone", "+8613812345678"),
        ("London office +44 20 7946 0958", "phone", "+442079460958"),
        ("订单号 2024052012345", "order_number", "2024052012345"),
        ("我的订单：2024052012345 还没发货", "order_number", "2024052012345"),
        ("order #A12345678 is late", "order_number", "A12345678"),
        ("Order number: ab-778812 never came", "order_number", "AB-778812"),
        ("¥199", "money", "199 CNY"),
        ("只要￥1,299.00 包邮", "money", "1299.00 CNY"),
        ("$25.50", "money", "25.50 USD"),
        ("这个卖299元", "money", "299 CNY"),
        ("预算3万元左右", "money", "30000 CNY"),
        ("costs 30 USD or RMB 200", "money", "30 USD"),
        ("about 40 bucks", "money", "40 USD"),
        ("see https://shop.example.com/p/1?ref=wb 看看", "url", "https://shop.example.com/p/1?ref=wb"),
        ("链接www.example.cn/item/9，快抢", "url", "www.example.cn/item/9"),
        ("claim at bit.ly/3xYz now", "url", "bit.ly/3xYz"),
        ("mail me: Jo.Doe@Example.com", "email", "jo.doe@example.com"),
        ("邮箱 purchase@huaxin.cn 联系", "email", "purchase@huaxin.cn"),
    ],
)
def test_finds_entity(text: str, kind: str, value: str) -> None:
    found = [(e.kind, e.value) for e in extract_entities(text)]
    assert (kind, value) in found
    assert {k for k, _ in found} <= set(ENTITY_KINDS)


def test_entity_spans_point_into_the_text() -> None:
    text = "加我微信: abc_123 或者打 13812345678，订单号 2024052012345，价格¥199"
    entities = extract_entities(text)
    assert [e.kind for e in entities] == ["wechat", "phone", "order_number", "money"]
    for entity in entities:
        assert text[entity.start : entity.end] == entity.text


def test_an_email_is_not_also_a_url_and_an_order_number_is_not_a_phone() -> None:
    kinds = [e.kind for e in extract_entities("write to sales@example.com about order 2024052012345")]
    assert kinds.count("email") == 1
    assert "url" not in kinds
    assert "phone" not in kinds


@pytest.mark.parametrize("text", ["", "hello world", "我很喜欢这个", "in 2024 we sold 12 units", "1234"])
def test_plain_text_has_no_contact_entities(text: str) -> None:
    assert [e for e in extract_entities(text) if e.kind in {"phone", "email", "wechat"}] == []
