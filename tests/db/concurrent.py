"""Several scans writing one database at once all succeed and lose nothing, and `hsmlog query`
works while they write.

Part 1: four scans of different inputs are started together on a database that does not exist
yet (so they race to create the file, switch it to WAL and create the schema), while queries
run in a loop. Every scan exits 0 and reports all its findings as new, the database holds their
sum, every query succeeds and the count it sees never goes down.
Part 2: the creation race alone, a few more times, with small inputs: four scans on a fresh
database, all exit 0 with the sum stored.
In both, the incidents are those of one scan of all the inputs. Part 3 has two scans of one
host and the same hours at once, whose incidents run across both inputs: the short one ends,
and rebuilds what both share, while the long one still stores.
"""
import subprocess
import time

from common import Ctx

c = Ctx()
SCHEMA_VERSION = "14"  # src/store/db.h DB_SCHEMA_VERSION


INCIDENTS = ("SELECT rule_id, from_rule_id, host, key, first_ts, last_ts, count, state, summary,"
             " (SELECT count(*) FROM findings f WHERE f.incident_id = i.id),"
             " (SELECT c.rule_id || ' ' || c.first_ts FROM incidents c WHERE c.id = i.cause_incident_id)"
             " FROM incidents i ORDER BY 1, 2, 3, 4, 5")


def same_incidents_as_one_scan(db, inputs, what):
    serial = db + ".serial"
    p = c.scan(serial, *inputs)
    c.check(p.returncode == 0, "%s: one scan of all the inputs exits 0" % what, p.stderr)
    got, want = c.query(db, INCIDENTS), c.query(serial, INCIDENTS)
    c.check(got == want and want, "%s: the %d incidents are those of one scan of all the inputs"
            % (what, len(want)), "%d against %d" % (len(got), len(want)))


def run_together(db, inputs, query_loop):
    procs = [subprocess.Popen(c.cmd(db, "scan", "--year", "2026", path), env=c.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for path in inputs]
    queries, failures, last, went_down = 0, [], -1, False
    while query_loop and any(p.poll() is None for p in procs):
        # Before the first scan has created the schema there is nothing to query yet.
        v = c.run(db, "query", "--format", "csv", "PRAGMA user_version")
        if v.returncode != 0 or v.stdout.split()[-1:] != [SCHEMA_VERSION]:
            time.sleep(0.01)
            continue
        q = c.run(db, "query", "--format", "csv", "SELECT count(*) FROM findings")
        queries += 1
        if q.returncode != 0:
            failures.append(q.stderr.strip())
            continue
        n = int(q.stdout.split()[-1])
        went_down |= n < last
        last = n
    results = [(p.wait(), *p.communicate()) for p in procs]
    return results, queries, failures, went_down


# Part 1
sizes = []
inputs = []
for k in range(4):
    path, n = c.gen_log("input-%d.log" % k, "hsm-p%d" % k, 100, start_day=1 + 7 * k)
    inputs.append(path)
    sizes.append(n)
db = c.path("new-dir", "shared.db")
results, queries, failures, went_down = run_together(db, inputs, True)
for k, (rc, out, err) in enumerate(results):
    c.check(rc == 0, "scan %d exits 0" % k, err)
    last = out.strip().splitlines()[-1] if out.strip() else ""
    c.check(last.startswith("%d findings (%d new)" % (sizes[k], sizes[k])),
            "scan %d reports its %d findings, all new" % (k, sizes[k]), last + "\n" + err)
c.check(c.query(db, "SELECT count(*) FROM findings") == [[str(sum(sizes))]],
        "the database holds the sum, %d findings" % sum(sizes))
c.check(c.query(db, "SELECT count(*), sum(status = 'ok') FROM scans") == [["4", "4"]],
        "four scans recorded, all 'ok'")
c.check(c.query(db, "SELECT count(*), sum(status = 'ok') FROM sources") == [["4", "4"]],
        "four sources recorded, all 'ok'")
c.check(c.integrity(db), "integrity_check ok")
# Without a query, the two checks after this one could not fail (a stale SCHEMA_VERSION made
# the loop wait for a version that never came).
c.check(queries > 0, "%d queries ran while the scans wrote" % queries)
c.check(not failures, "every query during the scans succeeded", "\n".join(failures))
c.check(not went_down, "the finding count seen by queries never went down")
same_incidents_as_one_scan(db, inputs, "part 1")

# Part 2
small = []
for k in range(4):
    path, n = c.gen_log("small-%d.log" % k, "hsm-s%d" % k, 2, start_day=1 + 7 * k)
    small.append(path)
for round_ in range(3):
    db = c.path("race%d.db" % round_)
    results, _, _, _ = run_together(db, small, False)
    bad = [err for rc, out, err in results if rc != 0]
    c.check(not bad, "creation race %d: all four scans exit 0" % round_, "\n".join(bad))
    c.check(c.query(db, "SELECT count(*) FROM findings") == [[str(4 * 2 * 61)]] and
            c.query(db, "PRAGMA user_version") == [[SCHEMA_VERSION]],
            "creation race %d: schema v%s, all %d findings stored" % (round_, SCHEMA_VERSION, 4 * 2 * 61))
    same_incidents_as_one_scan(db, small, "creation race %d" % round_)

# Part 3
# The same hours, half a minute apart, so that their incidents run across both inputs; the
# second input is short, so that its scan ends (and rebuilds what both share) while the first
# still stores.
shared = [c.gen_log("shared-%d.log" % k, "hsm-q", copies, start_second=30 * k)[0]
          for k, copies in enumerate((300, 20))]
for round_ in range(3):
    db = c.path("shared%d.db" % round_)
    results, _, _, _ = run_together(db, shared, False)
    bad = [err for rc, out, err in results if rc != 0]
    c.check(not bad, "one host, two scans at once %d: both exit 0" % round_, "\n".join(bad))
    same_incidents_as_one_scan(db, shared, "one host, two scans at once %d" % round_)

c.finish()
