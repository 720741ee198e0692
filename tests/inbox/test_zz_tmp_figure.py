import time
from datetime import datetime, timedelta

from scrm.db import Database
from scrm.inbox.teams import change_team
from scrm.pipeline import process_many
from tests.inbox.desk import load, make_desk, messages


async def test_figure(database: Database, now: datetime) -> None:
    desk = await make_desk(now, tuple(f"a{i}" for i in range(10)), capacity=100)
    for label, auto in (("with auto-assign", True), ("team off", False)):
        await change_team(desk.admin, desk.team.id, auto_assign=auto)
        times = []
        for _ in range(5):
            batch = messages(desk, 100, now - timedelta(minutes=1))
            t = time.perf_counter()
            await process_many(batch, now)
            times.append(time.perf_counter() - t)
        print(label, "median batch of 100 new conversations:", sorted(times)[2])
    print(await load(desk))
