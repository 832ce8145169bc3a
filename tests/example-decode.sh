#!/bin/sh
# example-decode.sh DECODER DATADIR: the example prints the sample stream as
# the expected NDJSON, reports bad items on stderr with exit status 1, and
# fails cleanly on a missing file.
set -eu
decoder=$1 data=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$decoder" "$data/sample.stream" >"$out"
cmp "$out" "$data/sample.ndjson"
status=0
printf '{"a":1}\r[2]\r{"b":3}\r' | "$decoder" >"$out" 2>"$out.err" || status=$?
[ $status -eq 1 ] || { echo "exit $status for a bad item, expected 1"; exit 1; }
[ "$(cat "$out")" = "$(printf '{"a":1}\n{"b":3}')" ] || { echo "wrong items: $(cat "$out")"; exit 1; }
grep -q "not a JSON object" "$out.err" || { echo "no error on stderr"; exit 1; }
rm -f "$out.err"
status=0
"$decoder" "$data/no-such-file" 2>/dev/null || status=$?
[ $status -eq 2 ] || { echo "exit $status for a missing file, expected 2"; exit 1; }
echo "example decodes the sample"
