"""Validates the outputs the case's cmd wrote in the current directory."""
import csv
import io
import json
import sys

COLUMNS = {
    "query": ["id", "host", "rule_id", "message", "fields", "raw", "real", "missing"],
    "incidents": ["id", "severity", "rule", "host", "first_ts", "last_ts", "count", "state",
                  "summary", "cause"],
    "rules": ["id", "severity", "program", "summary", "enabled", "origin", "pack_version",
              "digest", "refs"],
    "path": ["origin", "path", "exists", "used"],
    "parse": ["source", "line", "format", "ts", "host", "program", "pid", "facility",
              "severity", "luna_level", "luna_code", "client_ip", "client_port", "rc",
              "luna_ret", "luna_ret_hex", "ckr", "ckr_hex", "message"],
}
MIN_ROWS = {"query": 3, "incidents": 1, "rules": 20, "path": 1, "parse": 3}
failed = False


def fail(msg):
    global failed
    failed = True
    print("FAIL " + msg)


def rows_csv(name):
    with open(name + ".csv", newline="", encoding="utf-8", errors="strict") as f:
        data = f.read()
    if "\0" in data:
        fail(name + ".csv holds a NUL")
    rows = list(csv.reader(io.StringIO(data, newline=""), strict=True))
    if rows[0] != COLUMNS[name]:
        fail("%s.csv header %r" % (name, rows[0]))
    for r in rows[1:]:
        if len(r) != len(rows[0]):
            fail("%s.csv row of %d fields: %r" % (name, len(r), r))
    if not data.endswith("\r\n"):
        fail(name + ".csv does not end in CRLF")
    return rows[1:]


def rows_ndjson(name):
    out = []
    with open(name + ".json", encoding="utf-8", errors="strict") as f:
        for n, line in enumerate(f, 1):
            obj = json.loads(line)  # one complete object per line, or this raises
            if list(obj) != COLUMNS[name]:
                fail("%s.json line %d keys %r" % (name, n, list(obj)))
            out.append(obj)
    return out


def rows_array(name):
    with open(name + ".json-array", encoding="utf-8", errors="strict") as f:
        arr = json.load(f)
    if not isinstance(arr, list):
        fail(name + ".json-array is not an array")
    return arr


def no_controls(name):
    with open(name, "rb") as f:
        data = f.read()
    bad = sorted({b for b in data if (b < 0x20 and b != 0x0A) or b == 0x7F})
    if bad:
        fail("%s holds control bytes %r" % (name, bad))
    text = data.decode("utf-8")  # also valid UTF-8
    for cp in ("\u202e", "\u009b"):
        if cp in text:
            fail("%s holds U+%04X unescaped" % (name, ord(cp)))
    return text


for name in COLUMNS:
    c, j, a = rows_csv(name), rows_ndjson(name), rows_array(name)
    if not (len(c) == len(j) == len(a) >= MIN_ROWS[name]):
        fail("%s: %d csv, %d json, %d json-array rows" % (name, len(c), len(j), len(a)))
    if j != a:
        fail(name + ": json and json-array rows differ")
    no_controls(name + ".table")

q = rows_ndjson("query")
if q[0]["real"] != 1.5 or q[0]["missing"] is not None or not isinstance(q[0]["id"], int):
    fail("query types: %r" % q[0])
if "\x1b]0;pwned\x07" not in q[0]["host"] or "\ufffd" not in q[0]["message"]:
    fail("query json does not keep the escape exactly / mark invalid UTF-8: %r" % q[0])
if q[0]["host"] != rows_csv("query")[0][1]:
    fail("csv and json host differ")
r = rows_ndjson("rules")
if not all(isinstance(x["refs"], list) and all(isinstance(s, str) for s in x["refs"]) for x in r):
    fail("rules refs are not arrays of strings: %r" % r[0]["refs"])
p = rows_ndjson("parse")
if p[2]["rc"] != "RC_SSL_FAILED_HANDSHAKE" or p[2]["client_ip"] != "10.1.2.3" \
        or p[2]["line"] != 3 or p[2]["pid"] != 8508:
    fail("parse fields: %r" % p[2])
if "nul\ufffdbyte" not in p[1]["message"]:
    fail("parse NUL: %r" % p[1]["message"])

if "hsm\\x1b]0;pwned\\x07-a1" not in no_controls("report.table"):
    fail("report does not show the escaped host")
tq = no_controls("query.table")
for want in ("\\x1b]0;pwned\\x07", "tab\\x09here", "\\xe2\\x80\\xaeevil", "\\xc2\\x9b"):
    if want not in tq:
        fail("query table lacks %r" % want)
print("FAIL" if failed else "all outputs valid")
sys.exit(1 if failed else 0)
