"""``eventry relays list|register-internal`` and ``eventry relay-config show``."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from click.testing import CliRunner
from sentry_relay.auth import generate_key_pair

from api.app import create_app
from api.cli import main
from infra.bootstrap import bootstrap
from infra.config import Settings
from tests.conftest import make_tenant
from tests.integration.test_relay_configs import add_key


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_relays_and_relay_config_commands(tmp_path: Path, redis_url: str) -> None:
    env = {"EVENTRY_DATA_DIR": str(tmp_path / "var"), "REDIS_URL": redis_url, "DATABASE_URL": ""}
    public = next(p for _, p in iter(generate_key_pair, None) if str(p).startswith("-"))
    relay_id = str(uuid.uuid4())
    code, out = invoke(
        env, "relays", "register-internal", "--version", "25.11.1", "--", relay_id, str(public)
    )
    assert code == 0, out
    code, out = invoke(env, "relays", "list", "--json")
    [listed] = json.loads(out)
    assert listed["relay_id"] == relay_id and listed["internal"] is True and listed["version"] == "25.11.1"
    # a key that begins with "-" (1 in 64 do) is read as an option unless "--" comes first
    assert invoke(env, "relays", "register-internal", "--", "not-a-uuid", str(public))[0] != 0
    assert invoke(env, "relays", "register-internal", str(uuid.uuid4()), "not-a-key")[0] != 0

    svc = bootstrap(Settings.from_env(env))
    try:
        tenant = make_tenant(svc)
        public_key = add_key(create_app(svc).test_client(), tenant)
    finally:
        svc.close()
    code, out = invoke(env, "relay-config", "show", public_key)
    assert code == 0, out
    position_line, document = out.split("\n", 1)
    assert position_line.startswith("position ")
    doc = json.loads(document)
    assert doc["publicKeys"][0]["publicKey"] == public_key and doc["projectId"] == tenant.project_id
    code, out = invoke(env, "relay-config", "show", "0" * 32)
    assert code != 0 and "no config" in out
