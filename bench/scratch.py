"""What every benchmark starts with: a scratch folder, free ports, and a MongoDB to measure against.

The MongoDB is the bundled one, started in the scratch folder and stopped afterwards, unless SCRM_MONGODB_URI
names another server (then that one is used and left as it is).
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scrm.embedded import EmbeddedMongo


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def scratch_mongo() -> Iterator[tuple[str, str]]:
    """A scratch folder (also the bundled mongod's home) and the MongoDB URI to use: `(home, uri)`."""
    with tempfile.TemporaryDirectory(prefix="scrm-bench-") as home:
        given = os.environ.get("SCRM_MONGODB_URI")
        if given:
            yield home, given
            return
        mongo = EmbeddedMongo(Path(home), free_port())
        mongo.start()
        try:
            yield home, mongo.uri
        finally:
            mongo.stop()
