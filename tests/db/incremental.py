"""Incidents kept up to date a piece at a time are the incidents of one scan of everything.

A seeded log of bad and good logins (resets, with and without a role), reboots and start-ups
(expectations), certificate regenerations and failed NTLS handshakes (causes, per client
groups) is cut into 7 pieces between events (an NTLS connection's lines stay together: `carry`
follows one input in reading order). The pieces go into a database three ways: one scan each
in time order, one scan each in a shuffled order, and one `scan -` with a pause after each
piece, so that the update at a pause rebuilds only the groups the piece touched, keeps the ids
of incidents made again, and links causes again only from where something moved. Each way
must give the incidents (rule, trigger rule, host, key, times, count, state, summary, and the
cause by what it is) and the finding-to-incident links of one scan of the whole log; and
`incidents --rebuild` afterwards must change nothing, ids included.
"""
import datetime
import random
import subprocess
import time

from common import Ctx

c = Ctx()
rnd = random.Random(20261129)

HOSTS = ["hsm-a1", "hsm-a2", "hsm-c2", "app-client-7"]
ROLES = ["HSM Admin", "Partition SO", "Auditor"]


def event(ts, host):
    """The lines of one random event at ts on host."""
    t = ts.strftime("%Y-%m-%dT%H:%M:%S+0000")
    kind = rnd.random()
    if kind < 0.25:
        return ["%s %s lunash[4410]: %s Login: incorrect password or PED key"
                % (t, host, rnd.choice(ROLES))]
    if kind < 0.35:
        return ["%s %s signing-svc[2210]: C_Login failed: CKR_PIN_INCORRECT" % (t, host)]
    if kind < 0.45:
        return ["%s %s signing-svc[2210]: C_Login returned CKR_OK" % (t, host)]
    if kind < 0.50:
        return ["%s %s lunash[6120]: info : 0 : Command: hsm login : admin : 10.20.0.5/53390"
                % (t, host)]
    if kind < 0.55:
        return ["%s %s lunash[5201]: info : 0 : Command: sysconf appliance reboot : admin : "
                "10.20.0.5/52977" % (t, host)]
    if kind < 0.62:
        return ["%s %s NTLS[2204]: info : 0 : Starting up NTLS........" % (t, host)]
    if kind < 0.66:
        return ["%s %s lunash[5312]: info : 0 : Command: sysconf regenCert : admin : "
                "10.20.2.5/52144" % (t, host)]
    ip = "10.20.2.%d" % rnd.randint(41, 46)
    port = rnd.randint(40000, 60000)
    return ["%s %s NTLS[3388]: info : 0 : Incoming connection request... : %s/%d"
            % (t, host, ip, port),
            "%s %s NTLS[3388]: Error message from SSLAccept is : error:14094418:SSL routines:"
            "ssl3_read_bytes:tlsv1 alert unknown ca" % (t, host),
            "%s %s NTLS[3388]: Error during SSL accept ( RC_SSL_ERROR )" % (t, host),
            "%s %s NTLS[3388]: info : 0xc0000711 : Fail to establish a secure channel with "
            "client : %s/%d : RC_SSL_FAILED_HANDSHAKE" % (t, host, ip, port),
            "%s %s NTLS[3388]: info : 0 : NTLS Client \"Unknown host name\" Connection instance "
            "removed : %s/%d" % (t, host, ip, port)]


ts = datetime.datetime(2026, 12, 1)
events = []
for _ in range(1500):
    ts += datetime.timedelta(seconds=rnd.choice([1, 20, 90, 300, 1200, 4000]))
    events.append(event(ts, rnd.choice(HOSTS)))
PIECES = 7
pieces = []
for k in range(PIECES):
    part = events[k * len(events) // PIECES:(k + 1) * len(events) // PIECES]
    path = c.path("piece%d.log" % k)
    with open(path, "w") as f:
        f.write("".join(line + "\n" for ev in part for line in ev))
    pieces.append(path)
whole = c.path("whole.log")
with open(whole, "w") as f:
    for p in pieces:
        f.write(open(p).read())

INCIDENTS = """SELECT i.rule_id, i.from_rule_id, i.severity, i.host, i.key, i.first_ts, i.last_ts,
       i.count, i.state, i.summary, coalesce(k.rule_id || ' ' || k.key || ' ' || k.first_ts, '')
FROM incidents i LEFT JOIN incidents k ON k.id = i.cause_incident_id
ORDER BY 1, 2, 4, 5, 6"""
LINKS = """SELECT f.ts, f.rule_id, f.event_hash, f.occurrence,
       coalesce(i.rule_id || ' ' || i.key || ' ' || i.first_ts, '')
FROM findings f LEFT JOIN incidents i ON i.id = f.incident_id ORDER BY 1, 2, 3, 4"""


def state(db):
    return c.query(db, INCIDENTS), c.query(db, LINKS)


ref = c.path("ref.db")
p = c.scan(ref, whole)
c.check(p.returncode == 0, "one scan of the whole log exits 0", p.stderr)
ref_incidents, ref_links = state(ref)
causes = sum(1 for r in ref_incidents if r[-1])
escalations = sum(1 for r in ref_incidents if r[0] != r[1])
c.check(len(ref_incidents) > 100 and causes > 10 and escalations > 5,
        "the log makes incidents of every kind: %d incidents, %d with a cause, %d escalations or "
        "expectations" % (len(ref_incidents), causes, escalations))


def compare(db, label):
    incidents, links = state(db)
    c.check(incidents == ref_incidents, "%s: the incidents of one scan" % label,
            "\n".join("%s | %s" % (a, b) for a, b in zip(incidents, ref_incidents) if a != b)
            or "%d rows against %d" % (len(incidents), len(ref_incidents)))
    c.check(links == ref_links, "%s: the links of one scan" % label,
            "\n".join("%s | %s" % (a, b) for a, b in zip(links, ref_links) if a != b)
            or "%d rows against %d" % (len(links), len(ref_links)))


# 1. One scan per piece, in time order, then in a shuffled order.
for label, order in (("pieces in order", list(range(PIECES))),
                     ("pieces out of order", rnd.sample(range(PIECES), PIECES))):
    db = c.path(label.replace(" ", "-") + ".db")
    codes = [c.scan(db, pieces[k]).returncode for k in order]
    c.check(codes == [0] * PIECES, "%s: every scan exits 0" % label, codes)
    compare(db, label)

# 2. One live stream, with a pause after each piece: the updates at the pauses do the work.
live = c.path("live.db")
proc = subprocess.Popen(c.cmd(live, "scan", "--year", "2026", "-"), env=c.env,
                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
for path in pieces:
    proc.stdin.write(open(path, "rb").read())
    proc.stdin.flush()
    time.sleep(1.3)  # more than the least time between two updates (SCAN_UPDATE_GAP_NS)
proc.stdin.close()
err = proc.stderr.read().decode()
c.check(proc.wait(timeout=120) == 0, "a stream with a pause after each piece exits 0", err)
compare(live, "stream with pauses")

# 3. A rebuild of everything changes nothing, ids included.
ids = "SELECT id, rule_id, key, first_ts FROM incidents ORDER BY id"
before = c.query(live, ids)
p = c.run(live, "incidents", "--rebuild")
c.check(p.returncode == 0 and c.query(live, ids) == before and state(live)[0] == ref_incidents,
        "incidents --rebuild after the stream: same incidents, same ids", p.stderr)
c.finish()
