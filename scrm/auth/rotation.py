"""Key rotation: re-seal every stored channel credential from an old `SCRM_SECRET_KEY` to the current one."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from beanie import PydanticObjectId

from scrm.auth import audit
from scrm.models import AuditAction, ChannelCredentials, SecretBox, SecretKeyMismatch, across_workspaces
from scrm.models.sealed import sealed_key_id


@dataclass
class RotationReport:
    """How many values were re-sealed, were already current, or were sealed by a key we were not given."""

    resealed: int = 0
    current: int = 0
    unknown_keys: Counter[str] = field(default_factory=Counter)
    workspaces: set[PydanticObjectId] = field(default_factory=set)


async def rotate_channel_credentials(old: SecretBox, new: SecretBox, now: datetime) -> RotationReport:
    """Re-seal with `new` every value sealed with `old`; idempotent, so an interrupted run can be repeated.

    Values sealed by a third key are counted in `unknown_keys` and left as they are.
    """
    report = RotationReport()
    with across_workspaces("key rotation re-seals the secrets of every workspace"):
        stored = await ChannelCredentials.find_all().to_list()
    for credentials in stored:
        plain: dict[str, str] = {}
        for name, value in credentials.values.items():
            key_id = sealed_key_id(value)
            if key_id == new.key_id:
                report.current += 1
            elif key_id == old.key_id:
                plain[name] = old.open(value, credentials.seal_context(name))
            else:
                report.unknown_keys[key_id] += 1
        if plain:
            fresh = credentials.model_copy(deep=True)
            fresh.seal(new, plain)
            credentials.values |= fresh.values
            with across_workspaces("key rotation re-seals the secrets of every workspace"):
                await credentials.replace()
            report.resealed += len(plain)
            report.workspaces.add(credentials.workspace_id)
    for workspace_id in report.workspaces:
        await audit.record(
            AuditAction.SECRETS_ROTATED, "cli", now, workspace_id=workspace_id, details={"to_key": new.key_id}
        )
    return report


def check_keys(old: SecretBox, new: SecretBox) -> None:
    """Refuse a rotation from a key to itself."""
    if old.key_id == new.key_id:
        raise SecretKeyMismatch("The old key is the current SCRM_SECRET_KEY: set SCRM_SECRET_KEY to the new key first")
