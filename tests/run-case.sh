#!/bin/sh
# Runs one integration case and prints TAP. A case is a folder holding:
#   cmd            shell commands run with `bash -e -o pipefail` (so a `| tail` cannot hide
#                  hsmlog's exit status) in a fresh temp dir; they see $HSMLOG (the
#                  binary), $FIXTURES, $CASE (this folder) and $HSMLOG_DB / $HSMLOG_RULES;
#                  the site rule directories are $HSMLOG_SYSCONFDIR/hsmlog/rules.d and
#                  $XDG_CONFIG_HOME/hsmlog/rules.d inside the temp dir (absent unless cmd
#                  makes them), never the machine's /etc or the developer's ~/.config
#   expected.exit  exit status of cmd (default 0)
#   expected.out   stdout, compared exactly after "0.12 s" timings become "N s" (optional;
#                  HSMLOG_UPDATE_EXPECTED=1 in the environment rewrites it from this run)
#   expected.err   lines that must each appear in stderr (optional)
#   expected.stderr  stderr, compared exactly (optional; HSMLOG_UPDATE_EXPECTED rewrites it);
#                  with neither file, stderr must be empty
#   query.sql      SQL run with `hsmlog query --format csv` after cmd (optional; with
#                  HSMLOG_UPDATE_EXPECTED expected.rows is rewritten too) ...
#   expected.rows  ... and the CSV it must print
# Usage: run-case.sh HSMLOG CASE_DIR FIXTURES_DIR RULES_DIR
set -u
HSMLOG=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
CASE=$2
FIXTURES=$3
RULES=$4
export HSMLOG CASE FIXTURES
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hsmlog-case.XXXXXX") || exit 99
# The case's own output, apart from its working directory, where a cmd may write files of any
# name ("err", "out").
RES=$(mktemp -d "${TMPDIR:-/tmp}/hsmlog-case-result.XXXXXX") || exit 99
trap 'rm -rf "$TMP" "$RES"' EXIT
export TMP
export HSMLOG_DB="$TMP/hsmlog.db"
export HSMLOG_RULES="$RULES"
export HSMLOG_SYSCONFDIR="$TMP/etc" XDG_CONFIG_HOME="$TMP/config"
export TZ=UTC LC_ALL=C

n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }

cd "$TMP" || exit 99
bash -e -o pipefail "$CASE/cmd" >"$RES/out" 2>"$RES/err"
status=$?
want=0
[ -f "$CASE/expected.exit" ] && want=$(cat "$CASE/expected.exit")
if [ "$status" -eq "$want" ]; then
    ok "exit status $want"
else
    not_ok "exit status $status, want $want"
    sed 's/^/# stderr: /' "$RES/err" | head -n 20
fi

if [ -f "$CASE/expected.out" ]; then
    sed -E 's/[0-9]+\.[0-9]+ s(;|$)/N s\1/' "$RES/out" >"$RES/out.norm"
    # HSMLOG_UPDATE_EXPECTED=1 meson test ...: rewrite expected.out (review with git diff).
    [ -n "${HSMLOG_UPDATE_EXPECTED:-}" ] && cp "$RES/out.norm" "$CASE/expected.out"
    if cmp -s "$RES/out.norm" "$CASE/expected.out"; then
        ok "stdout"
    else
        not_ok "stdout differs"
        diff -u "$CASE/expected.out" "$RES/out.norm" | head -n 40 | sed 's/^/# /'
    fi
fi

if [ -f "$CASE/expected.stderr" ]; then
    # HSMLOG_UPDATE_EXPECTED rewrites it too.
    [ -n "${HSMLOG_UPDATE_EXPECTED:-}" ] && cp "$RES/err" "$CASE/expected.stderr"
    if cmp -s "$RES/err" "$CASE/expected.stderr"; then ok "stderr (exact)"; else
        not_ok "stderr (exact)"
        diff -u "$CASE/expected.stderr" "$RES/err" | head -n 40 | sed 's/^/# /'
    fi
elif [ ! -f "$CASE/expected.err" ]; then
    if [ -s "$RES/err" ]; then
        not_ok "stderr is empty"
        sed 's/^/# stderr: /' "$RES/err" | head -n 20
    else
        ok "stderr is empty"
    fi
fi
if [ -f "$CASE/expected.err" ]; then
    missing=0
    while IFS= read -r line; do
        [ -z "$line" ] && continue
        if ! grep -qF -- "$line" "$RES/err"; then
            echo "# stderr lacks: $line"
            missing=1
        fi
    done <"$CASE/expected.err"
    if [ $missing -eq 0 ]; then ok "stderr"; else
        not_ok "stderr"
        sed 's/^/# stderr: /' "$RES/err" | head -n 20
    fi
fi

if [ -f "$CASE/query.sql" ]; then
    # HSMLOG_UPDATE_EXPECTED rewrites expected.rows too.
    [ -n "${HSMLOG_UPDATE_EXPECTED:-}" ] &&
        "$HSMLOG" query --format csv "$(cat "$CASE/query.sql")" | tr -d '\r' >"$CASE/expected.rows"
    if "$HSMLOG" query --format csv "$(cat "$CASE/query.sql")" >"$RES/rows" 2>"$RES/qerr" &&
        tr -d '\r' <"$RES/rows" | cmp -s - "$CASE/expected.rows"; then
        ok "database rows"
    else
        not_ok "database rows"
        tr -d '\r' <"$RES/rows" | diff -u "$CASE/expected.rows" - | head -n 40 | sed 's/^/# /'
        sed 's/^/# query: /' "$RES/qerr"
    fi
fi

echo "1..$n"
exit $fail
