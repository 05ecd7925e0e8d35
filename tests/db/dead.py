"""A scan killed with SIGKILL cannot finish its own scans row: the next writer to open the
database (a scan, `incidents --rebuild`) tells the dead run from a live one and marks its row
'dead', and its sources rows left 'reading' too (docs/SCHEMA.md, "Dead scans"). A reader
(query) changes nothing; a live scan on the same database (a --follow on a quiet pipe) keeps
'running'. Rows are judged by the pid, its start time and the boot id, on this host only:
a pid now held by another process (another start time) or a row of an earlier boot is dead;
a row of another host, or of an older hsmlog (no pid), is left as it is.
"""
import os
import signal
import socket
import sqlite3
import subprocess
import time

from common import Ctx

c = Ctx()
if not os.path.exists("/proc/self/stat"):
    c.skip("no /proc: nothing can be judged dead")
db = c.path("dead.db")
log, _ = c.gen_log("messages-a", "hsm-d1", 2)
lines = open(log).read().splitlines(True)
# Scan A reads lines no earlier scan stored, so that it commits new findings before it dies.
fresh_log, _ = c.gen_log("messages-b", "hsm-d2", 1)
fresh = open(fresh_log).read().splitlines(True)


def status_of(scan_id):
    return c.query(db, "SELECT status FROM scans WHERE id = %d" % scan_id)[0][0]


def sources_of(scan_id):
    return [r[0] for r in c.query(db, "SELECT status FROM sources WHERE scan_id = %d ORDER BY id"
                                      % scan_id)]


def wait_for(cond, what):
    for _ in range(500):
        if cond():
            return True
        time.sleep(0.02)
    c.check(False, "timed out waiting for " + what)
    return False


def start_pipe_scan(*extra, text=lines):
    """A scan reading a pipe this test holds open, fed the first 20 lines of the shared log or
    all of text: it stays running, idle, until closed. Its stderr goes to a file, read with
    stderr_of()."""
    err = open(c.path("stderr-%d" % len(os.listdir(c.tmp))), "w+")
    p = subprocess.Popen(c.cmd(db, "scan", "--year", "2026", *extra, "-"), env=c.env,
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
    p.err = err
    p.stdin.write("".join(text[:20] if text is lines else text).encode())
    p.stdin.flush()
    return p


def stderr_of(p):
    p.err.seek(0)
    return p.err.read()


def running_ids():
    return [int(r[0]) for r in c.query(db, "SELECT id FROM scans WHERE status = 'running'"
                                           " ORDER BY id")]


c.check(c.scan(db, log).returncode == 0, "a first scan makes the database")

# Scan A reads a pipe; once its row, its <stdin> source and its findings (committed when the
# pipe pauses) are stored, SIGKILL.
a = start_pipe_scan(text=fresh)
committed_sql = ("SELECT count(*) FROM finding_rows WHERE source_id IN"
                 " (SELECT id FROM sources WHERE status = 'reading')")
wait_for(lambda: len(running_ids()) == 1 and int(c.query(db, committed_sql)[0][0]) > 0,
         "scan A to start and commit findings")
a_id = running_ids()[0]
committed = int(c.query(db, committed_sql)[0][0])
a.send_signal(signal.SIGKILL)
a.wait()
c.check(status_of(a_id) == "running" and sources_of(a_id) == ["reading"],
        "after SIGKILL the row still says running, its source reading")
c.run(db, "query", "SELECT count(*) FROM scans")
c.check(status_of(a_id) == "running", "a reader (query) changes nothing")

# Scan B, the next writer, marks A dead as it opens the database, then stays alive and idle
# on its pipe while another writer comes.
b = start_pipe_scan("--follow")
wait_for(lambda: c.query(db, "SELECT count(*) FROM scans WHERE id > %d" % a_id) == [["1"]],
         "scan B to start")
b_id = a_id + 1
c.check(status_of(a_id) == "dead", "the next writer marks the killed scan dead", status_of(a_id))
c.check(sources_of(a_id) == ["dead"], "and its source left reading", sources_of(a_id))
c.check(c.query(db, "SELECT s.findings, c.findings FROM scans s JOIN sources c ON c.scan_id = s.id"
                    " WHERE s.id = %d" % a_id) == [[str(committed), str(committed)]],
        "the dead rows count the findings it committed", committed)
c.check(c.query(db, "SELECT finished_at IS NULL, error LIKE '%%process is gone%%' FROM scans,"
                    " sources WHERE scans.id = %d AND sources.scan_id = scans.id" % a_id)
        == [["1", "1"]], "finished_at stays unknown; the source says why")
wait_for(lambda: "earlier scan" in stderr_of(b), "scan B's message")
c.check("1 earlier scan ended without finishing" in stderr_of(b), "and says so on stderr",
        stderr_of(b))
p = c.scan(db, log)
c.check(p.returncode == 0 and "earlier scan" not in p.stderr,
        "a writer while B runs: nothing to mark, no message", p.stderr)
c.check(status_of(b_id) == "running", "a live scan keeps running", status_of(b_id))

# Rows made by hand for what a test cannot arrange: a pid now held by another process (scan
# B's pid, another start time), a row of an earlier boot, of another host, of an old hsmlog.
stat = open("/proc/%d/stat" % b.pid).read()
b_start = int(stat[stat.rindex(")") + 2:].split()[19])
boot = open("/proc/sys/kernel/random/boot_id").read().strip()
host = socket.gethostname()
c.check(c.query(db, "SELECT pid, pid_start, boot_id, hostname FROM scans WHERE id = %d" % b_id)
        == [[str(b.pid), str(b_start), boot, host]],
        "scan B's row names its process: pid, start time, boot id, host name")
con = sqlite3.connect(db)
rows = {
    "reused pid": (b.pid, b_start + 1, boot, host),
    "earlier boot": (b.pid, b_start, "00000000-0000-0000-0000-000000000000", host),
    "other host": (999999, 1, boot, host + "-elsewhere"),
    "old hsmlog": (None, None, None, None),
    "own pid and start": (b.pid, b_start, boot, host),
}
ids = {}
for name, (pid, start, bid, h) in rows.items():
    cur = con.execute("INSERT INTO scans(started_at, command, version, pid, pid_start, boot_id,"
                      " hostname) VALUES ('2026-11-28 00:00:00', ?, 'test', ?, ?, ?, ?)",
                      (name, pid, start, bid, h))
    ids[name] = cur.lastrowid
con.commit()
con.close()
p = c.run(db, "incidents", "--rebuild")
c.check(p.returncode == 0, "incidents --rebuild is a writer too", p.stderr)
want = {"reused pid": "dead", "earlier boot": "dead", "other host": "running",
        "old hsmlog": "running", "own pid and start": "running"}
for name, st in want.items():
    c.check(status_of(ids[name]) == st, "a row of %s: %s" % (name, st), status_of(ids[name]))

b.stdin.close()
b.wait()
c.check(b.returncode == 0 and status_of(b_id) == "ok", "scan B ends ok", b.returncode)
c.check(c.integrity(db), "integrity_check ok")
c.finish()
