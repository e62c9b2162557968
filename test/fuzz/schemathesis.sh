#!/usr/bin/env bash
# Property-based fuzzing of every operation of our own OpenAPI document with
# Schemathesis: builds the service, starts it on a free loopback port with a
# private data directory (its own PostgreSQL cluster), signs up a user, and
# runs a fixed budget of generated requests (valid and invalid) against every
# route. Fails when any answer is a 5xx (the not_a_server_error check).
#
#   test/fuzz/schemathesis.sh            (make fuzz-api)
#
# FUZZ_MAX_EXAMPLES (default 6) is the budget: test cases per operation and
# phase. The run is deterministic (the same cases every time); FUZZ_SEED=N
# explores instead, randomly from seed N. FUZZ_VENV is where Schemathesis is installed (created when
# missing). The report (JUnit XML, and the server log) is left in
# FUZZ_REPORT_DIR (default .fuzz-report).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

SCHEMATHESIS_VERSION=4.32.5
max_examples=${FUZZ_MAX_EXAMPLES:-6}
if [ -n "${FUZZ_SEED:-}" ]; then
  generation=(--seed "$FUZZ_SEED" --generation-database none)
else
  generation=(--generation-deterministic)
fi
venv=${FUZZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/contacts-fuzz/venv-$SCHEMATHESIS_VERSION}
report=${FUZZ_REPORT_DIR:-$root/.fuzz-report}

if [ ! -x "$venv/bin/st" ]; then
  echo "== installing schemathesis $SCHEMATHESIS_VERSION in $venv"
  python3 -m venv "$venv" || { echo "python3 -m venv failed (Debian/Ubuntu: apt-get install python3-venv)"; exit 1; }
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

work=$(mktemp -d)
# As root, the private PostgreSQL runs as user postgres, which must reach the
# data directory.
chmod 755 "$work"
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building"
go build -o "$work/contacts" ./cmd/contacts

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
rm -rf "$report" && mkdir -p "$report"

# Rate limits off: the fuzzer sends far more than a user would.
CONTACTS_HTTP_ADDR=127.0.0.1:$port CONTACTS_DATA_DIR=$work/data DATABASE_URL= \
  CONTACTS_RATE_LIMIT=0 CONTACTS_IP_RATE_LIMIT=0 CONTACTS_LOGIN_RATE_LIMIT=0 \
  KAFKA_BROKERS= ELASTICSEARCH_URL= LOG_LEVEL=warn \
  "$work/contacts" serve >"$report/server.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "the service exited:"; cat "$report/server.log"; exit 1; }
  sleep 0.1
done
curl -fsS "$base/readyz" >/dev/null

# json FIELD...: reads a JSON answer on stdin and prints the field's value.
json() { python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]: v = v[k]
print(v)' "$@"; }
register() {
  curl -fsS -X POST "$base/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"account_name\":\"Fuzz $1\",\"name\":\"Fuzz\",\"email\":\"$1@example.com\",\"password\":\"correct horse battery\"}"
}
session=$(register fuzz)
token=$(echo "$session" | json access_token)
account=$(echo "$session" | json account id)
# DELETE /auth/sign_out ends the session it is sent with (?all=true: all the
# user's): it gets a user of its own, so the run's token stays valid.
signout_token=$(register fuzz-signout | json access_token)
# post PATH BODY [CONTENT-TYPE]: a write with the run's token.
post() {
  curl -fsS -X POST "$base/api/v1/$1" -H "Authorization: Bearer $token" -H "Content-Type: ${3:-application/json}" --data-binary "$2"
}
api_key=$(post api_keys '{"name":"fuzz","scopes":["read_contacts","write_contacts"]}' | json key)
# One of each resource, so that the routes naming one by id get past 404
# (random ids would only ever meet it). The key and the agent are spares: the
# fuzzer may revoke or remove them.
contact=$(post contacts '{"first_name":"Fuzz","email":"contact@example.com"}' | json uuid)
note=$(post "contacts/$contact/notes" '{"content":"a note"}' | json id)
company=$(post companies '{"name":"Fuzz Co"}' | json id)
group=$(post groups '{"name":"Fuzz group"}' | json id)
label=$(post labels '{"title":"fuzz"}' | json id)
spare_key=$(post api_keys '{"name":"spare","scopes":["read_contacts"]}' | json id)
agent=$(post agents '{"email":"agent@example.com","name":"Agent","role":"agent"}' | json id)
job=$(post contacts/import $'first_name,email\nAda,ada@example.com\n' text/csv | json job_id)

# No state kept between runs (crash cache, example database): the same
# budget makes the same run.
cat >"$work/schemathesis.toml" <<EOF
[cache]
enabled = false

[parameters]
"path.account_id" = "$account"
"path.key_id" = "$spare_key"
"path.user_id" = "$agent"
"path.job_id" = "$job"
"path.note_id" = "$note"

[[operations]]
include-path-regex = "/contacts/[{]id[}]"
parameters = { "path.id" = "$contact" }

[[operations]]
include-path-regex = "/companies/[{]id[}]"
parameters = { "path.id" = "$company" }

[[operations]]
include-path-regex = "/groups/[{]id[}]"
parameters = { "path.id" = "$group" }

[[operations]]
include-path-regex = "/labels/[{]id[}]"
parameters = { "path.id" = "$label" }
EOF

# run NAME AUTH EXAMPLES [st options]: one Schemathesis run with the given
# bearer. One worker: Hypothesis on several threads trips a CPython 3.11 bug
# (SystemError: AST constructor recursion depth mismatch).
run() {
  local name=$1 bearer=$2 max_examples=$3
  shift 3
  echo "== schemathesis ($name): --max-examples $max_examples ${generation[*]}"
  "$venv/bin/st" --config-file "$work/schemathesis.toml" run "$base/api/v1/openapi.json" \
    --checks not_a_server_error \
    --max-examples "$max_examples" "${generation[@]}" \
    --workers 1 --request-timeout 30 --no-color \
    --header "Authorization: Bearer $bearer" \
    --report junit --report-junit-path "$report/$name.xml" \
    "$@"
}
start=$(date +%s)
status=0
# Every operation with a user's token (the account, its members and keys,
# the profile), sign-out with its own user's, then a lighter pass over the
# account's data routes with the API key (its authentication and scopes; the
# handlers behind are the same).
run token "$token" "$max_examples" --exclude-operation-id signOut || status=1
run signout "$signout_token" "$max_examples" --include-operation-id signOut || status=1
run api_key "$api_key" $(( (max_examples + 2) / 3 )) --exclude-tag auth --exclude-tag accounts --phases fuzzing \
  --exclude-path-regex '^/api/v1/accounts/[{]account_id[}]' || status=1
echo "== fuzzing took $(($(date +%s) - start)) s; report in $report"
if grep -q '"level":"ERROR"' "$report/server.log"; then
  echo "server errors (first 20):"; grep '"level":"ERROR"' "$report/server.log" | head -20
fi
exit $status
