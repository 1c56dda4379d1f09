# SPDX-License-Identifier: GPL-2.0-or-later
"""Crafted (often hostile) pax tars for the unpack tests (500-bulk, 510-export, 520-import-safety).

    from mktar import tar_writer
    mk = tar_writer(DIR)
    mk('dotdot', [{'name': '../evil', 'data': b'x'}])   # writes DIR/dotdot.tar

Each entry is a dict: 'name', optional 'data' (bytes, for regular files), optional
'xattrs' ({name: bytes}, written as libarchive's LIBARCHIVE.xattr.* pax records, which
carry binary values such as security.capability) and any tarfile.TarInfo attribute
(type, linkname, mode, uid, devmajor, devminor, pax_headers, ...).
"""
import base64
import io
import struct
import tarfile
import urllib.parse


def capability(*bits):
    """A security.capability value (VFS_CAP_REVISION_2, effective) granting @bits,
    e.g. capability(13) for cap_net_raw."""
    lo = sum(1 << b for b in bits if b < 32)
    hi = sum(1 << (b - 32) for b in bits if b >= 32)
    return struct.pack('<5I', 0x02000000 | 1, lo, 0, hi, 0)


SH = b'#!/bin/sh\necho root\n'

# Privileged entries that an import refuses unless allowed (520-import-safety and the
# tar-entry fuzz seeds). tar_writer copies each entry, so these are never changed.
CHARDEV = {'name': 'dev/mem', 'type': tarfile.CHRTYPE, 'devmajor': 1, 'devminor': 1,
           'mode': 0o600}
BLOCKDEV = {'name': 'dev/sda', 'type': tarfile.BLKTYPE, 'devmajor': 8, 'devminor': 0,
            'mode': 0o660}
RAW_WHITEOUT = {'name': 'wh0', 'type': tarfile.CHRTYPE, 'devmajor': 0, 'devminor': 0}
SETUID = {'name': 'bin/su', 'data': SH, 'mode': 0o4755}
SETGID_DIR = {'name': 'shared', 'type': tarfile.DIRTYPE, 'mode': 0o2775}
CAPABILITY = {'name': 'bin/ping', 'data': SH, 'mode': 0o755,
              'xattrs': {'security.capability': capability(13)}}  # cap_net_raw

# What a normal layer holds besides a file named 'fine': FIFO, whiteout, opaque
# directory, links (to 'fine' and out of the layer).
NORMAL = [{'name': 'pipe', 'type': tarfile.FIFOTYPE, 'mode': 0o644},
          {'name': 'etc/.wh.base-file', 'data': b''},
          {'name': 'data/', 'type': tarfile.DIRTYPE, 'mode': 0o755},
          {'name': 'data/.wh..wh..opq', 'data': b''},
          {'name': 'data/new', 'data': b'new'},
          {'name': 'sticky', 'type': tarfile.DIRTYPE, 'mode': 0o1777},
          {'name': 'rel', 'type': tarfile.SYMTYPE, 'linkname': 'fine'},
          {'name': 'abs', 'type': tarfile.SYMTYPE, 'linkname': '/etc/passwd'},
          {'name': 'hl', 'type': tarfile.LNKTYPE, 'linkname': 'fine'}]


def tar_writer(directory):
    def mk(name, entries):
        with tarfile.open(f'{directory}/{name}.tar', 'w', format=tarfile.PAX_FORMAT) as tf:
            for e in entries:
                e = dict(e)
                data = e.pop('data', b'')
                xattrs = e.pop('xattrs', {})
                ti = tarfile.TarInfo(e.pop('name'))
                for k, v in e.items():
                    setattr(ti, k, v)
                for k, v in xattrs.items():
                    key = 'LIBARCHIVE.xattr.' + urllib.parse.quote(k, safe='')
                    ti.pax_headers[key] = base64.b64encode(v).decode().rstrip('=')
                ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
                tf.addfile(ti, io.BytesIO(data))
    return mk
