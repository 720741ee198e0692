"""Filling in the login and account forms the way a browser does, with the CSRF token the page gave."""

from __future__ import annotations

import re

import httpx

HTML = {"accept": "text/html"}


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def log_in(web: httpx.AsyncClient, email: str, password: str, next_page: str = "/") -> httpx.Response:
    """Open the login page and submit it; returns the answer to the submission."""
    page = await web.get("/login", headers=HTML)
    form = {"email": email, "password": password, "csrf_token": csrf_of(page), "next": next_page}
    return await web.post("/login", data=form, headers=HTML)


async def submit_code(web: httpx.AsyncClient, code: str) -> httpx.Response:
    """Submit the second-factor form."""
    page = await web.get("/login/code", headers=HTML)
    return await web.post("/login/code", data={"code": code, "csrf_token": csrf_of(page), "next": "/"}, headers=HTML)


async def post_account_form(web: httpx.AsyncClient, action: str, **fields: str) -> httpx.Response:
    """Submit one of the account page's forms."""
    page = await web.get("/account", headers=HTML)
    return await web.post(action, data={"csrf_token": csrf_of(page), **fields}, headers=HTML)
