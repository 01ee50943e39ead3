#!/usr/bin/env bash
# Fuzzes /api/v1 with schemathesis from its own OpenAPI document: a fresh seeded SQLite ledger,
# a token with every scope, and a server on a spare port. Fails on any 5xx answer, any answer
# that does not match its documented schema, or a wrong content type.
# Needs: NHIDB_BIN (the server binary), SCHEMATHESIS (its executable). Optional: FUZZ_EXAMPLES.
set -euo pipefail

: "${NHIDB_BIN:?set NHIDB_BIN}" "${SCHEMATHESIS:?set SCHEMATHESIS}"
examples="${FUZZ_EXAMPLES:-80}"
port="${FUZZ_PORT:-3097}"
work="$(mktemp -d)"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

export NHIDB_DATABASE_URL="sqlite://$work/fuzz.sqlite" NHIDB_LOG=warn \
    NHIDB_CHECKPOINT_KEY_FILE="$work/checkpoint.key" NHIDB_CHECKPOINT_DIR="$work/checkpoints"
"$NHIDB_BIN" seed-demo --identities 300 --quiet > /dev/null
token="$("$NHIDB_BIN" token create --name api-fuzz --scopes read,provision,decommission,report-usage,audit --owner platform-team --days 1 2>/dev/null)"
"$NHIDB_BIN" serve --addr "127.0.0.1:$port" --site-root "${NHIDB_SITE_ROOT:-target/site}" > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" > /dev/null 2>&1 && break
    sleep 0.1
done

status=0
"$SCHEMATHESIS" run "http://127.0.0.1:$port/api/v1/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance \
    --max-examples "$examples" --seed 20261129 --generation-database none --no-color \
    --report ndjson --report-ndjson-path "$work/events.ndjson" || status=$?

requests="$(grep -o '"ScenarioFinished"' "$work/events.ndjson" | wc -l || true)"
calls="$(grep -o '"request":' "$work/events.ndjson" | wc -l || true)"
echo "api-fuzz: $calls requests recorded across $requests scenarios; server errors in log: $(grep -c ' 5[0-9][0-9] ' "$work/server.log" || true)"
if grep -q "panicked" "$work/server.log"; then
    echo "api-fuzz: the server panicked:" >&2
    grep -A3 panicked "$work/server.log" >&2
    status=1
fi
exit "$status"
