#!/usr/bin/env bash
# demo.sh [BUILDDIR]: the README's live demo. Starts the fake Gitter server
# on loopback with a chatty room (examples/demo.scenario), follows it with
# gitterstream-tail --pretty for 15 seconds through a forced disconnect and
# a 503, then checks that every message was shown once, in order.
set -euo pipefail
build=${1:-build}
here=$(dirname "$0")
dir=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

"$build/tests/fakeserver/gitterstream-fakeserver" --time-limit 30 "$here/demo.scenario" >"$dir/port" &
server=$!
for _ in $(seq 200); do # the server prints its port once it listens
    grep -q '^PORT' "$dir/port" && break
    sleep 0.05
done
url="http://127.0.0.1:$(awk '/^PORT/ { print $2 }' "$dir/port")"

echo "demo: following demo/lobby on the fake Gitter server at $url for 15 s"
echo "demo: (connection states and errors on stderr, messages on stdout)"
GITTER_TOKEN=demo-token timeout --preserve-status -s INT 15 \
    "$build/examples/gitterstream-tail" --pretty --stream-url "$url" --api-url "$url" demo/lobby |
    tee "$dir/out"

numbers=$(sed -n 's/.*: message \([0-9]*\):.*/\1/p' "$dir/out")
first=$(head -n 1 <<<"$numbers")
last=$(tail -n 1 <<<"$numbers")
count=$(wc -l <<<"$numbers")
if [ -z "$numbers" ] || [ "$numbers" != "$(seq "$first" "$last")" ]; then
    echo "demo: FAILED: messages missing, repeated or out of order: $(tr "\n" " " <<<"$numbers")"
    exit 1
fi
echo "demo: $count messages, numbered $first to $last: none lost, none twice, in order."
