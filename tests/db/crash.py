"""A scan killed with SIGKILL at pseudo-random moments leaves a database that passes
PRAGMA integrity_check and holds a subset of the findings with no duplicate; running the scan
again completes it to exactly the findings (and incidents) of one uninterrupted run.

A first scan builds four indexes of findings at its end (schema 6, deferred_indexes): after a
kill, every index is either present or noted there, and the next writer to open the database
creates the noted ones again.

The kill moments are fractions of a clean run's duration, drawn from a fixed seed, so each
run of the test kills at comparable points on a fast or a slow (sanitizer) build; nothing
is asserted about time.
"""
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time

from common import Ctx

c = Ctx()
big, n_big = c.gen_log("estate-a.log", "hsm-k1", 90)
small1, n1 = c.gen_log("messages-b", "hsm-k2", 40, start_day=10)
small2, n2 = c.gen_log("messages-c", "hsm-k3", 40, start_day=20)
bundle = c.path("bundle.tgz")
with tarfile.open(bundle, "w:gz") as t:
    t.add(small1, arcname="var/log/messages-b")
    t.add(small2, arcname="var/log/messages-c")
inputs = [big, bundle]
expected = n_big + n1 + n2

INCIDENTS = ("SELECT rule_id, host, first_ts, last_ts, state, severity,"
             " (SELECT count(*) FROM findings f WHERE f.incident_id = i.id)"
             " FROM incidents i ORDER BY 1, 2, 3")

INDEXES = ("SELECT name, sql FROM sqlite_master WHERE type = 'index'"
           " AND tbl_name IN ('finding_rows', 'finding_links', 'incidents') ORDER BY name")


def indexes_accounted(db):
    """The findings and incidents indexes present plus those noted as deferred, by name and SQL."""
    return sorted(c.query(db, INDEXES) + c.query(db, "SELECT name, sql FROM deferred_indexes"))


clean_db = c.path("clean.db")
t0 = time.monotonic()
p = c.scan(clean_db, *inputs)
duration = time.monotonic() - t0
c.check(p.returncode == 0, "clean run exits 0", p.stderr)
clean = c.findings(clean_db)
clean_incidents = c.query(clean_db, INCIDENTS)
c.check(len(clean) == expected, "clean run stores %d findings" % expected, len(clean))
c.check(len(set(clean)) == len(clean), "clean run has no duplicate")
clean_indexes = c.query(clean_db, INDEXES)
c.check(len(clean_indexes) == 12 and c.query(clean_db, "SELECT count(*) FROM deferred_indexes")
        == [["0"]], "clean run: the 12 findings and incidents indexes exist again, none left deferred",
        clean_indexes)


def kill_after(db, delay):
    """Starts a scan, SIGKILLs it after delay seconds; returns True if it was still running."""
    proc = subprocess.Popen(c.cmd(db, "scan", "--year", "2026", *inputs), env=c.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    alive = proc.poll() is None
    if alive:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return alive


rng = random.Random(20261129)
# Three single kills at spread-out points, then one database killed three times before the
# re-run: a rerun must cope with the leftovers of several dead scans.
rounds = [[rng.uniform(0.05, 0.95)] for _ in range(3)] + [[0.35, 0.7, 0.97]]
for i, fractions in enumerate(rounds):
    db = c.path("crash%d.db" % i)
    killed = 0
    for f in fractions:
        killed += kill_after(db, f * duration)
        if not os.path.exists(db):
            continue
        ok = c.integrity(db)
        c.check(ok, "round %d: integrity_check ok after SIGKILL at %.0f%% of a run"
                % (i, f * 100))
        part = c.findings(db)
        c.check(len(set(part)) == len(part) and set(part) <= set(clean),
                "round %d: %d findings stored before the kill, no duplicate, all genuine"
                % (i, len(part)))
        if part:
            noted = c.query(db, "SELECT count(*) FROM deferred_indexes")[0][0]
            c.check(indexes_accounted(db) == clean_indexes,
                    "round %d: every findings and incidents index is present or noted as deferred (%s noted)"
                    % (i, noted))
    if not killed:
        print("# round %d: the scan finished before the kill" % i)
    p = c.scan(db, *inputs)
    c.check(p.returncode == 0, "round %d: re-run exits 0" % i, p.stderr)
    again = c.findings(db)
    c.check(again == clean, "round %d: re-run gives exactly the clean run's %d findings"
            % (i, len(clean)),
            "missing %d, extra %d" % (len(set(clean) - set(again)), len(again) - len(set(again))
                                      + len(set(again) - set(clean))))
    c.check(c.query(db, INCIDENTS) == clean_incidents,
            "round %d: incidents are those of the clean run" % i)
    c.check(c.integrity(db), "round %d: integrity_check ok after the re-run" % i)
    c.check(c.query(db, INDEXES) == clean_indexes, "round %d: the findings and incidents indexes are back" % i)

# The state a scan killed between storing and its incident update leaves, made by hand (the
# kills above land there only by chance): two indexes dropped and noted. The next writer to
# open the database, even one that stores nothing, creates them again.
db = c.path("deferred.db")
c.check(c.scan(db, small1).returncode == 0, "deferred: a scan to start from")
con = sqlite3.connect(db)
con.executescript("BEGIN; INSERT INTO deferred_indexes(name, sql) SELECT name, sql FROM"
                  " sqlite_master WHERE name IN ('findings_host_ts', 'findings_incident');"
                  " DROP INDEX findings_host_ts; DROP INDEX findings_incident; COMMIT")
con.close()
c.check(len(c.query(db, INDEXES)) == 10 and indexes_accounted(db) == clean_indexes,
        "deferred: 10 indexes present, 2 noted")
p = c.run(db, "query", "SELECT count(*) FROM findings")
c.check(p.returncode == 0 and len(c.query(db, INDEXES)) == 10,
        "deferred: a query (read-only) reads it as it is", p.stderr)
p = c.scan(db, os.devnull)
c.check(p.returncode == 0 and c.query(db, INDEXES) == clean_indexes
        and c.query(db, "SELECT count(*) FROM deferred_indexes") == [["0"]],
        "deferred: the next writer (a scan of nothing) creates them again", p.stderr)
c.check(c.integrity(db), "deferred: integrity_check ok")

# A writer killed inside a rollback-journal transaction (a scan creating its database is in
# one until the switch to WAL) leaves a hot journal, which a read-only connection may not roll
# back. A query still reads the database, as committed (the kills above land there by chance).
db = c.path("hot-journal.db")
writer = subprocess.Popen([sys.executable, "-c", """
import os, signal, sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("CREATE TABLE t(x)")
con.execute("INSERT INTO t VALUES (1)")
con.execute("PRAGMA cache_size = 1")
con.execute("BEGIN")
con.executemany("INSERT INTO t VALUES (?)", ((i,) for i in range(20000)))
os.kill(os.getpid(), signal.SIGKILL)
""", db])
writer.wait()
c.check(os.path.exists(db + "-journal"), "hot journal: the killed writer left its journal")
p = c.run(db, "query", "--format", "csv", "SELECT count(*) AS n FROM t")
c.check(p.returncode == 0 and p.stdout.split() == ["n", "1"],
        "hot journal: a query reads what was committed", p.stdout + p.stderr)

c.finish()
