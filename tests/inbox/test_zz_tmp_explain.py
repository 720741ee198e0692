from datetime import datetime

from scrm.inbox.sla import sla_filter
from scrm.models import Conversation
from tests.inbox.conftest import Inbox


async def test_explain(inbox: Inbox, now: datetime) -> None:
    c = Conversation.get_pymongo_collection()
    for q in ({"workspace_id": inbox.scope.workspace_id, "sla.breached_at": {"$lte": now}},
              {"workspace_id": inbox.scope.workspace_id, **sla_filter("breached", now)},
              {"workspace_id": inbox.scope.workspace_id, **sla_filter("at_risk", now)}):
        try:
            plan = await c.find(q).hint("sla_due").explain()
            print("OK", plan["queryPlanner"]["winningPlan"])
        except Exception as exc:
            print("ERR", exc)
    raise AssertionError
