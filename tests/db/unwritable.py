"""A database that cannot be written: a scan stops with a clear message naming the database and
exit 2, and the database keeps exactly what it held (same bytes, same rows, integrity_check
ok); `hsmlog query` still reads it.

- read-only: the database's directory is bind-mounted read-only (and, when not root, the file
  is also tried with chmod 0444; root writes through file modes, so that variant is skipped);
- full disk, from the first write: the database sits on a tiny tmpfs filled up;
- full disk in the middle of a scan: a few dozen KiB are left free, the scan fails part way;
  nothing half-written shows, and once space is freed a re-run stores exactly the findings
  of a clean run.

- file-size limit (ulimit -f, writes fail with EFBIG): the same, without any namespace.

Mounts are made in a user and mount namespace (unshare -rm); without one those parts are
skipped, and the test says why.
"""
import hashlib
import os
import resource
import shlex
import signal
import subprocess

from common import Ctx

c = Ctx()


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def in_namespace(script):
    """Runs a shell script as root of a new user+mount namespace; returns CompletedProcess."""
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], env=c.env,
                          capture_output=True, text=True)


# --- file-size limit (ulimit -f): needs no namespace ---
# A scan whose process may not grow any file past 16 KiB cannot even make the 32 KiB -shm
# file WAL needs: it must stop at once, naming the database, and leave it as it was.
os.makedirs(c.path("fsize"))
fdb = c.path("fsize", "hsmlog.db")
p = c.scan(fdb, os.path.join(c.fixtures, "hsm-a1-messages.log"))
c.check(p.returncode == 0, "file-size limit: reference database made", p.stderr)
fsha, frows = sha(fdb), c.dump(fdb)


def small_files():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes then fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))


p = subprocess.run(c.cmd(fdb, "scan", "--year", "2026",
                         os.path.join(c.fixtures, "hsm-rfc5424.log")),
                   env=c.env, capture_output=True, text=True, preexec_fn=small_files)
c.check(p.returncode == 2 and fdb + ": " in p.stderr and "File too large" in p.stderr,
        "file-size limit: scan exits 2 naming the database and the reason", p.stderr)
c.check(sha(fdb) == fsha and c.dump(fdb) == frows and c.integrity(fdb),
        "file-size limit: database bytes and rows unchanged, integrity_check ok")

probe = subprocess.run(["unshare", "-rm", "sh", "-c",
                        "mount -t tmpfs -o size=64k tmpfs \"$0\"", c.tmp],
                       capture_output=True, text=True)
if probe.returncode != 0:
    print("# SKIP read-only and full-disk parts: cannot make a mount namespace (unshare -rm: %s)"
          % (probe.stderr.strip() or "unavailable"))
    c.finish()

H = shlex.quote(c.hsmlog)
fixture = os.path.join(c.fixtures, "hsm-a1-messages.log")
more = os.path.join(c.fixtures, "hsm-rfc5424.log")

# A database with one scan in it; the last close checkpoints it into the main file.
os.makedirs(c.path("ro"))
db = c.path("ro", "hsmlog.db")
p = c.scan(db, fixture)
c.check(p.returncode == 0 and not os.path.exists(db + "-wal"), "reference database made",
        p.stderr)
before_sha, before_rows = sha(db), c.dump(db)

# --- read-only file system ---
d = shlex.quote(c.path("ro"))
r = in_namespace("mount --bind {d} {d} && mount -o remount,bind,ro {d} && "
                 "{H} --db {d}/hsmlog.db scan --year 2026 {more}; echo \"rc=$?\" >&2; "
                 "{H} --db {d}/hsmlog.db query --format csv 'SELECT count(*) FROM findings'"
                 .format(d=d, H=H, more=shlex.quote(more)))
c.check("rc=2" in r.stderr, "read-only file system: scan exits 2", r.stderr)
c.check("%s: cannot write the database: the file or its file system is read-only" % db
        in r.stderr, "read-only file system: the message names the database and says why",
        r.stderr)
c.check(r.stdout.split()[-1:] == [str(61)],
        "read-only file system: query still reads the database", r.stdout + r.stderr)
c.check(sha(db) == before_sha and c.dump(db) == before_rows,
        "read-only file system: database bytes and rows unchanged")

# --- read-only file, as a user ---
if os.geteuid() != 0:
    os.chmod(db, 0o444)
    p = c.scan(db, more)
    os.chmod(db, 0o644)
    c.check(p.returncode == 2 and "read-only" in p.stderr and db in p.stderr,
            "read-only file: scan exits 2 naming the database", p.stderr)
    c.check(sha(db) == before_sha, "read-only file: database unchanged")
else:
    print("# running as root: file modes do not stop root's writes, read-only file variant"
          " skipped (the read-only mount above covers it)")

# --- full disk ---
# One namespace per scenario: a 64 MiB tmpfs holding a copy of the database, filled up with a
# filler file but for `room` KiB. After the scan the filler goes, and query reads the result.
big, n_big = c.gen_log("big.log", "hsm-f1", 200)


def full_disk(room_kib, name, start_db):
    out = c.path(name)
    os.makedirs(out)
    mnt = c.path(name, "mnt")
    os.makedirs(mnt)
    q = lambda s: shlex.quote(s)
    script = """
set -u
cd {out}
mount -t tmpfs -o size=64m tmpfs mnt
cp {db} mnt/hsmlog.db
dd if=/dev/zero of=mnt/filler bs=1k 2>/dev/null
[ {room} -gt 0 ] && truncate -s -{room}k mnt/filler
{H} --db mnt/hsmlog.db scan --year 2026 {big} >scan.out 2>scan.err
echo $? >scan.rc
sha256sum <mnt/hsmlog.db | cut -d' ' -f1 >after.sha
rm mnt/filler
{H} --db mnt/hsmlog.db query --format csv 'PRAGMA integrity_check' >integrity.out 2>&1
{H} --db mnt/hsmlog.db query --format csv \
    "SELECT (SELECT count(*) FROM deferred_indexes) || '+' || (SELECT count(*) FROM \
    sqlite_master WHERE type = 'index' AND tbl_name IN ('finding_rows', 'finding_links', \
    'incidents'))" \
    >failed.deferred 2>&1
cp mnt/hsmlog.db mnt/hsmlog.db-wal . 2>/dev/null
{H} --db mnt/hsmlog.db scan --year 2026 {big} >rerun.out 2>rerun.err
echo $? >rerun.rc
{H} --db mnt/hsmlog.db query --format csv 'PRAGMA integrity_check' >>integrity.out 2>&1
{H} --db mnt/hsmlog.db query --format csv \
    "SELECT s.path, f.line, f.rule_id FROM findings f JOIN sources s ON s.id = f.source_id" \
    >rerun.rows 2>&1
{H} --db mnt/hsmlog.db query --format csv \
    "SELECT count(*) FROM deferred_indexes" >rerun.deferred 2>&1
{H} --db mnt/hsmlog.db query --format csv \
    "SELECT name FROM sqlite_master WHERE type = 'index'
     AND tbl_name IN ('finding_rows', 'finding_links', 'incidents')" \
    >rerun.indexes 2>&1
""".format(out=q(out), db=q(start_db), room=room_kib, H=H, big=q(big))
    r = in_namespace(script)
    if r.returncode != 0:
        print("# namespace script: " + r.stderr.strip())

    def read(f):
        try:
            with open(os.path.join(out, f)) as fh:
                return fh.read()
        except OSError:
            return ""
    return out, read


def reference(start_db, name, label):
    """The findings of the same scan on a roomy disk, over a copy of start_db."""
    ref = c.path(name)
    with open(start_db, "rb") as src, open(ref, "wb") as dst:
        dst.write(src.read())
    p = c.scan(ref, big)
    c.check(p.returncode == 0, "%s on a roomy disk exits 0" % label, p.stderr)
    return c.findings(ref)


ref_rows = reference(db, "ref.db", "reference scan")
# A first scan (into a database without findings) builds six indexes at its end; the disk
# fills up while they are deferred, and the re-run must leave all twelve in place.
empty_db = c.path("empty.db")
c.check(c.scan(empty_db, os.devnull).returncode == 0, "an empty database made")
first_rows = reference(empty_db, "first-ref.db", "reference first scan")
c.check(len(first_rows) > 0, "reference first scan stores %d findings" % len(first_rows))

for room, label, start, want in ((0, "full disk at the first write", db, ref_rows),
                                 (5000, "disk full mid-scan", db, ref_rows),
                                 (5000, "disk full mid-way through a first scan", empty_db,
                                  first_rows)):
    out, read = full_disk(room, "full%d-%s" % (room, os.path.basename(start)), start)
    err = read("scan.err")
    print("# " + err.strip().replace("\n", "\n# "))
    c.check(read("scan.rc").strip() == "2", "%s: scan exits 2" % label, err)
    c.check("mnt/hsmlog.db: " in err and ("disk is full" in err or "No space left" in err),
            "%s: the message names the database and says the disk is full" % label, err)
    c.check(read("integrity.out").count("ok") == 2,
            "%s: integrity_check ok after the failure and after the re-run" % label,
            read("integrity.out"))
    # Copied right after the failure (with its -wal), the database must read as a state a
    # commit left: before the scan, or a prefix of it, never half a transaction.
    copy = os.path.join(out, "hsmlog.db")
    rows = c.findings(copy)
    c.check(len(set(rows)) == len(rows) and set(rows) <= set(want),
            "%s: %d findings readable after the failure, no duplicate, all genuine"
            % (label, len(rows)))
    if room:
        c.check(len(c.findings(start)) < len(rows) < len(want),
                "%s: the failure came after some commits" % label)
    else:
        c.check(read("after.sha").strip() == before_sha and c.dump(copy) == before_rows,
                "%s: database bytes and rows exactly as before" % label)
    # Whether the scan's end could build them again on the full disk depends on how full
    # it was; either way none may be lost.
    noted = read("failed.deferred").split()[-1:]
    c.check(len(noted) == 1 and "+" in noted[0] and sum(map(int, noted[0].split("+"))) == 12,
            "%s: after the failure every index is present or noted (noted+present %s)"
            % (label, noted))
    c.check(read("rerun.rc").strip() == "0", "%s: re-run with space exits 0" % label,
            read("rerun.err"))
    got = sorted(tuple(l.split(",")) for l in read("rerun.rows").strip().splitlines()[1:])
    c.check(got == want, "%s: re-run stores exactly the clean run's %d findings"
            % (label, len(want)), "got %d" % len(got))
    c.check(read("rerun.deferred").split()[-1:] == ["0"]
            and len(read("rerun.indexes").split()) == 1 + 12,
            "%s: after the re-run no index is left deferred, all 12 are there" % label,
            read("rerun.deferred") + read("rerun.indexes"))

c.finish()
