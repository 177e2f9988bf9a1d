"""Production mode passes Django's deployment checks; the embedded default is safe too."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _check_deploy(extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    ours = ("HOMESAFE_", "DATABASE_URL", "REDIS_URL", "DJANGO_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update({"HOMESAFE_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"})
    env.update(extra)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_it_passes_check_deploy_in_production_mode(tmp_path: Path) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    result = _check_deploy({
        "HOMESAFE_PRODUCTION": "1",
        "HOMESAFE_SECRET_KEY": secrets.token_urlsafe(50),
        "HOMESAFE_ENCRYPTION_KEYS": f"k1:{key}",
        "HOMESAFE_ALLOWED_HOSTS": "safe.example.org",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/homesafe",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "HOMESAFE_SMTP_HOST": "mail.example.org",
    }, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_reads_the_secret_key_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(secrets.token_urlsafe(50))
    key = base64.b64encode(os.urandom(32)).decode()
    keys = tmp_path / "keys"
    keys.write_text(f"k1:{key}\n")
    result = _check_deploy({
        "HOMESAFE_PRODUCTION": "1",
        "HOMESAFE_SECRET_KEY_FILE": str(secret),
        "HOMESAFE_ENCRYPTION_KEYS_FILE": str(keys),
        "HOMESAFE_ALLOWED_HOSTS": "safe.example.org",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/homesafe",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "HOMESAFE_SMTP_HOST": "mail.example.org",
    }, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_production_without_a_secret_key(tmp_path: Path) -> None:
    result = _check_deploy({"HOMESAFE_PRODUCTION": "1"}, tmp_path)
    assert result.returncode != 0
    assert "HOMESAFE_SECRET_KEY" in result.stderr


def test_it_warns_about_the_embedded_default_in_check_deploy(tmp_path: Path) -> None:
    result = _check_deploy({}, tmp_path)
    assert result.returncode != 0
    assert "homesafe.W001" in result.stderr + result.stdout


def test_it_warns_about_production_without_an_smtp_host(tmp_path: Path) -> None:
    result = _check_deploy({
        "HOMESAFE_PRODUCTION": "1",
        "HOMESAFE_SECRET_KEY": secrets.token_urlsafe(50),
        "HOMESAFE_ENCRYPTION_KEYS": f"k1:{base64.b64encode(os.urandom(32)).decode()}",
        "HOMESAFE_ALLOWED_HOSTS": "safe.example.org",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/homesafe",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }, tmp_path)
    assert result.returncode != 0
    assert "homesafe.W010" in result.stderr + result.stdout
