"""The data key: rotating the master key that wraps every photo's, evidence file's and template's data key."""

from __future__ import annotations

from dataclasses import dataclass

from izde.errors import InvalidInput
from izde.governance.roles import Action
from izde.service.core import Core
from izde.store.at_rest import seal_all
from izde.store.crypto import EnvironmentKeys, KeyringFile


@dataclass(frozen=True, slots=True)
class KeyStatus:
    source: str  # where the master keys come from: a file path, or the environment
    current: str
    key_ids: tuple[str, ...]
    objects_by_key: dict[str, int]


@dataclass(frozen=True, slots=True)
class RotationReport:
    previous: str
    current: str
    files_rewrapped: int
    templates_rewrapped: int
    files_sealed: int
    templates_sealed: int
    retired: tuple[str, ...]


class KeysService(Core):
    def data_key_status(self) -> KeyStatus:
        """Which master keys exist and how many stored objects each one wraps (administrators)."""
        self.require(Action.SETTINGS_ADMIN)
        db = self._deployment_db
        assert db.files.envelope is not None
        provider = db.files.envelope.provider
        report = seal_all(db, rewrap=False, apply=False)
        ids = tuple(sorted(provider.keys)) if isinstance(provider, KeyringFile | EnvironmentKeys) else ()
        return KeyStatus(_source(provider), provider.current()[0], ids, dict(report.by_key))

    def rotate_keys(self, *, keep_old: bool = False) -> RotationReport:
        """A new master key wraps every data key (the data itself is not re-encrypted); old keys are then
        removed from the key ring unless ``keep_old``. Audited. Stop servers and workers first: one that kept
        the old key ring in memory would seal new objects under a retired key."""
        self.require(Action.SETTINGS_ADMIN)
        db = self._deployment_db
        assert db.files.envelope is not None
        provider = db.files.envelope.provider
        previous = provider.current()[0]
        if isinstance(provider, KeyringFile):
            provider.add_current()
        elif isinstance(provider, EnvironmentKeys) and len(provider.keys) == 1:
            # The environment's first key is the current one: rotating re-wraps everything under it.
            raise InvalidInput(
                "the data key comes from IZDE_DATA_KEY and has only one key",
                "put a new 'id:hex' (from 'izde keys new') first in IZDE_DATA_KEY, keep the old one after it, "
                "and run 'izde keys rotate' again",
            )
        report = seal_all(db, rewrap=True)
        current = provider.current()[0]
        retired: tuple[str, ...] = ()
        if isinstance(provider, KeyringFile) and not keep_old:
            retired = tuple(sorted(set(provider.keys) - {current}))
            provider.retire(set(retired))
        with db.session() as session:
            self.audit(
                session,
                "keys.rotate",
                "data_key",
                current,
                previous=previous,
                retired=list(retired),
                files_rewrapped=report.files_rewrapped,
                templates_rewrapped=report.templates_rewrapped,
                files_sealed=report.files_sealed,
                templates_sealed=report.templates_sealed,
            )
        return RotationReport(
            previous,
            current,
            report.files_rewrapped,
            report.templates_rewrapped,
            report.files_sealed,
            report.templates_sealed,
            retired,
        )


def _source(provider: object) -> str:
    if isinstance(provider, KeyringFile):
        return str(provider.path)
    if isinstance(provider, EnvironmentKeys):
        return "environment (IZDE_DATA_KEY)"
    return type(provider).__name__
