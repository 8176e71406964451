"""pyserver: the learning-progress REST API (Starlette on uvicorn), SQLite or PostgreSQL.

The snapshot it serves is computed with the very same ``pyclient`` reducer the browser runs.
"""

from __future__ import annotations

from .app import create_app
from .auth import TokenIssuer, create_user, hash_password, verify_password
from .cursor import MAX_LIMIT
from .errors import ApiError, ServerError, StorageError, Unauthorized
from .storage import Storage, open_storage

__all__ = [
    "MAX_LIMIT",
    "ApiError",
    "ServerError",
    "Storage",
    "StorageError",
    "TokenIssuer",
    "Unauthorized",
    "create_app",
    "create_user",
    "hash_password",
    "open_storage",
    "verify_password",
]
