"""Shared helpers for the database hardening tests (tests/db/*.py).

Each test is run by meson as `python3 tests/db/NAME.py HSMLOG FIXTURES RULES` and exits 0 (pass),
1 (fail) or 77 (skip). Inputs are generated in a temp dir from the fixture logs, with a host
name of their own and a clock that moves one second per line, so every generated line is a
distinct event and the number of findings is known: each copy of hsm-a1-messages.log holds
FINDINGS_PER_COPY.
"""
import csv
import datetime
import io
import os
import shutil
import subprocess
import sys
import tempfile

FINDINGS_PER_COPY = 61  # findings in fixtures/hsm-a1-messages.log (scan-rfc3164-fixture)


class Ctx:
    def __init__(self):
        if len(sys.argv) != 4:
            sys.exit("usage: %s HSMLOG FIXTURES RULES" % sys.argv[0])
        self.hsmlog = os.path.abspath(sys.argv[1])
        self.fixtures = os.path.abspath(sys.argv[2])
        self.rules = os.path.abspath(sys.argv[3])
        self.tmp = tempfile.mkdtemp(prefix="hsmlog-db.")
        self.env = dict(os.environ, HSMLOG_RULES=self.rules, TZ="UTC", LC_ALL="C")
        # No site rule overrides from the machine or the developer: a directory that is not there.
        self.env.update(HSMLOG_SYSCONFDIR=os.path.join(self.tmp, "no-site"),
                        XDG_CONFIG_HOME=os.path.join(self.tmp, "no-site"))
        self.env.pop("HSMLOG_DB", None)
        self.failed = 0
        self.n = 0

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def check(self, cond, what, detail=""):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, what), flush=True)
        if not cond:
            self.failed += 1
            for line in str(detail).splitlines()[:30]:
                print("#   " + line)
        return cond

    def finish(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        print("1..%d" % self.n)
        sys.exit(1 if self.failed else 0)

    def skip(self, why):
        shutil.rmtree(self.tmp, ignore_errors=True)
        print("1..0 # SKIP " + why)
        sys.exit(77)

    def cmd(self, db, *args):
        return [self.hsmlog, "--db", db] + list(args)

    def run(self, db, *args, **kw):
        """Runs hsmlog and returns the CompletedProcess (text mode)."""
        return subprocess.run(self.cmd(db, *args), env=self.env, capture_output=True, text=True,
                              **kw)

    def scan(self, db, *inputs):
        return self.run(db, "scan", "--year", "2026", *inputs)

    def query(self, db, sql):
        """Returns the rows of sql as lists of strings (header dropped); raises on failure."""
        p = self.run(db, "query", "--format", "csv", sql)
        if p.returncode != 0:
            raise RuntimeError("query failed (%d): %s" % (p.returncode, p.stderr.strip()))
        rows = list(csv.reader(io.StringIO(p.stdout)))
        return rows[1:]

    def integrity(self, db):
        try:
            return self.query(db, "PRAGMA integrity_check") == [["ok"]]
        except RuntimeError as e:
            print("# " + str(e))
            return False

    def findings(self, db):
        """The finding set as sorted (source path, line, rule_id) tuples, duplicates kept; empty
        for a database killed before its schema was committed (created in one transaction)."""
        if self.query(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'findings'") == [["0"]]:
            return []
        return sorted(tuple(r) for r in self.query(
            db, "SELECT s.path, f.line, f.rule_id FROM findings f"
                " JOIN sources s ON s.id = f.source_id"))

    def dump(self, db):
        """Every row of every table, for before/after comparisons."""
        out = []
        for (name,) in self.query(db, "SELECT name FROM sqlite_master WHERE type = 'table'"
                                      " ORDER BY name"):
            out.append((name, sorted(self.query(db, 'SELECT * FROM "%s"' % name))))
        return out

    def gen_log(self, name, host, copies, start_day=1, start_second=0):
        """Writes copies of hsm-a1-messages.log as host, one second per line from start_second
        of start_day; returns its path and the number of findings it holds."""
        src = [l.rstrip("\n") for l in open(os.path.join(self.fixtures, "hsm-a1-messages.log"))]
        t = datetime.datetime(2026, 10, start_day) + datetime.timedelta(seconds=start_second)
        step = datetime.timedelta(seconds=1)
        path = self.path(name)
        with open(path, "w") as f:
            for _ in range(copies):
                for line in src:
                    rest = line.split(" ", 4)[4]
                    f.write("%s %2d %s %s %s\n" % (t.strftime("%b"), t.day,
                                                    t.strftime("%H:%M:%S"), host, rest))
                    t += step
        return path, copies * FINDINGS_PER_COPY
