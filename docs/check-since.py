#!/usr/bin/env python3
"""check-since.py HEADER: every documentation block of the public header,
but the file's and the groups', names the release that introduced the
symbol with @since."""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
missing = []
for m in re.finditer(r"/\*\*<?(.*?)\*/", text, re.S):
    body = m.group(1)
    if "@file" in body or "@defgroup" in body or "@cond" in body or "@endcond" in body:
        continue
    if body.strip() == "@}" or body.strip() == "@{":
        continue
    if not re.search(r"@since \d+\.\d+\.\d+", body):
        line = text.count("\n", 0, m.start()) + 1
        missing.append(f"{sys.argv[1]}:{line}: documentation without @since")
print("\n".join(missing) or "every documented symbol names its release")
sys.exit(1 if missing else 0)
