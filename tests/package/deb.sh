#!/bin/bash
# The Debian package: builds it with cpack from the build tree, checks its metadata (Depends from
# dpkg-shlibdeps: every library the binary needs) and its files (binary, alias symlinks, one man page per
# command, alias man links, bash/zsh completion, docs), then installs it into a throwaway root made of its own
# files plus the files of the packages in its Depends closure (as dpkg would find them on a clean Debian 12), and
# runs the installed nettrace there: --version, doctor, an alias, the man pages and the completion.
# The host is left as found: the root is a temporary directory, its mounts live in a private mount namespace.
# Env: NETTRACE (the binary), NETTRACE_BUILD (the build tree). Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (chroot, mount namespace)"
for t in cpack dpkg-deb dpkg-query dpkg-shlibdeps unshare chroot man; do
	command -v "$t" >/dev/null || skip "$t not installed"
done
tmp=$(mktemp -d /tmp/nettrace-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Build the package (the build tree must be built: make).
[ -f "$NETTRACE_BUILD/share/man.stamp" ] || fail "no generated man pages in $NETTRACE_BUILD/share (help2man missing at build time?)"
(cd "$NETTRACE_BUILD" && cpack -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log"; fail "cpack failed"; exit 1; }
deb=$(ls "$tmp"/out/nettrace_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { fail "cpack made no nettrace_*.deb"; exit 1; }
echo "package: ${deb##*/} ($(du -h "$deb" | cut -f1))"

# Metadata.
version=$("$NETTRACE" --version | awk '{print $2}')
[ "$(dpkg-deb -f "$deb" Package)" = nettrace ] || fail "Package: $(dpkg-deb -f "$deb" Package)"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version $(dpkg-deb -f "$deb" Version), binary says $version"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture: $(dpkg-deb -f "$deb" Architecture)"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
dep_names=$(tr ',' '\n' <<<"$depends" | sed -E 's/\(.*\)//; s/\|.*//; s/ //g' | grep -v '^$')
# A Depends name may be virtual (libspdlog1.10-fmt9 is provided by libspdlog1.10): the installed package.
provider() {
	if dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; then echo "$1"; return; fi
	dpkg-query -W -f='${Package}\t${Provides}\t${Status}\n' 2>/dev/null |
		awk -F'\t' -v v="$1" '$3 ~ /ok installed/ { n = split($2, p, /, */); for (i = 1; i <= n; i++) { sub(/ .*/, "", p[i]); if (p[i] == v) { print $1; exit } } }'
}
dep_pkgs=$(for d in $dep_names; do provider "$d"; done)
# Every shared library the binary needs comes from a package named in Depends.
for lib in $(objdump -p "$NETTRACE" | awk '$1 == "NEEDED" {print $2}'); do
	path=$(ldd "$NETTRACE" | awk -v l="$lib" '$1 == l {print $3}')
	pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1) ||
		pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
	[ -n "$pkg" ] || { fail "no package owns $lib ($path)"; continue; }
	grep -qx "$pkg" <<<"$dep_pkgs" || fail "$lib is in $pkg, which Depends lacks"
done
if grep -q '^12' /etc/debian_version 2>/dev/null; then
	for p in libbpf1 libelf1 libfmt9 libspdlog1.10 libc6 libstdc++6; do
		grep -qx "$p" <<<"$dep_pkgs" || fail "Depends lacks $p (Debian 12)"
	done
fi

# Files.
list=$(dpkg-deb -c "$deb" | awk '{ $1=$2=$3=$4=$5=""; sub(/^ +/, ""); print }')
has() { grep -qxF "$1" <<<"$list" || fail "package lacks $1"; }
has ./usr/bin/nettrace
has ./usr/share/man/man8/nettrace.8.gz
has ./usr/share/bash-completion/completions/nettrace
has ./usr/share/zsh/vendor-completions/_nettrace
has ./usr/share/doc/nettrace/copyright
has ./usr/share/doc/nettrace/README.md
has ./usr/share/doc/nettrace/docs/tools.md
commands=$("$NETTRACE" --list-commands | cut -f1)
while read -r c; do has "./usr/share/man/man8/nettrace-${c// /-}.8.gz"; done <<<"$commands"
naliases=0
for a in $("$NETTRACE" --list-aliases); do
	has "./usr/bin/$a -> nettrace"
	has "./usr/share/bash-completion/completions/$a -> nettrace"
	grep -qE "^\./usr/share/man/man8/$a\.8\.gz -> nettrace(-[a-z-]+)?\.8\.gz$" <<<"$list" || fail "no man page link for $a"
	naliases=$((naliases + 1))
done
echo "files: $(wc -l <<<"$list") entries, $(wc -l <<<"$commands") command man pages, $naliases aliases"

# A throwaway root: the package's files and those of its Depends closure.
root=$tmp/root
mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib" "$root/usr/lib64"
for d in bin sbin lib lib64; do ln -s "usr/$d" "$root/$d"; done  # merged /usr, as Debian 12 is
dpkg-deb -x "$deb" "$root" || fail "dpkg-deb -x failed"
declare -A seen
queue=$dep_pkgs
while [ -n "$queue" ]; do
	next=
	for p in $queue; do
		[ -n "${seen[$p]:-}" ] && continue
		seen[$p]=1
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || { fail "dependency $p is not installed here"; continue; }
		for d in $(dpkg-query -W -f='${Pre-Depends}, ${Depends}' "$p" | tr ',' '\n' | sed -E 's/\(.*\)//; s/\|.*//; s/:any//; s/ //g'); do
			next+=" $(provider "$d")"
		done
		dpkg -L "$p" | while read -r f; do
			[ -f "$f" ] || [ -L "$f" ] || continue
			case $f in /usr/share/doc/* | /usr/share/man/* | /usr/share/locale/* | /usr/share/lintian/*) continue ;; esac
			# The host's /lib is a symlink too: copy from the real directory into the root's merged /usr.
			dir=$(readlink -f "$(dirname "$f")")
			mkdir -p "$root$dir" && cp -a "$dir/${f##*/}" "$root$dir/" 2>/dev/null
		done
	done
	queue=$next
done
echo "root: ${!seen[*]}"
mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
in_root() { # in_root COMMAND…: runs in the root with /proc, /sys and /dev, in a private mount namespace
	unshare --mount --propagation private -- sh -c '
		root=$1; shift
		mount --rbind /proc "$root/proc" && mount --rbind /sys "$root/sys" && mount --rbind /dev "$root/dev" &&
		exec chroot "$root" "$@"' sh "$root" "$@"
}
out=$(in_root /usr/bin/nettrace --version 2>&1) || fail "installed nettrace --version: $out"
[ "$out" = "$("$NETTRACE" --version)" ] || fail "installed --version '$out' differs from the build's"
echo "installed: $out"
out=$(in_root /usr/bin/nettrace doctor 2>&1)
rc=$?
[ $rc -eq 0 ] || fail "installed nettrace doctor exited $rc: $out"
grep -qi btf <<<"$out" || fail "installed nettrace doctor says nothing about BTF: $out"
head -4 <<<"$out" | sed 's/^/installed doctor: /'
out=$(in_root /usr/bin/eth_drop --help 2>&1) || fail "installed eth_drop --help: $out"
grep -q -- --duration <<<"$out" || fail "installed eth_drop --help lacks --duration"
out=$(in_root /usr/bin/nettrace vm_pair_latency 2>&1)
[[ $out == *"/usr/share/doc/nettrace/docs/tools.md"* ]] || fail "unported tool message does not point at the installed docs: $out"

# The man pages render and are named after their command; an alias's page is its command's.
out=$(MANWIDTH=100 man -l "$root/usr/share/man/man8/nettrace-drop.8.gz" 2>&1)
grep -q 'nettrace-drop - ' <<<"$out" && grep -q -- '--duration' <<<"$out" && grep -q 'eth_drop' <<<"$out" ||
	fail "nettrace-drop(8) lacks its name, --duration or its alias: $(head -20 <<<"$out")"
out=$(MANWIDTH=100 man -l "$root/usr/share/man/man8/nettrace.8.gz" 2>&1)
grep -q 'nettrace-perf-latency' <<<"$out" || fail "nettrace(8) does not list nettrace-perf-latency"
[ "$(readlink "$root/usr/share/man/man8/kernel_drop_stack_stats.8.gz")" = nettrace-drop-stacks.8.gz ] ||
	fail "kernel_drop_stack_stats(8) -> $(readlink "$root/usr/share/man/man8/kernel_drop_stack_stats.8.gz")"

# The completion completes commands, flags and alias flags; after an option that takes a value, files.
complete_words() { # complete_words WORD… (the last is the one being completed)
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _nettrace; printf "%s\n" "${COMPREPLY[@]}"' \
		sh "$root/usr/share/bash-completion/completions/nettrace" "$@"
}
[ "$(complete_words nettrace dr)" = drop ] || fail "bash: 'nettrace dr' -> $(complete_words nettrace dr)"
complete_words nettrace drop stacks --int | grep -qx -- --interval || fail "bash: 'nettrace drop stacks --int'"
complete_words nettrace perf lat | grep -qx latency || fail "bash: 'nettrace perf lat'"
complete_words eth_drop --dur | grep -qx -- --duration || fail "bash: 'eth_drop --dur'"
complete_words nettrace drop --interface "" | grep -q -- '^--' && fail "bash: flags offered as --interface's value"
# bash-completion's own loader finds an alias's completion by its name (the per-alias symlinks).
if [ -f /usr/share/bash-completion/bash_completion ]; then
	out=$(XDG_DATA_DIRS=$root/usr/share bash -c '. /usr/share/bash-completion/bash_completion
		__load_completion qdisc_drop_trace && COMP_WORDS=(qdisc_drop_trace --sum) COMP_CWORD=1 && _nettrace
		echo "${COMPREPLY[*]}"' 2>&1)
	[ "$out" = --summary ] || fail "bash-completion loader: 'qdisc_drop_trace --sum' -> $out"
fi
if command -v zsh >/dev/null; then
	zsh -n "$root/usr/share/zsh/vendor-completions/_nettrace" || fail "zsh: _nettrace does not parse"
fi

[ $fails -eq 0 ] || exit 1
echo "PASS: package builds, installs into a clean root and runs"
