"""Where the server keeps its state: the data directory, the JWT secret, the database URL.

- Data directory: ``PYSERVER_DATA_DIR`` or ``./data``.
- JWT secret: ``PYSERVER_JWT_SECRET``, else generated once into ``<data dir>/jwt-secret``.
- Database: ``--database-url`` / ``PYSERVER_DATABASE_URL``, else a SQLite file in the data dir.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from .errors import ConfigError

__all__ = ["data_dir", "database_url", "jwt_secret"]

_SECRET_FILE = "jwt-secret"


def data_dir() -> Path:
    """The data directory, created if missing."""
    path = Path(os.environ.get("PYSERVER_DATA_DIR") or "data")
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(explicit: str | None = None) -> str:
    """The database URL: the explicit one, the environment's, or SQLite in the data dir."""
    url = explicit or os.environ.get("PYSERVER_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir() / 'pyserver.sqlite3'}"


def jwt_secret() -> str:
    """The HS256 secret; generated once (0600) when the environment does not give one."""
    secret = os.environ.get("PYSERVER_JWT_SECRET")
    if secret:
        if len(secret.encode()) < 32:
            raise ConfigError("PYSERVER_JWT_SECRET must be at least 32 bytes")
        return secret
    path = data_dir() / _SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it right now
            text = path.read_text().strip()
            if text:
                return text
            time.sleep(0.02)
        raise ConfigError(f"{path} is empty; delete it or set PYSERVER_JWT_SECRET") from None
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as file:
        file.write(secret + "\n")
    return secret
