#!/usr/bin/env python3
# record-watch.py RUN_DIR SYNC_DIR OUT: an inotify watcher (710-kill, 720-races) that
# appends "ID KEYID STATE" to OUT for every record (or record.tmp) written in RUN_DIR,
# and "sync NAME" for a file made in SYNC_DIR (queued after the record events before it).
import ctypes, os, re, struct, sys
run_dir, sync_dir, out_path = sys.argv[1:4]
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE = 0x8, 0x80, 0x100
wd_run = libc.inotify_add_watch(fd, run_dir.encode(), IN_CLOSE_WRITE | IN_MOVED_TO)
wd_sync = libc.inotify_add_watch(fd, sync_dir.encode(), IN_CREATE)
if wd_run < 0 or wd_sync < 0:
    sys.exit("inotify_add_watch: errno %d" % ctypes.get_errno())
out = open(out_path, "a", buffering=1)
out.write("ready\n")
kid = re.compile(rb'"key_id":"([0-9a-f]{32})"')
st = re.compile(rb'"state":"([a-z]+)"')
while True:
    buf = os.read(fd, 1 << 16)
    i = 0
    while i < len(buf):
        wd, mask, cookie, ln = struct.unpack_from("iIII", buf, i)
        name = buf[i + 16:i + 16 + ln].rstrip(b"\0").decode(errors="replace")
        i += 16 + ln
        if wd == wd_sync:
            out.write("sync %s\n" % name)
            continue
        m = re.match(r"(.+)\.json(\.tmp)?$", name)
        if not m:
            continue
        try:
            with open(os.path.join(run_dir, name), "rb") as f:
                data = f.read()
        except OSError:
            continue
        k, s = kid.search(data), st.search(data)
        out.write("%s %s %s\n" % (m.group(1), k.group(1).decode() if k else "-",
                                  s.group(1).decode() if s else "-"))
