#!/bin/bash
# perf latency loads the way a kernel before 5.12 needs it (docs/lab.md "Linux 5.10"): its global BPF functions that
# take pointers made static, verified at each call site (NETTRACE_STATIC_SUBPROGS=1 forces that here), within the
# verifier's 1M-instruction budget, for the largest tracepoint stage tables this kernel can attach.
. "$(dirname "$0")/lib/common.sh"
has_tracepoint net/net_dev_queue || skip "no net:net_dev_queue tracepoint"
for args in "" "--protocol all --direction both --mode details" "--protocol all --direction both --mode details --disable-kernel-stacks"; do
  # shellcheck disable=SC2086
  err=$(NETTRACE_STATIC_SUBPROGS=1 "$NETTRACE" perf latency --phy-interface lo $args --duration 1 --debug 2>&1 >/dev/null) ||
    fail "perf latency $args (static subprograms) did not run: $(printf '%s\n' "$err" | grep -vE 'debug: (attached|libbpf)' | tail -n 5)"
  grep -q 'at each call site (static)' <<<"$err" || fail "perf latency $args: no function made static: $err"
  grep -q 'lat_key_of' <<<"$(grep 'at each call site' <<<"$err")" &&
    fail "perf latency $args: lat_key_of made static (it takes no pointers; static it exceeds the budget)"
done
pass "perf latency loads with its pointer-taking global functions static (the 5.10 way)"
