#!/bin/sh
# install-pkgconfig.sh BUILDDIR: install into a temporary DESTDIR, then build
# and run a small program with nothing but `pkg-config --cflags --libs
# gitterstream` pointing at that tree.
set -eu
builddir=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$builddir" --destdir "$dest" --no-rebuild --quiet >/dev/null
pcdir=$(dirname "$(find "$dest" -name gitterstream.pc | head -n 1)")
[ -f "$pcdir/gitterstream.pc" ] || { echo "gitterstream.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$dest"
cat >"$dest/use.c" <<'C'
#include <gitterstream.h>
#include <stdio.h>
#include <string.h>
static int items;
static void on_item(const gitterstream_msg *m, void *ud) { items += strcmp(gitterstream_msg_str(m, "a"), "b") == 0; }
int main(void)
{
    gitterstream_parser *p = gitterstream_parser_new();
    gitterstream_parser_on_item(p, on_item, NULL);
    gitterstream_parser_feed(p, "{\"a\":\"b\"}\r", 10);
    gitterstream_parser_free(p);
    printf("%s %d\n", gitterstream_version(), items);
    return items == 1 && strcmp(gitterstream_version(), GITTERSTREAM_VERSION) == 0 ? 0 : 1;
}
C
cc ${CC_FLAGS:-} -o "$dest/use" "$dest/use.c" $(pkg-config --cflags --libs gitterstream)
libdir=$(dirname "$(find "$dest" -name 'libgitterstream.so.0' | head -n 1)")
LD_LIBRARY_PATH="$libdir" "$dest/use"
