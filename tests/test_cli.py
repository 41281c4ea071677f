"""The README's server command works: `labelgraph serve` migrates, bootstraps a user and serves."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from labelgraph.cli import build_parser
from tests.conftest import _free_port

LABELGRAPH = str(Path(sys.executable).parent / "labelgraph")


def _wait_up(url: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read()}")
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("server did not come up")


def test_serve_bootstraps_user_and_answers_with_token(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    proc = subprocess.Popen(
        [LABELGRAPH, "serve", "--port", str(port), "--data-dir", str(tmp_path),
         "--username", "admin@example.com", "--password", "pw-12345", "--user-token", "cli-token-123"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url, proc)
        assert (tmp_path / "labelgraph.sqlite3").exists()
        assert (tmp_path / "secret_key").exists()
        ok = requests.get(f"{url}/api/current-user/whoami", headers={"Authorization": "Token cli-token-123"})
        assert ok.status_code == 200 and ok.json()["email"] == "admin@example.com"
        refused = requests.get(f"{url}/api/current-user/whoami", headers={"Authorization": "Token wrong"})
        assert refused.status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_create_user_prints_a_working_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    out = subprocess.run([LABELGRAPH, "create-user", "someone@example.com", "--data-dir", str(tmp_path)],
                         env=env, capture_output=True, text=True, check=True)
    token = out.stdout.strip().splitlines()[-1]
    assert len(token) == 40
    again = subprocess.run([LABELGRAPH, "create-user", "someone@example.com", "--data-dir", str(tmp_path)],
                           env=env, capture_output=True, text=True, check=True)
    assert again.stdout.strip().splitlines()[-1] == token, "an existing user keeps their token"


def test_worker_queues_option():
    def queues(*argv: str) -> tuple[str, ...]:
        return build_parser().parse_args(["worker", *argv]).queues

    assert queues() == ("default", "imports", "exports", "webhooks", "ml")
    assert queues("--queues", "default") == ("default",)
    assert queues("--queues", "exports, imports,exports") == ("imports", "exports")
    for bad in ("jobs", "default,jobs", ","):
        with pytest.raises(SystemExit):
            queues("--queues", bad)
