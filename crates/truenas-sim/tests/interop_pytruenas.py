"""Interop check: the third-party `pytruenas` client (PyPI) against truenas-sim.

Usage: python3 interop_pytruenas.py ws://127.0.0.1:PORT/api/current
"""
import datetime
import sys

from pytruenas.connection import TrueNASWSConnection
from pytruenas.exceptions import ClientException, ValidationErrors

KEY = "1-selfpass-demo-service-key"

uri = sys.argv[1]
conn = TrueNASWSConnection(uri, keepalive=None, call_timeout=20)
conn.connect()

# Before login: the error object must carry errno 207.
try:
    conn.call("user.query")
    raise SystemExit("user.query before login succeeded")
except ClientException as e:
    assert e.errno == 207, (e, e.errno)

r = conn.call("auth.login_ex", {"mechanism": "API_KEY_PLAIN", "username": "passwd-service", "api_key": KEY})
assert r["response_type"] == "SUCCESS", r

alice = conn.call("user.query", [["username", "=", "alice"]], {"get": True})
assert alice["uid"] == 3000, alice
assert alice["unixhash"].startswith("$6$"), alice["unixhash"]
assert isinstance(alice["last_password_change"], datetime.datetime), alice["last_password_change"]

updated = conn.call("user.update", alice["id"], {"locked": True})
assert updated["locked"] is True, updated
updated = conn.call("user.update", alice["id"], {"locked": False})
assert updated["locked"] is False, updated

# An error read through the client: EPERM for a directory-service id, ValidationErrors for bad params.
try:
    conn.call("user.update", 2147000001, {"locked": False})
    raise SystemExit("user.update on a DS user succeeded")
except ClientException as e:
    assert e.errno == 1, (e, e.errno)
    print("error read:", e)
try:
    conn.call("user.update", alice["id"], {"bogus": 1})
    raise SystemExit("unknown key accepted")
except ValidationErrors as e:
    print("validation read:", e)
try:
    conn.call("user.query", [["username", "=", "ghost"]], {"get": True})
    raise SystemExit("get on no match succeeded")
except ClientException as e:
    assert "MatchNotFound" in str(e), str(e)

conn.close()

# The high-level client: its own login (auth.login_ex API_KEY_PLAIN) and method namespace.
from pytruenas import APIKeyAuth, TrueNASClient

client = TrueNASClient(uri, credentials=APIKeyAuth(KEY, username="passwd-service"))
bob = client.api.user.query([["username", "=", "bob"]], {"get": True})
assert bob["uid"] == 3001 and bob["smb"] is False, bob
bob = client.api.user.update(bob["id"], {"password": "Bob-interop-1"})
assert bob["password"] == "Bob-interop-1", bob
try:
    client.api.user.set_password({"username": "bob", "old_password": "x", "new_password": "y"})
    raise SystemExit("set_password for another user without FULL_ADMIN succeeded")
except ClientException as e:
    assert e.errno == 1 and "currently authenticated credential may not reset password" in str(e), str(e)
print("INTEROP OK")
