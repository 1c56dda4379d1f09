#!/usr/bin/env python3
# secret-scan.py KEYS PATH...: look for known key bytes (375-secret-scan) in files and in
# every regular file under directories. KEYS is "name=hex,name=hex". Each key is looked for
# raw, as lowercase and uppercase hex, and as standard and URL-safe base64 at each of the
# three byte alignments (the part of the encoding that does not depend on the bytes
# around it); raw also by each 16-byte quarter, so a partly wiped key is found too.
# Prints one line per hit ("PATH: NAME as FORM at OFFSET") and exits 1 if any.
import base64, os, sys


def forms(key):
    yield "raw", key
    for i in range(0, len(key) - 15, 16):
        yield "raw[%d:%d]" % (i, i + 16), key[i:i + 16]
    yield "hex", key.hex().encode()
    yield "HEX", key.hex().upper().encode()
    for enc, name in ((base64.b64encode, "base64"), (base64.urlsafe_b64encode, "base64url")):
        for o in range(3):
            e = enc(bytes(o) + key).rstrip(b"=")
            # the first 4 characters carry the o bytes before the key, the last ones
            # the bits after it
            yield "%s+%d" % (name, o), e[4 if o else 0:len(e) - 4]


def files(paths):
    for p in paths:
        if os.path.isdir(p) and not os.path.islink(p):
            for d, _, names in os.walk(p):
                for n in names:
                    yield os.path.join(d, n)
        else:
            yield p


def main():
    keys = [(k, bytes.fromhex(v)) for k, v in (kv.split("=", 1) for kv in sys.argv[1].split(","))]
    pats = [(name, form, pat) for name, key in keys for form, pat in forms(key)]
    hits = 0
    for path in files(sys.argv[2:]):
        try:
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            print("%s: unreadable: %s" % (path, e.strerror))
            hits += 1
            continue
        for name, form, pat in pats:
            at = data.find(pat)
            if at >= 0:
                print("%s: %s as %s at %d" % (path, name, form, at))
                hits += 1
    return 1 if hits else 0


sys.exit(main())
