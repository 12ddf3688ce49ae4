#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The live status line (docs/cli.md "Output"): on stderr only when stderr is a terminal (script(1) gives the run a
# pseudo-terminal), redrawn in place ("\r\033[K" before it), with the elapsed time and the event and lost counts
# the run's summary then reports; erased before anything else is written to the terminal; absent when stderr is a
# file or NETTRACE_NO_STATUS is set.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/common.sh
command -v script >/dev/null || skip "script(1) (bsdutils) is not installed"

tty_log=$TMP/tty.log
script -qfc "$NETTRACE cpu schedlat -d 2.5 -i 1" "$tty_log" >/dev/null 2>&1 </dev/null || fail "nettrace under script failed: $(cat "$tty_log")"
grep -q 'nettrace cpu schedlat: 00:00:0[12], [0-9]* events, [0-9]* lost (Ctrl-C to stop)' "$tty_log" ||
	grep -q 'nettrace cpu schedlat: 00:00:0[12] (Ctrl-C to stop)' "$tty_log" ||
	fail "no status line on a terminal: $(cat -A "$tty_log" | head -20)"
# Every status line is drawn over the previous one, and every report line starts on a clean line.
n_status=$(grep -o 'Ctrl-C to stop' "$tty_log" | wc -l)
n_drawn=$(grep -o $'\r\033\\[Knettrace cpu schedlat' "$tty_log" | wc -l)
[ "$n_status" = "$n_drawn" ] || fail "$n_status status lines, $n_drawn drawn in place: $(cat -A "$tty_log" | head)"
grep -q $'Ctrl-C to stop)[^\r]' "$tty_log" && fail "text written right after a status line: $(cat -A "$tty_log" | head -30)"
tail -c 200 "$tty_log" | grep -q 'Ctrl-C to stop' && fail "the status line is still drawn at the end"
pass "status line on a terminal: $n_status redraws, erased before other output"

"$NETTRACE" cpu schedlat -d 1.5 >/dev/null 2>"$TMP/err" || fail "nettrace failed: $(cat "$TMP/err")"
grep -q 'Ctrl-C' "$TMP/err" && fail "status line written to a file: $(cat -A "$TMP/err")"
script -qfc "NETTRACE_NO_STATUS=1 $NETTRACE cpu schedlat -d 1.5" "$TMP/tty2.log" >/dev/null 2>&1 </dev/null
grep -q 'Ctrl-C to stop' "$TMP/tty2.log" && fail "NETTRACE_NO_STATUS=1 still draws the status line"
pass "no status line when stderr is a file or NETTRACE_NO_STATUS is set"
