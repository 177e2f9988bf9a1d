"""The `homesafe` command as a newcomer runs it: serve on an empty data directory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env(tmp_path: Path) -> dict[str, str]:
    ours = ("HOMESAFE_", "DATABASE_URL", "REDIS_URL", "DJANGO_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env["HOMESAFE_DATA_DIR"] = str(tmp_path)
    return env


def test_it_serves_the_demo_from_an_empty_data_directory(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "homesafe.cli", "serve", "--port", str(port)],
        cwd=ROOT, env=_clean_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        body = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.3)
        assert body == {"status": "ok", "database": True, "version": "0.1.0"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/report/", timeout=5) as r:
            assert r.status == 200
        # The embedded default runs the background loops inside `serve`: a queued alert is
        # written to the outbox in the data directory.
        enqueue = (
            "from homesafe.notify.services import notification_enqueue as q; "
            "q(key='cli:serve:1', channel='email', recipient='contact@example.org', "
            "kind='walk_overdue', subject='Not home yet', body='Last seen on Cuba Street')"
        )
        subprocess.run([sys.executable, "-m", "homesafe.cli", "manage", "shell", "-v0", "-c",
                        enqueue], cwd=ROOT, env=_clean_env(tmp_path), check=True, timeout=60)
        outbox = tmp_path / "outbox"
        deadline = time.monotonic() + 20
        while not (outbox.exists() and any(outbox.iterdir())) and time.monotonic() < deadline:
            time.sleep(0.2)
        [mail] = outbox.iterdir()
        assert "X-Homesafe-Idempotency-Key: cli:serve:1" in mail.read_text()
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in output
    assert "loops running: notifications" in output and "loops stopped" in output
    assert "aroha@demo.homesafe.nz" in output and "walk-home-safe-2026" in output
    assert (tmp_path / "homesafe.sqlite3").exists()
    assert oct((tmp_path / "keys.json").stat().st_mode & 0o777) == "0o600"


def test_it_verifies_the_audit_chain_from_the_command_line(tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    subprocess.run([sys.executable, "-m", "homesafe.cli", "manage", "migrate", "-v0"],
                   cwd=ROOT, env=env, check=True, timeout=120)
    result = subprocess.run([sys.executable, "-m", "homesafe.cli", "audit", "verify"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "audit chain intact" in result.stdout
