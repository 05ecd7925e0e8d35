"""Several scans writing one database at once all succeed and lose nothing, and `hsmlog query`
works while they write.

Part 1: four scans of different inputs are started together on a database that does not exist
yet (so they race to create the file, switch it to WAL and create the schema), while queries
run in a loop. Every scan exits 0 and reports all its findings as new, the database holds their
sum, every query succeeds and the count it sees never goes down.
Part 2: the creation race alone, a few more times, with small inputs: four scans on a fresh
database, all exit 0 with the sum stored.
"""
import subprocess
import time

from common import Ctx

c = Ctx()
SCHEMA_VERSION = "8"  # src/db.h DB_SCHEMA_VERSION


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

c.finish()
