"""Realistic things customers write, in English and Chinese, and the people who write them."""

from __future__ import annotations

import random
from dataclasses import dataclass

TEXTS_EN = (
    "Hi! Do you ship the house blend to Seattle?",
    "How much is the 1 kg bag of espresso beans?",
    "My order #20261121-884 arrived with a broken lid, not happy 😡",
    "The oat latte today was perfect, thank you!! ☕️",
    "Can someone call me about catering for 40 people? +1 415 555 2671",
    "Is the cold brew available in cans yet?",
    "App keeps logging me out when I try to pay, pls help",
    "Do you have a student discount?",
    "Loved the new pumpkin spice, best in town 🎃",
    "Still waiting for my refund, it's been 10 days...",
    "Where can I buy your beans in London?",
    "email me the wholesale price list: buyer@cafe-example.com",
)
TEXTS_ZH = (
    "你好，请问燕麦拿铁今天有优惠吗？",
    "外卖送到的时候咖啡全洒了，订单号 2026112145678，太失望了",
    "你们的冷萃真好喝，下次还来！👍",
    "怎么成为会员？我的手机号 13812345678",
    "咖啡豆一公斤多少钱？可以开发票吗",
    "小程序一直支付失败，怎么办",
    "加我微信 wx: coffee_lover88 聊聊团购",
    "周末门店几点开门？",
    "等了四十分钟还没送到，太慢了",
    "新品桂花拿铁很惊艳，推荐给朋友了",
    "请问有没有无糖的选项？",
    "积分可以兑换什么？我有 1500 分",
)
NAMES_EN = ("Mia Chen", "Jack Taylor", "Olivia Brown", "Noah Wilson", "Emma Davis", "Liam Moore", "Ava Clark")
NAMES_ZH = ("王芳", "李强", "张伟", "刘洋", "陈静", "杨磊", "赵敏")


@dataclass(frozen=True, slots=True)
class Visitor:
    """Someone writing to the brand: a stable id per platform, a name, a language."""

    number: int
    name: str
    language: str


def pick_visitor(rng: random.Random, population: int = 200) -> Visitor:
    """One of `population` recurring people (so conversations grow), half writing English, half Chinese."""
    number = rng.randrange(population)
    if number % 2:
        return Visitor(number, NAMES_ZH[number % len(NAMES_ZH)], "zh")
    return Visitor(number, NAMES_EN[number % len(NAMES_EN)], "en")


def pick_text(rng: random.Random, visitor: Visitor) -> str:
    """Something this visitor might write, in their language."""
    return rng.choice(TEXTS_ZH if visitor.language == "zh" else TEXTS_EN)
