"""Every host test gets a credential store of its own, never the user's: keyrings.alt's real
file backend in a fresh folder, in this process (keyring.set_keyring) and in any `softcrank`
it starts (keyring's own PYTHON_KEYRING_BACKEND and XDG_DATA_HOME). docs/security.md."""

import keyring
import pytest
from keyrings.alt.file import PlaintextKeyring


def file_keyring(folder):
    backend = PlaintextKeyring()
    backend.file_path = str(folder / "keyring_pass.cfg")
    return backend


@pytest.fixture(autouse=True)
def credential_store(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("credentials")
    monkeypatch.setenv("XDG_DATA_HOME", str(folder))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    before = keyring.get_keyring()
    backend = file_keyring(folder / "python_keyring")
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)
