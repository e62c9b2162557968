#!/usr/bin/env python3
"""Writes the account-scoped copies of the routes into openapi.json.

Every account-scoped route is mounted twice: under /api/v1 and, the account
named in the path, under /api/v1/accounts/{account_id} (/api/v1/account
becomes /api/v1/accounts/{account_id}). The document lists both, so that a
client generator or a fuzzer sees every route; the second is derived from the
first here rather than kept by hand, so that the two cannot drift: this
script drops every path under /api/v1/accounts/{account_id} and writes the
copies anew (at the end of "paths"), leaving the rest of the file byte for
byte as it was. TestOpenAPIAccountCopies fails when they are stale.

Run: go generate ./readapi/rest   (or python3 readapi/rest/gen_openapi_accounts.py)
"""
import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(HERE, "openapi.json")

PREFIX = "/api/v1"
SCOPED = "/api/v1/accounts/{account_id}"

# The /api/v1 routes that are not an account's: the caller's own user and
# sessions, the list of the caller's accounts, the document itself and the
# projection status. Every other /api/v1 route is account-scoped (the router's
# accountRoutes, the WebSocket and the live stream); the route test checks it.
NOT_SCOPED = {
    "/api/v1/accounts",
    "/api/v1/openapi.json",
    "/api/v1/profile",
    "/api/v1/profile/set_active_account",
    "/api/v1/projections",
}

ACCOUNT_PARAM = {
    "name": "account_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "the account (one of the caller's; else 404 with no data)",
}

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def scoped(path):
    if not path.startswith(PREFIX + "/") or path in NOT_SCOPED or path.startswith(PREFIX + "/auth/"):
        return None
    if path == PREFIX + "/account":
        return SCOPED
    return SCOPED + path[len(PREFIX):]


def derive(item):
    # The account parameter goes on each operation (not on the path item), so
    # that every key of a path item stays an operation.
    out = copy.deepcopy(item)
    for k, op in out.items():
        if k in METHODS:
            op["operationId"] += "InAccount"
            op["parameters"] = [ACCOUNT_PARAM] + op.get("parameters", [])
    return out


def main():
    with open(DOC, encoding="utf-8") as f:
        doc = json.load(f)
    paths = {p: v for p, v in doc["paths"].items() if not p.startswith(SCOPED)}
    copies = {}
    for p, v in paths.items():
        s = scoped(p)
        if s is not None:
            copies[s] = derive(v)
    paths.update(copies)
    doc["paths"] = paths
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
