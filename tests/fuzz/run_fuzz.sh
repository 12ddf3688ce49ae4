#!/bin/bash
# Runs one libFuzzer target for a bounded time: run_fuzz.sh FUZZER NAME SECONDS [WORKDIR]
# Corpus: tests/fuzz/corpus/NAME (committed seeds and reproducers; read only) plus WORKDIR/corpus (fresh each run:
# generated seeds, and what the fuzzer finds). For the CLI the generated seeds are every tool and alias (written
# by the target itself) and every command line documented in README.md and docs/. A crash exits non-zero and
# leaves WORKDIR/crash-* (or leak-*, timeout-*, oom-*): replay it with `FUZZER WORKDIR/crash-…`, and commit it to
# tests/fuzz/corpus/NAME/ with the fix.
set -euo pipefail
fuzzer=$1 name=$2 seconds=$3
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mkdir -p "${4:-$PWD/fuzz-$name}" && cd "${4:-$PWD/fuzz-$name}" && pwd)
rm -rf "$work/corpus"
mkdir -p "$work/corpus"
committed=()
[ -d "$here/corpus/$name" ] && committed=("$here/corpus/$name")
dict=()
[ -f "$here/$name.dict" ] && dict=(-dict="$here/$name.dict")

export NETTRACE_FUZZ_SEED_DIR="$work/corpus"  # the target writes its own seeds there first
if [ "$name" = cli ]; then
  # Documented command lines: `nettrace …` in backticks and indented example lines; the selector byte 0 makes
  # the first argument argv[0], so aliases (eth_drop.py …) and nettrace itself are taken as main() takes them.
  n=0
  { grep -ohE '`(sudo )?(build/)?nettrace [^`]*`' "$root/README.md" "$root"/docs/*.md "$root"/docs/tools/*.md | tr -d '`'
    grep -hE '^    +(sudo )?(build/)?nettrace ' "$root/README.md" "$root"/docs/*.md "$root"/docs/tools/*.md; } |
    sed -E 's/^ *(sudo )?(build\/)?//; s/ *(#|\||&&|;|>|<).*//' | sort -u |
    while IFS= read -r line; do
      n=$((n + 1))
      # xargs splits as a shell would (quotes); a line it cannot split is skipped.
      { printf '\0'; printf '%s\n' "$line" | xargs printf '%s\0' 2>/dev/null; } >"$work/corpus/doc-$n" || rm -f "$work/corpus/doc-$n"
    done
fi

echo "run_fuzz: $name for ${seconds}s, corpus $work/corpus + $here/corpus/$name"
cd "$work"
exec "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 "${dict[@]}" \
  -artifact_prefix="$work/" "$work/corpus" "${committed[@]}"
