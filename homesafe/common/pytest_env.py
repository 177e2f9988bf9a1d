"""Loaded by pytest with `-p` before Django reads its settings: every test run gets its own
data directory (test database, key file, secret key) and never touches a developer's data."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

if "HOMESAFE_TEST_DATA_DIR" not in os.environ:
    _dir = tempfile.mkdtemp(prefix="homesafe-test-")
    os.environ["HOMESAFE_TEST_DATA_DIR"] = _dir
    atexit.register(shutil.rmtree, _dir, True)
os.environ["HOMESAFE_DATA_DIR"] = os.environ["HOMESAFE_TEST_DATA_DIR"]
os.environ.setdefault("HOMESAFE_RATELIMIT", "0")
os.environ.setdefault("HOMESAFE_TEST_QUICK_HASHING", "1")
# Against a real Redis, tests only ever clear their own keys (see conftest's _fresh_cache).
os.environ.setdefault("HOMESAFE_CACHE_PREFIX", f"homesafe-test-{os.getpid()}")
os.environ.setdefault("HOMESAFE_REALTIME_PREFIX", f"homesafe-test-{os.getpid()}:rt:")
os.environ.setdefault("HOMESAFE_TEST_DB_SUFFIX", str(os.getpid()))
os.environ.pop("HOMESAFE_ENCRYPTION_KEYS", None)
os.environ.pop("HOMESAFE_PRODUCTION", None)
