#!/usr/bin/env python3
"""`hsmlog scan` on live input and on a terminal, through real pipes and pseudo-terminals:
--follow prints findings while the writer is still writing, SIGINT/SIGTERM store every line
written before them, a progress line appears only on a terminal (or when forced), colour
only on a terminal without NO_COLOR, and control characters from log lines never reach the
terminal raw. Prints TAP.

Usage: scan_follow.py HSMLOG RULES_DIR

No assertion is about time: pauses only make the input arrive in pieces, and every wait has
a generous deadline so that a broken build fails instead of hanging."""
import json
import os
import pty
import re
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HSMLOG, RULES = sys.argv[1], sys.argv[2]
DEADLINE = 30.0  # seconds any single wait may take before the test gives up

# Lines in journalctl's short-iso form, timed by a number of seconds. TRIGGER_* each give one
# finding; QUIET gives none.
class Line:
    def __init__(self, hour, text):
        self.hour, self.text = hour, text

    def format(self, s):
        return "2026-11-28T%02d:%02d:%02d+0000 app-client-8 %s" % (self.hour, s // 60 % 60,
                                                                  s % 60, self.text)


TRIGGER_ERR = Line(16, "signing-svc[2270]: NTLS connect to 10.20.0.22:1792 failed: "
                       "Connection refused")
TRIGGER_WARN = Line(3, "keyrotator[3302]: C_Sign returned CKR_DEVICE_ERROR")
QUIET = Line(4, "keyrotator[3302]: rotation check: 0 keys due")

results = []
TMP = tempfile.mkdtemp(prefix="hsmlog-follow.")
NO_SITE = os.path.join(TMP, "no-site")


def check(ok, name, detail=""):
    results.append(ok)
    print(("ok" if ok else "not ok") + " %d - %s" % (len(results), name))
    if not ok and detail:
        for line in str(detail).splitlines()[:30]:
            print("# " + line)
    sys.stdout.flush()


def env(**extra):
    e = dict(os.environ)
    e.update({"HSMLOG_RULES": RULES, "TZ": "UTC", "LC_ALL": "C"})
    # Never the machine's /etc/hsmlog/rules.d or the developer's ~/.config: a directory that
    # does not exist.
    e.update({"HSMLOG_SYSCONFDIR": NO_SITE, "XDG_CONFIG_HOME": NO_SITE})
    e.pop("NO_COLOR", None)
    e.update(extra)
    return e


def db_path(name):
    return os.path.join(TMP, name + ".db")


def query(db, sql):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def read_line(proc, buf):
    """Returns the next stdout line of proc (without waiting for EOF), or None at the
    deadline or at EOF. buf keeps bytes read past the line."""
    end = time.monotonic() + DEADLINE
    fd = proc.stdout.fileno()
    while b"\n" not in buf[0]:
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return None
        buf[0] += chunk
    line, buf[0] = buf[0].split(b"\n", 1)
    return line.decode("utf-8", "replace")


def finish(proc, stdin_close=True):
    if stdin_close and proc.stdin and not proc.stdin.closed:
        proc.stdin.close()
    try:
        return proc.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "hung"


def send(proc, text):
    proc.stdin.write(text.encode())
    proc.stdin.flush()


def follow(db, *args):
    return subprocess.Popen([HSMLOG, "--db", db, "scan", "--follow"] + list(args) + ["-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env())


def test_follow_prints_before_close(fmt):
    db = db_path("follow-" + fmt)
    p = follow(db, "-o", fmt)
    buf = [b""]
    send(p, QUIET.format(s=1) + "\n" + TRIGGER_ERR.format(s=5) + "\n")
    first = read_line(p, buf)
    time.sleep(0.3)  # the writer pauses: the next line comes in a later read
    send(p, QUIET.format(s=2) + "\n")
    time.sleep(0.3)
    send(p, TRIGGER_WARN.format(s=7) + "\n")
    second = read_line(p, buf)
    alive = p.poll() is None  # the writer has not closed yet
    rc = finish(p)
    rest = (buf[0] + p.stdout.read()).decode()
    err = p.stderr.read().decode()
    if fmt == "json":
        try:
            got = [json.loads(first)["rule"], json.loads(second)["rule"]]
        except (TypeError, ValueError):
            got = [first, second]
        want = ["net.ntls-port-unreachable", "pkcs11.error"]
        check(got == want and alive, "follow -o json: each finding object printed while the "
              "writer is still writing", "got %r alive=%r" % (got, alive))
    else:
        ok = (first is not None and second is not None and alive and
              first.startswith("2026-11-28 16:00:05 ERROR    net.ntls-port-unreachable "
                               "app-client-8: NTLS connect to 10.20.0.22:1792 failed") and
              second.startswith("2026-11-28 03:00:07 WARNING  pkcs11.error app-client-8: "))
        check(ok, "follow -o text: one line per finding printed while the writer is still "
              "writing", "first=%r second=%r alive=%r" % (first, second, alive))
        check("2 findings (2 new)" in rest, "follow -o text ends with the totals line", rest)
    check(rc == 0, "follow -o %s: exit 0 at the end of input" % fmt, "rc=%r %s" % (rc, err))
    rows = query(db, "SELECT lines, status FROM scans")
    check(rows == [(4, "ok")], "follow -o %s: every line stored" % fmt, rows)


def wait_for(db, sql, want):
    """Polls query(db, sql) until it returns want (the update at a pause has run), or the
    deadline; returns the last rows."""
    end = time.monotonic() + DEADLINE
    rows = None
    while time.monotonic() < end:
        try:
            rows = query(db, sql)
        except sqlite3.Error:  # not created yet
            rows = None
        if rows == want:
            break
        time.sleep(0.05)
    return rows


def test_follow_rebuilds_groups():
    """After the first pause, a live line rebuilds the incidents of its group (rule, host and
    key) only: the other groups of the host keep their incidents, ids included. The result is
    what a scan of the same lines in one go makes."""
    db = db_path("follow-groups")
    bad = "2026-11-28T%s+0000 hsm-a1 lunash[4410]: %s Login: incorrect password or PED key\n"
    incidents = ("SELECT id, rule_id, key, count FROM incidents WHERE rule_id = "
                 "'auth.login-failed' ORDER BY key, first_ts")
    p = follow(db)
    # hsm-a2's incident is written after hsm-a1's: a rebuild of all of hsm-a1 would give its
    # incidents new ids, above hsm-a2's.
    other = "2026-11-28T10:01:00+0000 hsm-a2 lunash[4410]: Auditor Login: incorrect password\n"
    want_first = [('["hsm-a1","Auditor"]', 1), ('["hsm-a1","HSM SO"]', 1),
                  ('["hsm-a2","Auditor"]', 1)]
    want_after = [('["hsm-a1","Auditor"]', 1), ('["hsm-a1","HSM SO"]', 2),
                  ('["hsm-a2","Auditor"]', 1)]
    counts = "SELECT key, count FROM incidents WHERE rule_id = 'auth.login-failed' ORDER BY key"
    send(p, bad % ("10:00:00", "HSM Admin") + bad % ("10:00:30", "Auditor") + other)
    first = wait_for(db, counts, want_first)
    before = query(db, incidents)
    send(p, bad % ("10:10:00", "HSM Admin"))
    after = wait_for(db, counts, want_after)
    now = query(db, incidents)
    rc = finish(p)
    auditor_before = [r for r in before if r[2] == '["hsm-a1","Auditor"]']
    auditor_now = [r for r in now if r[2] == '["hsm-a1","Auditor"]']
    check(first == want_first and after == want_after and auditor_before == auditor_now and
          len(auditor_now) == 1 and rc == 0,
          "follow: a live line rebuilds its own group; the host's other group keeps its incident "
          "and id", "before=%r now=%r rc=%r" % (before, now, rc))
    # The same lines in one scan, rebuilt whole: the same incidents (by content).
    whole = db_path("follow-groups-whole")
    lines = (bad % ("10:00:00", "HSM Admin") + bad % ("10:00:30", "Auditor") + other +
             bad % ("10:10:00", "HSM Admin"))
    subprocess.run([HSMLOG, "--db", whole, "scan", "-"], input=lines.encode(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(), timeout=DEADLINE)
    content = ("SELECT rule_id, from_rule_id, host, key, first_ts, last_ts, count, state, summary "
               "FROM incidents ORDER BY rule_id, key, first_ts")
    a, b = query(db, content), query(whole, content)
    check(a == b and len(a) >= 3, "follow: the incidents a pause at a time are those of one scan",
          "follow=%r one scan=%r" % (a, b))


def test_follow_signal(sig, name):
    """A signal mid-stream: lines already in the pipe when it comes are read and stored."""
    db = db_path("follow-" + name)
    p = follow(db)
    buf = [b""]
    send(p, TRIGGER_ERR.format(s=1) + "\n")
    ready = read_line(p, buf)  # hsmlog is up and reading: its handlers are installed
    # A burst the scan may not have read yet when the signal lands, ending mid-stream
    # without a pause. Nothing written before the signal may be lost.
    burst = "".join((TRIGGER_WARN if i % 10 == 0 else QUIET).format(s=i) + "\n"
                    for i in range(300))
    send(p, burst)
    p.send_signal(sig)
    rc = finish(p, stdin_close=False)
    p.stdin.close()
    out = (buf[0] + p.stdout.read()).decode()
    err = p.stderr.read().decode()
    check(ready is not None and rc == 0, "follow, %s mid-stream: exit 0" % name,
          "rc=%r ready=%r\n%s" % (rc, ready, err))
    lines = query(db, "SELECT lines FROM scans")
    findings = query(db, "SELECT count(*) FROM findings")[0][0]
    check(lines == [(301,)] and findings == 31,
          "follow, %s mid-stream: every line written before it is in the database" % name,
          "scans.lines=%r findings=%r (want 301, 31)" % (lines, findings))
    printed = out.count(" WARNING  pkcs11.error ")
    check(printed == 30, "follow, %s mid-stream: every finding read was printed" % name,
          "printed %d of 30\n%s" % (printed, out[-2000:]))


def test_follow_commits_while_flowing():
    """The database is committed while the input keeps flowing: the finding of the first
    line becomes visible to another reader while `yes` goes on writing. (Which commit makes
    it visible depends on the scheduler: the input waiting for a moment commits at once, a
    pipe that never empties is committed by the clock every second.)"""
    db = db_path("follow-flowing")
    writer = subprocess.Popen(["sh", "-c", 'printf "%s\\n" "$1"; exec yes "$2"', "sh",
                               TRIGGER_ERR.format(s=1), QUIET.format(s=2)],
                              stdout=subprocess.PIPE)
    p = subprocess.Popen([HSMLOG, "--db", db, "scan", "--follow", "-"], stdin=writer.stdout,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env())
    writer.stdout.close()
    seen = False
    end = time.monotonic() + DEADLINE
    while not seen and time.monotonic() < end and p.poll() is None:
        try:
            seen = os.path.exists(db) and query(db, "SELECT count(*) FROM findings")[0][0] > 0
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    flowing = p.poll() is None
    writer.kill()
    writer.wait()
    rc = finish(p, stdin_close=False)
    check(seen and flowing and rc == 0, "follow: commits while the input keeps flowing",
          "seen=%r rc=%r\n%s" % (seen, rc, p.stderr.read().decode()[-2000:]))


def test_plain_scan_sigterm():
    """Issue 6: SIGTERM stops a normal scan of a slow pipe and stores what was read."""
    db = db_path("plain-sigterm")
    p = subprocess.Popen([HSMLOG, "--db", db, "scan", "-o", "json", "-"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
    buf = [b""]
    send(p, QUIET.format(s=0) + "\n" + TRIGGER_ERR.format(s=2) + "\n")
    ready = read_line(p, buf)  # printed when the pipe went quiet
    time.sleep(0.3)
    send(p, "".join(QUIET.format(s=i) + "\n" for i in range(10)) + TRIGGER_WARN.format(s=9) +
         "\n")
    p.send_signal(signal.SIGTERM)
    rc = finish(p, stdin_close=False)
    p.stdin.close()
    err = p.stderr.read().decode()
    check(ready is not None and rc == 0 and "interrupted; what was read is stored" in err,
          "scan of a slow pipe, SIGTERM: exit 0 with a warning", "rc=%r\n%s" % (rc, err))
    rows = query(db, "SELECT lines, findings, status FROM scans")
    check(rows == [(13, 2, "interrupted")],
          "scan of a slow pipe, SIGTERM: what was read is committed", rows)


class PtyRun:
    """Runs hsmlog with some of its standard streams on a pseudo-terminal and collects
    what the terminal shows."""

    def __init__(self, args, tty_out=False, tty_err=False, slow_lines=None, extra_env=None):
        master, slave = pty.openpty()
        self.shown = b""
        reader = threading.Thread(target=self._drain, args=(master,))
        reader.start()
        stdin = subprocess.PIPE if slow_lines is not None else subprocess.DEVNULL
        p = subprocess.Popen([HSMLOG] + args, stdin=stdin,
                             stdout=slave if tty_out else subprocess.PIPE,
                             stderr=slave if tty_err else subprocess.PIPE,
                             env=env(TERM="xterm", **(extra_env or {})))
        os.close(slave)
        early = b""
        if slow_lines is not None:
            # The first line fires: once its finding is out (-o json or --follow), hsmlog is
            # reading, so the pauses after it are sure to come later than the progress
            # line's first delay, however slowly hsmlog started.
            send(p, slow_lines[0] + "\n")
            buf = [b""]
            self.synced = read_line(p, buf) is not None
            early = buf[0] + b"\n" if self.synced else b""
            for line in slow_lines[1:]:
                time.sleep(0.6)
                send(p, line + "\n")
        self.rc = finish(p)
        self.out = b"" if tty_out else early + p.stdout.read()
        self.err = b"" if tty_err else p.stderr.read()
        reader.join(DEADLINE)

    def _drain(self, fd):
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: every holder of the slave side is gone
                break
            if not chunk:
                break
            self.shown += chunk
        os.close(fd)


def slow_input():
    return [TRIGGER_ERR.format(s=0), QUIET.format(s=1), QUIET.format(s=2)]


def has_progress(data):
    return re.search(rb"\r[0-9.]+ (B|KiB)[^\r\n]*/s  <stdin>\x1b\[K", data) is not None


def test_progress():
    db = db_path("progress")
    r = PtyRun(["--db", db, "scan", "-o", "json", "-"], tty_err=True, slow_lines=slow_input())
    check(r.rc == 0 and r.synced and has_progress(r.shown) and r.shown.endswith(b"\r\x1b[K"),
          "progress: drawn on a terminal and cleared at the end", repr(r.shown[-600:]))
    r = PtyRun(["--db", db, "scan", "-o", "json", "--quiet", "-"], tty_err=True,
               slow_lines=slow_input())
    check(r.rc == 0 and r.synced and b"\x1b[K" not in r.shown, "progress: none with --quiet",
          repr(r.shown[-600:]))
    r = PtyRun(["--db", db, "scan", "-o", "json", "--no-progress", "-"], tty_err=True,
               slow_lines=slow_input())
    check(r.rc == 0 and r.synced and b"\x1b[K" not in r.shown, "progress: none with --no-progress",
          repr(r.shown[-600:]))
    r = PtyRun(["--db", db, "scan", "-o", "json", "-"], slow_lines=slow_input())
    check(r.rc == 0 and r.synced and b"\x1b[K" not in r.err and b"\r" not in r.err,
          "progress: none when stderr is a pipe", repr(r.err[-600:]))
    r = PtyRun(["--db", db, "scan", "-o", "json", "--progress", "-"], slow_lines=slow_input())
    check(r.rc == 0 and r.synced and has_progress(r.err), "progress: --progress draws into a pipe too",
          repr(r.err[-600:]))
    r = PtyRun(["--db", db, "scan", "--follow", "-"], tty_err=True, slow_lines=slow_input())
    check(r.rc == 0 and r.synced and b"\x1b[K" not in r.shown,
          "progress: none with --follow by default",
          repr(r.shown[-600:]))


def write_fixture(name, lines):
    path = os.path.join(TMP, name)
    with open(path, "wb") as f:
        f.write(b"".join(l + b"\n" for l in lines))
    return path


OUR_SGR = re.compile(rb"\x1b\[(0|31|1;31|33|36)m")


def test_colour():
    log = write_fixture("colour.log", [TRIGGER_ERR.format(s=1).encode(),
                                       TRIGGER_WARN.format(s=2).encode()])
    args = ["--no-db", "scan", log]
    r = PtyRun(args, tty_out=True)
    check(r.rc == 0 and b"\x1b[31mERROR   \x1b[0m net.ntls-port-unreachable" in r.shown and
          b"\x1b[33mWARNING \x1b[0m pkcs11.error" in r.shown,
          "colour: severities coloured on a terminal", repr(r.shown[:400]))
    r = PtyRun(args, tty_out=True, extra_env={"NO_COLOR": "1"})
    check(r.rc == 0 and b"ERROR    net.ntls-port-unreachable" in r.shown and
          b"\x1b" not in r.shown, "colour: none on a terminal with NO_COLOR=1",
          repr(r.shown[:400]))
    r = PtyRun(args)
    check(r.rc == 0 and b"ERROR    net.ntls-port-unreachable" in r.out and b"\x1b" not in r.out,
          "colour: none in a pipe", repr(r.out[:400]))
    r = PtyRun(["--no-db", "scan", "--color=always", log])
    check(r.rc == 0 and b"\x1b[31mERROR   \x1b[0m" in r.out, "colour: --color=always in a pipe",
          repr(r.out[:400]))
    r = PtyRun(["--no-db", "scan", "--color=never", log], tty_out=True)
    check(r.rc == 0 and b"\x1b" not in r.shown, "colour: --color=never on a terminal",
          repr(r.shown[:400]))
    r = PtyRun(["--no-db", "scan", "--follow", log], tty_out=True)
    check(r.rc == 0 and b"\x1b[31mERROR   \x1b[0m net.ntls-port-unreachable app-client-8: "
          in r.shown, "colour: follow lines coloured on a terminal", repr(r.shown[:400]))


# ESC sequences (OSC window title, SGR, clear screen), BEL, BS, and C1 CSI (U+009B) in the
# host and in the message of a line that fires net.ntls-port-unreachable.
EVIL = (b"Nov 28 16:26:05 evil\x1b]2;owned\x07\x08host sh[1]: nc: connect to 10.20.0.22 "
        b"port 1792 (tcp) failed: Connection refused \x1b[31m red \x1b[2J \x08 \xc2\x9b end")


def raw_controls(data):
    """Control bytes left once our own colour codes (and the pty's CR before LF) are gone."""
    rest = OUR_SGR.sub(b"", data).replace(b"\r\n", b"\n")
    return [c for c in (b"\x1b", b"\x07", b"\x08", b"\xc2\x9b", b"\r") if c in rest]


def test_escaping():
    log = write_fixture("evil.log", [EVIL])
    r = PtyRun(["--db", db_path("evil"), "scan", "--year", "2026", log], tty_out=True)
    shown = r.shown
    check(r.rc == 0 and b"hosts: evil\\x1b]2;owned\\x07\\x08host" in shown and
          b"net.ntls-port-unreachable  evil\\x1b]2;owned\\x07\\x08host: " in shown and
          b"\x1b[31mERROR" in shown and not raw_controls(shown),
          "escaping: the text summary on a terminal shows host controls as \\xNN",
          "raw left: %r\n%r" % (raw_controls(shown), shown[:1500]))
    r = PtyRun(["--no-db", "scan", "--follow", "--year", "2026", log])
    want = (b"Connection refused \\x1b[31m red \\x1b[2J \\x08 \\xc2\\x9b end\n")
    check(r.rc == 0 and want in r.out and b"\x1b" not in r.out,
          "escaping: follow lines show ESC, BS and C1 CSI as \\xNN", repr(r.out))
    r = PtyRun(["--no-db", "scan", "--follow", "--year", "2026", log], tty_out=True)
    check(r.rc == 0 and b"\\x1b[31m red \\x1b[2J" in r.shown and not raw_controls(r.shown),
          "escaping: follow lines on a terminal carry no raw control characters",
          "raw left: %r\n%r" % (raw_controls(r.shown), r.shown))


def test_escaped_warning():
    """Warnings name archive members, whose names the archive's author chose."""
    import io
    import tarfile
    path = os.path.join(TMP, "evil.tar")
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        data = b"\x7fELF" + bytes(200)
        info = tarfile.TarInfo("core\x1b]2;owned\x07.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    r = PtyRun(["--no-db", "scan", path], tty_err=True)
    check(r.rc == 0 and b"evil.tar!core\\x1b]2;owned\\x07.bin: warning: binary content" in r.shown
          and not raw_controls(r.shown), "escaping: a warning naming an archive member shows "
          "its control characters as \\xNN", repr(r.shown))


def main():
    try:
        test_follow_prints_before_close("text")
        test_follow_prints_before_close("json")
        test_follow_rebuilds_groups()
        test_follow_signal(signal.SIGTERM, "SIGTERM")
        test_follow_signal(signal.SIGINT, "SIGINT")
        test_follow_commits_while_flowing()
        test_plain_scan_sigterm()
        test_progress()
        test_colour()
        test_escaping()
        test_escaped_warning()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
