"""Secrets' files: created 0600 and whole, one content when creators race, refused when others can read them."""

from __future__ import annotations

import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.control.token import AdminToken
from service.errors import ServiceError
from service.identity import load_or_create_key
from service.private_file import PrivateFileExposed, read_or_create_private


def test_a_missing_file_is_created_mode_0600_with_the_content(tmp_path) -> None:
    path = tmp_path / "sub" / "secret"
    assert read_or_create_private(path, lambda: b"s3cret") == b"s3cret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_bytes() == b"s3cret"
    assert read_or_create_private(path, lambda: pytest.fail("an existing file is not made again")) == b"s3cret"


def test_concurrent_creators_all_read_the_one_content_that_won(tmp_path) -> None:
    path = tmp_path / "secret"
    creators = 8
    # Every creator makes its content only once all have seen the file missing: they really race.
    all_missing = threading.Barrier(creators)

    def create(i: int) -> bytes:
        def make() -> bytes:
            all_missing.wait(10)
            return f"content of creator {i}".encode()

        return read_or_create_private(path, make)

    with ThreadPoolExecutor(creators) as pool:
        seen = set(pool.map(create, range(creators)))
    assert len(seen) == 1 and seen == {path.read_bytes()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret"]  # no temporary file left behind


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_an_existing_file_others_can_access_is_refused(tmp_path, mode) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"leaked")
    os.chmod(path, mode)
    with pytest.raises(PrivateFileExposed, match=f"{path} is accessible to others \\(mode {mode:04o}\\); "
                                                 "it must be mode 0600"):
        read_or_create_private(path, lambda: b"new")
    assert path.read_bytes() == b"leaked"  # refused, not replaced
    assert issubclass(PrivateFileExposed, ServiceError)  # a one-line message and an exit code


def test_the_signing_key_and_the_admin_token_are_private_files(tmp_path) -> None:
    key = load_or_create_key(tmp_path / "identity" / "signing.key")
    token = AdminToken.load_or_create(tmp_path)
    assert len(key) == 64 and len(token.value) >= 32
    for name in ("identity/signing.key", "admin.token"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600
    os.chmod(tmp_path / "identity" / "signing.key", 0o644)
    with pytest.raises(PrivateFileExposed):
        load_or_create_key(tmp_path / "identity" / "signing.key")
