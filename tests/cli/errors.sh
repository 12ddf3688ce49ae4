#!/bin/bash
# Usage errors that help (no privileges needed): an unknown tool names the closest ones, an original script that
# is not ported yet says so and points at docs/tools.md (exit 2, not 127), a mistyped flag gets "did you mean";
# --version names the git revision. Env: NETTRACE (the binary).
set -uo pipefail
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
NETTRACE=$(readlink -f "$NETTRACE")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # check EXPECTED_RC 'NEEDLE|NEEDLE…' ARGS…
	local want=$1 needles=$2 err rc n
	shift 2
	err=$("$NETTRACE" "$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want: $err"
	[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "'$*' printed more than one line: $err"
	IFS='|' read -ra ns <<<"$needles"
	for n in "${ns[@]}"; do [[ $err == *"$n"* ]] || fail "'$*' does not say '$n': $err"; done
}

check 2 "unknown tool 'bogus'|the tools are: drop, cpu" bogus
check 2 "unknown tool 'drp'|did you mean drop" drp
check 2 "unknown tool 'doctr'|did you mean doctor" doctr
check 2 "'vm_pair_latency' is an original script|not implement yet|nettrace vmpair latency|docs/tools.md" vm_pair_latency
check 2 "'trace_conntrack' is an original script|nettrace conntrack|docs/tools.md" trace_conntrack.py
check 2 "'eth_drop' is an alias|nettrace drop" eth_drop
check 2 "unknown option '--duraton'|did you mean --duration" drop --duraton 5
check 2 "unknown option '--intreval'|'nettrace drop stacks'|did you mean --interval" drop stacks --intreval=5
check 2 "unknown option '--zzzzzzzz'|nettrace cpu offcpu --help" cpu offcpu --zzzzzzzz
check 2 "unknown command 'nettrace drop stakcs'|did you mean stacks" drop stakcs

# Invoked by an original script's name: ported ones run, unported ones exit 2 and say so, others 127.
ln -s "$NETTRACE" "$tmp/vm_pair_latency.py"
err=$("$tmp/vm_pair_latency.py" 2>&1)
rc=$?
[ $rc -eq 2 ] && [[ $err == *"not implement yet"*"docs/tools.md"* ]] || fail "vm_pair_latency.py symlink: rc $rc: $err"
ln -s "$NETTRACE" "$tmp/eth_dorp"
err=$("$tmp/eth_dorp" 2>&1)
rc=$?
[ $rc -eq 127 ] && [[ $err == *"eth_dorp"*"did you mean eth_drop"* ]] || fail "eth_dorp symlink: rc $rc: $err"

# Every alias name of docs/tools.md is an alias (runs) or a planned one (exit 2, says so), never unknown.
docs=$(dirname "$0")/../../docs/tools.md
names=$(grep -E '^\| `' "$docs" | awk -F'|' '{print $4}' | grep -oE '`[^`]+`' | tr -d '`' | sort -u)
[ "$(wc -l <<<"$names")" -gt 50 ] || fail "found only $(wc -l <<<"$names") alias names in $docs"
for a in $names; do
	ln -sf "$NETTRACE" "$tmp/$a"
	err=$("$tmp/$a" --help 2>&1 >/dev/null)
	rc=$?
	case $rc in
	0) ;;
	2) [[ $err == *"not implement yet"* ]] || fail "$a (docs/tools.md): exit 2 but: $err" ;;
	*) fail "$a (docs/tools.md) is neither an alias nor planned in src/tools/registry.cpp: rc $rc: $err" ;;
	esac
done

v=$("$NETTRACE" --version) || fail "--version failed"
[[ $v =~ ^nettrace\ [0-9]+\.[0-9]+\.[0-9]+\ \(git\ [^\ ,]+,\ libbpf\ [0-9]+\.[0-9]+\)$ ]] || fail "--version: '$v'"

[ $fails -eq 0 ] || exit 1
echo "PASS: CLI usage errors"
