#!/bin/sh
# Installs the build into a temporary DESTDIR and checks the installed tree as a user would
# meet it: the binary finds its installed rules with no --rules and no HSMLOG_RULES (from the
# staging tree, relative to itself), scans a fixture with them, and the man pages and the
# bash completion are where they belong and well-formed. Prints TAP.
# Usage: install.sh BUILD_DIR FIXTURES_DIR
set -u
build=$1
fixtures=$2
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hsmlog-install.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
unset HSMLOG_RULES HSMLOG_DB
export XDG_STATE_HOME="$TMP/state" TZ=UTC LC_ALL=C
# The site rule directories are not the machine's or the developer's.
export HSMLOG_SYSCONFDIR="$TMP/etc" XDG_CONFIG_HOME="$TMP/config"

n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { # check DESCRIPTION COMMAND...
    d=$1
    shift
    if "$@" >"$TMP/out" 2>&1; then ok "$d"; else
        not_ok "$d"
        sed 's/^/# /' "$TMP/out" | head -n 20
    fi
}

meson install -C "$build" --destdir "$TMP/dest" --no-rebuild --quiet >"$TMP/log" 2>&1 ||
    { echo "not ok 1 - meson install"; sed 's/^/# /' "$TMP/log"; echo "1..1"; exit 1; }
ok "meson install --destdir"

# The prefix the build was configured with, as installed under DESTDIR.
prefix=$(meson introspect "$build" --buildoptions |
    python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"][0])')
root=$TMP/dest$prefix
bin=$root/bin/hsmlog
check "binary installed" test -x "$bin"
check "rule pack installed in the data directory" test -f "$root/share/hsmlog/rules/ntls.rules"
check "hsmlog(1) installed" test -f "$root/share/man/man1/hsmlog.1"
check "hsmlog-rules(5) installed" test -f "$root/share/man/man5/hsmlog-rules.5"
completion=$(find "$root/share" -path '*bash-completion/completions/hsmlog' | head -n 1)
check "bash completion installed" test -n "$completion"

# Unless the same build is also installed for real, the compiled-in directory does not exist
# and the rules must be found next to the binary.
"$bin" rules path --format csv >"$TMP/path.csv" 2>&1
check "rules path lists the installed rules as used" \
    grep -Eq "^(installed|next to the binary),$root/share/hsmlog/rules,yes,yes|^installed,$prefix/share/hsmlog/rules,yes,yes" "$TMP/path.csv"
check "installed rules test passes without --rules" "$bin" rules test
# The pack's VERSION is installed with it: the installed pack reads as the version the build
# shipped, not as "unversioned".
shipped=$("$bin" --version | sed -E 's/.*\(rule pack (.*)\)$/\1/')
"$bin" rules list >"$TMP/list" 2>&1
check "rules list names the version of the installed pack ($shipped)" \
    grep -Eq "^rule pack $shipped\+[0-9a-f]{8} \([0-9]+ rules\)$" "$TMP/list"
"$bin" --db "$TMP/h.db" scan --year 2026 "$fixtures/hsm-a1-messages.log" >"$TMP/scan" 2>&1
status=$?
if [ $status -eq 0 ] && [ "$("$bin" --db "$TMP/h.db" query --format csv \
    'SELECT count(*) > 0 FROM findings' | tr -d '\r' | tail -n 1)" = 1 ]; then
    ok "installed binary scans a fixture with its installed rules"
else
    not_ok "installed scan (exit $status)"
    sed 's/^/# /' "$TMP/scan" | head -n 20
fi

for page in "$root/share/man/man1/hsmlog.1" "$root/share/man/man5/hsmlog-rules.5"; do
    if command -v groff >/dev/null 2>&1; then
        groff -man -Tutf8 -ww "$page" >"$TMP/man.txt" 2>"$TMP/man.err"
        if [ $? -eq 0 ] && [ ! -s "$TMP/man.err" ] && grep -q "Luna\|hsmlog(1)" "$TMP/man.txt" &&
            ! grep -q '@[A-Z]*@' "$page"; then
            ok "$(basename "$page") renders cleanly (groff -ww)"
        else
            not_ok "$(basename "$page") renders cleanly"
            sed 's/^/# /' "$TMP/man.err" | head -n 20
        fi
    else
        skip "$(basename "$page") renders" "groff not installed"
    fi
done
if command -v man >/dev/null 2>&1; then
    check "man -l renders hsmlog(1)" sh -c "MANWIDTH=80 man -l '$root/share/man/man1/hsmlog.1' | grep -q 'EXIT STATUS'"
else
    skip "man -l" "man not installed"
fi
if [ -n "$completion" ]; then
    check "bash completion parses (bash -n)" bash -n "$completion"
    check "bash completion completes subcommands" bash -c ". '$completion'
        COMP_WORDS=(hsmlog rules p); COMP_CWORD=2; _hsmlog; [ \"\${COMPREPLY[*]}\" = path ]"
fi
echo "1..$n"
exit $fail
