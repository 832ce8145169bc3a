#!/bin/sh
# check-exports.sh LIBRARY MAPFILE HEADER: the library exports exactly the
# functions the version script lists, which are exactly the functions the
# public header declares.
set -eu
lib=$1 map=$2 header=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort >"$tmp/exported"
sed -n 's/^[[:space:]]*\(gitterstream_[a-z0-9_]*\);$/\1/p' "$map" | sort >"$tmp/listed"
grep -o '\bgitterstream_[a-z0-9_]*(' "$header" | tr -d '(' | sort -u >"$tmp/declared"
status=0
if ! diff -u "$tmp/listed" "$tmp/exported" >"$tmp/d1"; then
    echo "the library's exports differ from $map:"; cat "$tmp/d1"; status=1
fi
if ! diff -u "$tmp/listed" "$tmp/declared" >"$tmp/d2"; then
    echo "the header's functions differ from $map:"; cat "$tmp/d2"; status=1
fi
others=$(nm -D --defined-only "$lib" | awk '$2 != "T" && $2 != "A" { print $3 }')
if [ -n "$others" ]; then
    echo "unexpected exported objects: $others"; status=1
fi
[ $status -eq 0 ] && echo "exports match: $(wc -l <"$tmp/listed") functions"
exit $status
