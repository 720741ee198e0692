from tests.inbox.test_search import *  # noqa
async def test_probe(web, inbox) -> None:
    r = await web.get(URL, params={"q": "a" * 201}, headers=inbox.bearer("admin"))
    print("BODY", r.text)
