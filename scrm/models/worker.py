"""WorkerHeartbeat: which scrm processes are alive, so health and operators can see them."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pymongo import ASCENDING, IndexModel


class WorkerHeartbeat(Document):
    """The last sign of life of one process (`scrm up`, `scrm worker`, …); stale ones expire on their own."""

    id: str  # type: ignore[assignment]  # "<host>:<pid>", stable for the life of the process
    role: str
    host: str
    pid: int
    started_at: datetime
    seen_at: datetime

    class Settings:
        name = "worker_heartbeats"
        indexes = [IndexModel([("seen_at", ASCENDING)], expireAfterSeconds=600, name="stale")]
