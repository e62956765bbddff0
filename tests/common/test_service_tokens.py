"""Service-account tokens (SEC-1, issue 15): staff sign in through OpenID Connect; the HS256 tokens of
``zhifa token`` are for service accounts only, and their lifetime is capped — a longer one is neither
issued nor accepted, even when correctly signed."""
import datetime as dt
import subprocess
import sys

import jwt
import pytest
from nameko import config

from services.common.auth import TOKEN_ISSUER, AuthError, authenticate, issue_token

SECRET = "s" * 64
ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def forged(hours: float, **extra) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    claims = {"sub": "svc", "role": "supervisor", "region": "320400", "iss": TOKEN_ISSUER, "iat": now,
              "exp": now + dt.timedelta(hours=hours), "bodies": [], **extra}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def bearer(token: str):
    return authenticate({"Authorization": f"Bearer {token}"}, {}, secret=SECRET)


def test_sec1_service_tokens_are_capped_when_issued_and_when_accepted():
    assert bearer(issue_token("svc", "supervisor", "320400", hours=8, secret=SECRET)).role == "supervisor"
    with pytest.raises(ValueError, match="at most 8 h"):
        issue_token("svc", "supervisor", "320400", hours=9, secret=SECRET)
    with pytest.raises(AuthError, match="exceeds the cap"):
        bearer(forged(24 * 365, svc=True))           # correctly signed, but a year long
    with pytest.raises(AuthError, match="service-account"):
        bearer(forged(1))                             # a staff token of the old kind (no svc claim)
    with config.patch({"ZHIFA_TOKEN_MAX_HOURS": 1}):
        with pytest.raises(ValueError):
            issue_token("svc", "supervisor", "320400", hours=2, secret=SECRET)
        with pytest.raises(AuthError):
            bearer(forged(2, svc=True))


def test_sec1_zhifa_token_cli_refuses_more_than_the_cap(tmp_path):
    cmd = [sys.executable, "-m", "services.common.cli", "token", "--service-account", "nightly-export",
           "--role", "supervisor", "--region", "320400"]
    env = {"ZHIFA_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    ok = subprocess.run(cmd + ["--hours", "2"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert ok.returncode == 0 and ok.stdout.count(".") == 2
    refused = subprocess.run(cmd + ["--hours", "48"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert refused.returncode == 2 and "at most 8 h" in refused.stderr and not refused.stdout
