"""Data at rest: reference photos, evidence crops and templates are sealed with envelope encryption.

Each object gets its own random 256-bit data key; the object is encrypted with AES-GCM under it, and the data key
is itself encrypted ("wrapped") with AES-GCM under a master key named by a key id. A sealed object is::

    MAGIC | len(key id) | key id | wrap nonce | wrapped data key (32 + 16 tag) | data nonce | ciphertext + tag

The object's place (its file path, or ``template:<person id>``) is authenticated with it, so a sealed object moved
to another place (one person's template swapped for another's) no longer opens. Rotating the master key only
re-wraps the 60-byte data-key part of each object; the ciphertext stays as it is.

Master keys come from a :class:`KeyProvider`: a key-ring file kept outside the data directory, the environment
(``IZDE_DATA_KEY``), or a key-management service implementing the same two methods.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from izde.errors import ConfigError, IzdeError

MAGIC = b"IZDE-AT-REST-1\x00"
KEY_BYTES = 32
NONCE_BYTES = 12
_WRAPPED_BYTES = KEY_BYTES + 16
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
ENV_VAR = "IZDE_DATA_KEY"


class MissingKey(ConfigError):
    """A sealed object names a master key the provider does not have."""


class SealBroken(IzdeError):
    """A sealed object does not open: altered, moved, or sealed under another key with the same id."""


def check_private(path: Path, what: str) -> None:
    """Refuse a secret file that its group or others may read or write: anyone on the host could copy it."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"the {what} {path} is readable or writable by others (mode {stat.filemode(mode)})",
            f"make it private with 'chmod 600 {path}'",
        )


class KeyProvider(Protocol):
    """Where master keys come from. A key-management service implements these two calls (it may unwrap the
    data keys itself instead; izde needs only the master key of an id, and which id seals new objects)."""

    def current(self) -> tuple[str, bytes]:
        """The id and bytes of the master key that wraps new data keys."""
        ...

    def key(self, key_id: str) -> bytes:
        """The master key of ``key_id``; :class:`MissingKey` if this provider does not have it."""
        ...


@dataclass
class KeyringFile:
    """A private JSON file ``{"current": id, "keys": {id: hex}}``, refused when group- or world-accessible."""

    path: Path
    current_id: str
    keys: dict[str, bytes]

    @classmethod
    def load(cls, path: Path) -> KeyringFile:
        try:
            check_private(path, "data key file")
            raw = json.loads(path.read_text(encoding="utf-8"))
            keys = {str(k): bytes.fromhex(v) for k, v in raw["keys"].items()}
            current = str(raw["current"])
        except FileNotFoundError:
            raise MissingKey(
                f"the data key file {path} does not exist",
                "run 'izde init', restore the key file, or set security.data_key_file / IZDE_DATA_KEY",
            ) from None
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ConfigError(f"the data key file {path} is not a valid key ring ({e})") from None
        if current not in keys or any(len(k) != KEY_BYTES for k in keys.values()):
            raise ConfigError(f"the data key file {path} is not a valid key ring (bad current id or key length)")
        return cls(path, current, keys)

    @classmethod
    def create(cls, path: Path) -> KeyringFile:
        """A new key ring with one random key; its folder is made private. Refuses to overwrite a file."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        ring = cls(path, new_key_id(), {})
        ring.keys[ring.current_id] = secrets.token_bytes(KEY_BYTES)
        ring._write(exclusive=True)
        return ring

    def current(self) -> tuple[str, bytes]:
        return self.current_id, self.keys[self.current_id]

    def key(self, key_id: str) -> bytes:
        if key_id not in self.keys:
            # Another process may have rotated since this one read the file.
            fresh = KeyringFile.load(self.path)
            self.current_id, self.keys = fresh.current_id, fresh.keys
        if key_id not in self.keys:
            raise MissingKey(f"data key {key_id!r} is not in {self.path}", "restore the key ring that sealed it")
        return self.keys[key_id]

    def add_current(self) -> str:
        """A new random key becomes the current one; the old ones stay until retired."""
        key_id = new_key_id()
        self.keys[key_id] = secrets.token_bytes(KEY_BYTES)
        self.current_id = key_id
        self._write()
        return key_id

    def retire(self, key_ids: set[str]) -> None:
        for k in key_ids - {self.current_id}:
            self.keys.pop(k, None)
        self._write()

    def _write(self, *, exclusive: bool = False) -> None:
        body = json.dumps({"current": self.current_id, "keys": {k: v.hex() for k, v in self.keys.items()}}, indent=1)
        tmp = self.path if exclusive else self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body + "\n")
            f.flush()
            os.fsync(f.fileno())
        if not exclusive:
            tmp.replace(self.path)


@dataclass(frozen=True)
class EnvironmentKeys:
    """``IZDE_DATA_KEY=id:hex[,id:hex...]``; the first is current. Rotation happens where the variable is set."""

    current_id: str
    keys: dict[str, bytes]

    @classmethod
    def parse(cls, text: str) -> EnvironmentKeys:
        keys: dict[str, bytes] = {}
        try:
            for part in text.split(","):
                key_id, _, hexkey = part.strip().partition(":")
                if not _KEY_ID.fullmatch(key_id) or len(bytes.fromhex(hexkey)) != KEY_BYTES:
                    raise ValueError
                keys[key_id] = bytes.fromhex(hexkey)
        except ValueError:
            raise ConfigError(
                f"{ENV_VAR} is not 'id:64 hex digits[,id:hex...]'", "generate a key with 'izde keys new'"
            ) from None
        return cls(next(iter(keys)), keys)

    def current(self) -> tuple[str, bytes]:
        return self.current_id, self.keys[self.current_id]

    def key(self, key_id: str) -> bytes:
        if key_id not in self.keys:
            raise MissingKey(f"data key {key_id!r} is not in {ENV_VAR}", "add it back (id:hex) until rotated away")
        return self.keys[key_id]


def new_key_id() -> str:
    return "k" + secrets.token_hex(6)


def is_sealed(blob: bytes) -> bool:
    return blob.startswith(MAGIC)


class Envelope:
    """Seals and opens objects with per-object data keys wrapped by the provider's master keys."""

    def __init__(self, provider: KeyProvider) -> None:
        self.provider = provider

    def seal(self, data: bytes, context: str) -> bytes:
        key_id, master = self.provider.current()
        kid = key_id.encode()
        data_key = AESGCM.generate_key(bit_length=256)
        wrap_nonce, data_nonce = secrets.token_bytes(NONCE_BYTES), secrets.token_bytes(NONCE_BYTES)
        wrapped = AESGCM(master).encrypt(wrap_nonce, data_key, MAGIC + kid)
        body = AESGCM(data_key).encrypt(data_nonce, data, MAGIC + context.encode())
        return b"".join((MAGIC, bytes([len(kid)]), kid, wrap_nonce, wrapped, data_nonce, body))

    def open(self, blob: bytes, context: str) -> bytes:
        _, data_key, rest = self._unwrap(blob)
        try:
            return AESGCM(data_key).decrypt(rest[:NONCE_BYTES], rest[NONCE_BYTES:], MAGIC + context.encode())
        except InvalidTag:
            raise SealBroken(f"a sealed object for {context} does not open: it was altered or moved") from None

    def rewrap(self, blob: bytes) -> bytes:
        """The same object with its data key wrapped by the current master key (for rotation)."""
        _, data_key, rest = self._unwrap(blob)
        key_id, master = self.provider.current()
        kid = key_id.encode()
        wrap_nonce = secrets.token_bytes(NONCE_BYTES)
        wrapped = AESGCM(master).encrypt(wrap_nonce, data_key, MAGIC + kid)
        return b"".join((MAGIC, bytes([len(kid)]), kid, wrap_nonce, wrapped, rest))

    @staticmethod
    def key_id_of(blob: bytes) -> str:
        n = blob[len(MAGIC)]
        return blob[len(MAGIC) + 1 : len(MAGIC) + 1 + n].decode()

    def _unwrap(self, blob: bytes) -> tuple[str, bytes, bytes]:
        if not is_sealed(blob) or len(blob) < len(MAGIC) + 1:
            raise SealBroken("not a sealed object")
        key_id = self.key_id_of(blob)
        at = len(MAGIC) + 1 + len(key_id.encode())
        wrap_nonce, wrapped = blob[at : at + NONCE_BYTES], blob[at + NONCE_BYTES : at + NONCE_BYTES + _WRAPPED_BYTES]
        try:
            data_key = AESGCM(self.provider.key(key_id)).decrypt(wrap_nonce, wrapped, MAGIC + key_id.encode())
        except InvalidTag:
            raise SealBroken(f"the data key of a sealed object does not open under master key {key_id!r}") from None
        return key_id, data_key, blob[at + NONCE_BYTES + _WRAPPED_BYTES :]


ENVELOPE_KEY = "izde.envelope"


def envelope_of(session_info: dict[object, object]) -> Envelope:
    envelope = session_info.get(ENVELOPE_KEY)
    if not isinstance(envelope, Envelope):
        raise ConfigError("this database session has no data key", "open the database with izde.store.db.Database")
    return envelope


def template_context(person_id: str) -> str:
    return f"template:{person_id}"


def default_key_path(home: Path) -> Path:
    """Beside the data directory, not in it: a copy or backup of the data directory does not carry the key."""
    home = home.expanduser().absolute()
    return home.parent / f"{home.name}.keys" / "data.keyring"


def provider_from(key_file: Path | None, home: Path, *, create: bool) -> KeyProvider:
    """``IZDE_DATA_KEY`` if set, else the key-ring file (created if ``create`` and it does not exist)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return EnvironmentKeys.parse(env)
    path = key_file.expanduser() if key_file is not None else default_key_path(home)
    if create and not path.exists():
        try:
            return KeyringFile.create(path)
        except FileExistsError:  # made concurrently by another process
            pass
        except OSError as e:
            raise ConfigError(
                f"cannot create the data key file {path}: {e.strerror or e}",
                "set security.data_key_file to a writable place outside the data directory, or IZDE_DATA_KEY",
            ) from None
    return KeyringFile.load(path)
