#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lab test: the Debian package installs with a real `dpkg -i` on a Debian 12 system (the lab guest: the host's
# root under a throwaway overlay, so nothing persists), and the installed nettrace works from /usr/bin: --version
# names the package's version, `nettrace doctor --json` answers for this kernel, an alias symlink dispatches, the
# man page and the bash completion are where dpkg put them; `dpkg -r` removes every file again.
set -uo pipefail
. "$(dirname "$0")/../../fixtures.sh"
lab_require_lab
NETTRACE=${NETTRACE:-$PWD/build/nettrace}
NETTRACE_BUILD=${NETTRACE_BUILD:-$(dirname "$NETTRACE")}
command -v cpack >/dev/null || lab_skip "cpack is not installed"
[ -f "$NETTRACE_BUILD/share/man.stamp" ] || lab_skip "no generated man pages in $NETTRACE_BUILD (help2man missing at build time)"
dpkg-query -W -f='${Status}' nettrace 2>/dev/null | grep -q 'ok installed' && lab_fail "nettrace is already installed here"
tmp=$(mktemp -d /tmp/nt-dpkg.XXXXXX)
(cd "$NETTRACE_BUILD" && cpack -G DEB -B "$tmp" >"$tmp/cpack.log" 2>&1) || lab_fail "cpack failed: $(tail -5 "$tmp/cpack.log")"
deb=$(ls "$tmp"/nettrace_*.deb | head -1)
[ -n "$deb" ] || lab_fail "cpack made no package"
# man-db's trigger would rebuild the whole manual database under TCG for minutes; Debian's switch turns it off
# (the guest's root is a throwaway overlay).
rm -f /var/lib/man-db/auto-update
dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 || lab_fail "dpkg -i failed: $(cat "$tmp/dpkg.log")"
dpkg-query -W -f='${Status}' nettrace | grep -q 'ok installed' || lab_fail "dpkg does not list nettrace as installed"
lab_assert_eq "installed version" "$(/usr/bin/nettrace --version | awk '{print $2}')" "$(dpkg-deb -f "$deb" Version)"
out=$(/usr/bin/nettrace doctor --json) || lab_fail "installed nettrace doctor failed: $out"
lab_assert_eq "installed doctor kernel" "$(jq -r .kernel <<<"$out")" "$(uname -r)"
[ "$(jq -r '.commands[] | select(.command == "drop") | .can_run' <<<"$out")" = true ] || lab_fail "installed doctor: drop cannot run"
[ -L /usr/bin/eth_drop ] || lab_fail "no /usr/bin/eth_drop alias"
/usr/bin/eth_drop --help 2>&1 | grep -q "nettrace drop" || lab_fail "the eth_drop alias does not dispatch to nettrace drop"
[ -f /usr/share/man/man8/nettrace-drop.8.gz ] || lab_fail "no man page nettrace-drop(8)"
[ -f /usr/share/bash-completion/completions/nettrace ] || lab_fail "no bash completion"
files=$(dpkg -L nettrace | wc -l)
dpkg -r nettrace >>"$tmp/dpkg.log" 2>&1 || lab_fail "dpkg -r failed: $(tail -5 "$tmp/dpkg.log")"
[ ! -e /usr/bin/nettrace ] && [ ! -e /usr/bin/eth_drop ] || lab_fail "dpkg -r left the binary or an alias behind"
rm -rf "$tmp"
echo "PASS: dpkg -i $(basename "$deb") ($files paths), the installed nettrace runs doctor and its aliases; dpkg -r removes it"
