# Writes journal.json (the client fixture's journal plus two entries in one second) and
# messages (the same entries as rsyslog writes them, whole seconds) into the current directory.
# Shared by cmd and by the making of v8.db.gz (see cmd).
cp "$FIXTURES/client-journal.json" journal.json
for us in 100000 500000; do
    printf '{"__REALTIME_TIMESTAMP":"17958620%s","_HOSTNAME":"app-client-7","SYSLOG_IDENTIFIER":"signing-svc","_PID":"2210","PRIORITY":"3","MESSAGE":"C_Sign failed: CKR_DEVICE_ERROR"}\n' "05$us" >>journal.json
done
python3 - <<'PY'
import json, time
with open("journal.json") as src, open("messages", "w") as out:
    for line in src:
        e = json.loads(line)
        t = time.gmtime(int(e["__REALTIME_TIMESTAMP"]) // 1000000)
        pid = e.get("SYSLOG_PID", e.get("_PID"))
        out.write("%s %s %s[%s]: %s\n" % (time.strftime("%b %d %H:%M:%S", t), e["_HOSTNAME"],
                                         e["SYSLOG_IDENTIFIER"], pid, e["MESSAGE"]))
PY
