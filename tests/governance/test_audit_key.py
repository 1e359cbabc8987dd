"""The audit key: created once, private, never a placeholder or a short or low-variety string; and the chain
stays one chain when several writers append at once."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

import pytest

from izde.api import Izde
from izde.errors import ConfigError
from izde.governance.audit import KEY_BYTES, create_key, load_key
from izde.service.audit import entries
from tests.governance.test_audit_verify import check


def test_a_new_key_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "audit.key"
    create_key(path)
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    key = load_key(path)
    assert len(key) == 2 * KEY_BYTES
    with pytest.raises(FileExistsError):
        create_key(path)
    assert load_key(path) == key
    other = path.parent / "second.key"  # a second key in the existing folder
    create_key(other)
    assert load_key(other) != key


@pytest.mark.parametrize(
    "text, error",
    [
        (secrets.token_hex(KEY_BYTES), None),
        ("  " + secrets.token_hex(KEY_BYTES) + "\n", None),  # surrounding whitespace is not part of the key
        ("abcdefgh" * 4, None),  # exactly KEY_BYTES bytes with exactly 8 different characters
        ("abcdefgh" * 4 + "a", None),
        ("abcdefg" * 4 + "abcd", "placeholder"),  # 7 different characters
        ("changeme", "placeholder"),
        ("CHANGEME", "placeholder"),
        ("test", "placeholder"),
        ("x" * 64, "placeholder"),
        ("abcdefgh" * 3 + "abcdefg", "shorter than 32 bytes"),  # 31 bytes
        ("", "placeholder"),
    ],
)
def test_load_key(tmp_path: Path, text: str, error: str | None) -> None:
    path = tmp_path / "audit.key"
    path.write_text(text)
    path.chmod(0o600)  # a group- or world-readable key is refused before its content is read
    if error is None:
        assert load_key(path) == text.strip().encode()
    else:
        with pytest.raises(ConfigError, match=error):
            load_key(path)


def test_a_missing_key_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_key(tmp_path / "nope.key")


def test_concurrent_writers_append_to_one_chain(service: Izde) -> None:
    writers, each = 4, 8
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            for i in range(each):
                with service.db.session() as s:
                    service.audit(s, "test.step", "thing", f"{w}-{i}", actor="tester")
        except BaseException as e:  # reported below, in the test's own thread
            errors.append(e)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    r = check(service)
    assert r.ok and r.count == writers * each, r.problems
    with service.db.session(readonly=True) as s:
        assert [e.seq for e in entries(s)] == list(range(1, writers * each + 1))
