# SPDX-License-Identifier: GPL-2.0-or-later
"""Seeds of the tar-entry fuzz target (tests/fuzz/fuzz-tar-entry.c), written into
tests/fuzz/corpus/tar-entry/ by tests/tools/mktar.py: 520-import-safety's hostile tars
aimed at the target's sentinel (SCRATCH/sentinel), and a normal layer. Run from the top
of the tree: python3 tests/fuzz/seeds-tar-entry.py
"""
import os
import sys
import tarfile

sys.path.insert(0, 'tests/tools')
from mktar import (BLOCKDEV, CAPABILITY, CHARDEV, NORMAL, RAW_WHITEOUT, SETGID_DIR,  # noqa: E402
                   SETUID, SH, tar_writer)

SCRATCH = '/tmp/cryptlayer-fuzz-tar'  # fuzz-tar-entry.c's
OUT = 'tests/fuzz/corpus/tar-entry'
os.makedirs(OUT, exist_ok=True)
mk = tar_writer(OUT)
esc = {'name': 'esc', 'type': tarfile.SYMTYPE, 'linkname': SCRATCH}
up = {'name': 'up', 'type': tarfile.SYMTYPE, 'linkname': '..'}
seeds = {
    'chardev': [CHARDEV],
    'blockdev': [BLOCKDEV],
    'rawwhiteout': [RAW_WHITEOUT],
    'setuid': [SETUID],
    'setgid-dir': [SETGID_DIR],
    'capability': [CAPABILITY],
    'overlay-xattrs': [{'name': 'd', 'type': tarfile.DIRTYPE, 'mode': 0o755,
                        'xattrs': {'trusted.overlay.redirect': b'/etc',
                                   'trusted.overlay.opaque': b'y',
                                   'user.overlay.metacopy': b''}}],
    'hardlink-setuid': [{'name': 'plain', 'data': SH, 'mode': 0o755},
                        {'name': 'plain2', 'type': tarfile.LNKTYPE, 'linkname': 'plain',
                         'mode': 0o4755}],
    'dotdot': [{'name': '../sentinel', 'data': b'x'}],
    'deep-dotdot': [{'name': 'a/../../sentinel', 'data': b'x'}],
    'absolute': [{'name': SCRATCH + '/sentinel', 'data': b'x'}],
    'symlink-file': [dict(esc), {'name': 'esc/sentinel', 'data': b'x'}],
    'relsymlink-file': [dict(up), {'name': 'up/sentinel', 'data': b'x'}],
    'symlink-new': [dict(up), {'name': 'up/new', 'data': b'x'}],
    'symlink-dev': [dict(esc), dict(CHARDEV, name='esc/dev')],
    'hardlink-dotdot': [{'name': 'hl', 'type': tarfile.LNKTYPE, 'linkname': '../sentinel'}],
    'hardlink-absolute': [{'name': 'hl', 'type': tarfile.LNKTYPE,
                           'linkname': SCRATCH + '/sentinel'}],
    'hardlink-symlink': [dict(esc), {'name': 'hl', 'type': tarfile.LNKTYPE,
                                     'linkname': 'esc/sentinel'}],
    'whiteout-symlink': [dict(esc), {'name': 'esc/.wh.sentinel', 'data': b''}],
    'opaque-symlink': [dict(esc), {'name': 'esc/.wh..wh..opq', 'data': b''}],
    'whiteout-dotdot': [{'name': '.wh..', 'data': b''}],
    'dir-then-symlink': [{'name': 'd', 'type': tarfile.DIRTYPE, 'mode': 0o777},
                         dict(up, name='d'), {'name': 'd/sentinel', 'data': b'x'}],
    # a normal layer, and a file with a hole (zero blocks become holes in the unpack)
    'normal': [{'name': 'fine', 'data': b'ok'}] + NORMAL
              + [{'name': 'sparse', 'data': b'\0' * 8192 + b'end'}],
}
for name, entries in seeds.items():
    mk(name, entries)
