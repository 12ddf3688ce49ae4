#!/bin/bash
# Generates the man pages from the binary's own CLI definitions, so they never drift from it: one page per
# command (nettrace.8, nettrace-drop.8, nettrace-drop-stacks.8, …; `nettrace --list-commands`), each from that
# command's --help by help2man, gzipped; and for every alias (`nettrace --list-alias-commands`) a symlink to
# the page of the command it runs (eth_drop.8.gz -> nettrace-drop.8.gz).
# Usage: gen_manpages.sh NETTRACE OUTDIR   (OUTDIR/man8 is recreated)
set -euo pipefail
nettrace=$1
out=$2/man8
help2man=${HELP2MAN:-help2man}
rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

commands=$("$nettrace" --list-commands)
version=$("$nettrace" --version | awk 'NR == 1 {print $2}')  # the footer: "nettrace 0.1.0" (the git revision is too long)
aliases=$("$nettrace" --list-alias-commands)

# The command path an alias runs: the longest prefix of its arguments that is a command ("drop stacks").
alias_page() {
	local args=$1 path="" w
	for w in $args; do
		if printf '%s\n' "$commands" | cut -f1 | grep -qxF "${path:+$path }$w"; then path="${path:+$path }$w"; else break; fi
	done
	echo "nettrace${path:+-${path// /-}}"
}

page() { # page NAME DESCRIPTION HELP-ARGS INCLUDE
	local name=$1 desc=$2 help=$3 include=$4 upper
	"$help2man" --no-info --section 8 --manual "nettrace manual" --source "nettrace $version" --name "$desc" \
		--help-option "$help" --version-option --version --include "$include" --output "$tmp/$name.8" "$nettrace"
	# help2man names the page after the binary; a command's page is named after the command.
	if [ "$name" != nettrace ]; then
		upper=$(tr '[:lower:]' '[:upper:]' <<<"$name")
		sed -i -e "s/^\\.TH NETTRACE /.TH ${upper//-/\\\\-} /" \
			-e "/^\\.SH NAME/{n;s/^nettrace /${name//-/\\\\-} /}" "$tmp/$name.8"
	fi
	grep -q '^\.SH DESCRIPTION' "$tmp/$name.8" || { echo "gen_manpages: $name.8 has no DESCRIPTION" >&2; exit 1; }
	gzip -9n <"$tmp/$name.8" >"$out/$name.8.gz"
}

# The aliases of a page, as an [ALIASES] section.
aliases_of() { # aliases_of PAGE
	local a args
	while IFS=$'\t' read -r a args; do
		if [ "$(alias_page "$args")" = "$1" ]; then printf '.TP\n\\fB%s\\fR\nnettrace %s\n' "$a" "$args"; fi
	done <<<"$aliases"
}

# Bold page names, one per line (never broken at their hyphens).
see_also=$(printf '%s\n' "$commands" | cut -f1 | sed 's/ /\\-/g; s/^/\\fBnettrace\\-/; s/$/\\fR(8)/; $!s/$/,\n.br/')
{
	printf '[SEE ALSO]\n.nh\n%s\n.hy\n.PP\n' "$see_also"
	printf 'docs/tools.md (installed in /usr/share/doc/nettrace/docs) maps every original script to its command.\n'
} >"$tmp/root.h2m"
page nettrace "eBPF tools for packet drops and latency on KVM/OVS hosts" --help "$tmp/root.h2m"

while IFS=$'\t' read -r path desc; do
	name="nettrace-${path// /-}"
	{
		al=$(aliases_of "$name")
		if [ -n "$al" ]; then
			printf '[ALIASES]\nSymlinks to nettrace named after the original scripts run this command:\n%s\n' "$al"
		fi
		printf '[SEE ALSO]\n\\fBnettrace\\fR(8)\n'
	} >"$tmp/$name.h2m"
	page "$name" "${desc:-nettrace $path}" "$path --help" "$tmp/$name.h2m"
done <<<"$commands"

while IFS=$'\t' read -r a args; do
	ln -s "$(alias_page "$args").8.gz" "$out/$a.8.gz"
done <<<"$aliases"
