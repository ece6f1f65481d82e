#!/usr/bin/env bash
# Not part of CI (.ci/run does not call it): the "a client generated from the
# document works" check. Generates a Python client from a demo server's
# /api/openapi.json with openapi-python-client (pinned, in a venv under
# target/), then calls Balance and Block with it as the demo administrator
# and prints what came back.
#
#   .ci/openapi-client.sh target/debug/cashdesk
set -euo pipefail

# All in one function, read whole before it runs, and `exit` on its line: editing
# this file while a run is under way cannot change what that run does.
main() {

GEN_VERSION=0.29.1
bin=${1:?usage: .ci/openapi-client.sh PATH/TO/cashdesk}
cd "$(dirname "$0")/.."
bin=$(realpath "$bin")
venv=$(realpath -m "${OPENAPI_CLIENT_VENV:-target/openapi-client-venv}")

. .ci/demo-server.sh
. .ci/venv.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/cashdesk-openapi-client.XXXXXX")
cleanup() {
    status=$?
    stop_demo
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pinned_venv "$venv" "openapi-python-client==$GEN_VERSION"

start_demo "$bin" "$work"
echo "== demo server at $DEMO_URL"
printf 'post_hooks: []\n' >"$work/config.yml"
echo "== openapi-python-client generate --url $DEMO_URL/api/openapi.json"
"$venv/bin/openapi-python-client" generate --url "$DEMO_URL/api/openapi.json" --meta none \
    --output-path "$work/cashdesk_client" --config "$work/config.yml" --fail-on-warning

PYTHONPATH="$work" "$venv/bin/python" - "$DEMO_URL" "demo-admin" "$DEMO_ADMIN_PASSWORD" <<'PY'
import base64, sys
from cashdesk_client import AuthenticatedClient
from cashdesk_client.api.card import balance_by_number, block
from cashdesk_client.models import Balance, BlockRequest, Ok

url, user, password = sys.argv[1:4]
token = base64.b64encode(f"{user}:{password}".encode()).decode()
client = AuthenticatedClient(base_url=url, token=token, prefix="Basic")
card = "2000000000046"

before = balance_by_number.sync(client=client, number=card)
assert isinstance(before, Balance), before
print(f"Balance {card}: Key={before.key} StatusCode={before.status_code.value} ({before.status_name}), "
      f"{len(before.bonuses)} bonus lines, active monetary {before.bonuses[0].amount}")

answer = block.sync(client=client, body=BlockRequest(number=card, block_reason_code="0", block_reason_name="Потеря карты"))
assert isinstance(answer, Ok), answer
print(f"Block {card} reason 0: Key={answer.key}")

again = block.sync(client=client, body=BlockRequest(number=card, block_reason_code=0))
print(f"Block {card} again: Key={again.key.value} Value={again.value!r} ({type(again).__name__})")
assert again.key.value == "StatusError", again

after = balance_by_number.sync(client=client, number=card)
assert isinstance(after, Balance) and after.status_code.value == "3", after
print(f"Balance {card}: StatusCode={after.status_code.value} ({after.status_name})")
PY
}

main "$@"; exit
