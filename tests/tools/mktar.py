# SPDX-License-Identifier: GPL-2.0-or-later
"""Crafted (often hostile) pax tars for the unpack tests (500-bulk, 510-export).

    from mktar import tar_writer
    mk = tar_writer(DIR)
    mk('dotdot', [{'name': '../evil', 'data': b'x'}])   # writes DIR/dotdot.tar

Each entry is a dict: 'name', optional 'data' (bytes, for regular files) and any
tarfile.TarInfo attribute (type, linkname, mode, uid, pax_headers, ...).
"""
import io
import tarfile


def tar_writer(directory):
    def mk(name, entries):
        with tarfile.open(f'{directory}/{name}.tar', 'w', format=tarfile.PAX_FORMAT) as tf:
            for e in entries:
                e = dict(e)
                data = e.pop('data', b'')
                ti = tarfile.TarInfo(e.pop('name'))
                for k, v in e.items():
                    setattr(ti, k, v)
                ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
                tf.addfile(ti, io.BytesIO(data))
    return mk
