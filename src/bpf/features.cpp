// SPDX-License-Identifier: GPL-2.0
#include "nettrace/bpf/features.hpp"

#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include "nettrace/sys/btf_scan.hpp"
#include "nettrace/sys/mounts.hpp"

namespace nettrace::bpf {
namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

// r0 = 0; exit
const bpf_insn kReturnZero[] = {
    {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
    {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
};

std::string err_text(int err) { return strerror(err < 0 ? -err : err); }

int load(bpf_prog_type type, bpf_attach_type expected, uint32_t btf_id) {
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  opts.expected_attach_type = expected;
  opts.attach_btf_id = btf_id;
  return bpf_prog_load(type, "nt_probe", "GPL", kReturnZero, 2, &opts);
}

int btf_id(const char* name, int kind) { return sys::kernel_btf().find(name, kind); }

int pmu_type(const char* name) {
  std::ifstream f(fmt::format("/sys/bus/event_source/devices/{}/type", name));
  int t = -1;
  if (!(f >> t)) return -1;
  return t;
}

int perf_open(perf_event_attr* attr) {
  return static_cast<int>(syscall(__NR_perf_event_open, attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
}

Probe attach_perf(int prog_fd, perf_event_attr* attr, const std::string& what) {
  Fd pfd(perf_open(attr));
  if (!pfd.ok()) return {false, fmt::format("perf_event_open({}): {}", what, strerror(errno))};
  if (ioctl(pfd.get(), PERF_EVENT_IOC_SET_BPF, prog_fd) != 0)
    return {false, fmt::format("attach to {}: {}", what, strerror(errno))};
  return {true, what};
}

// A function of our own to put a uprobe on.
extern "C" __attribute__((noinline, used)) int nettrace_uprobe_probe_target(int x) {
  asm volatile("" ::: "memory");
  return x + 1;
}

Probe probe_tracing(bpf_attach_type type, const char* const* targets, int kind, const char* what) {
  for (const char* const* t = targets; *t; t++) {
    int id = btf_id(*t, kind);
    if (id < 0) continue;
    Fd prog(load(BPF_PROG_TYPE_TRACING, type, static_cast<uint32_t>(id)));
    if (!prog.ok()) return {false, fmt::format("load {} on {}: {}", what, *t, strerror(errno))};
    Fd link(bpf_raw_tracepoint_open(nullptr, prog.get()));
    if (!link.ok()) return {false, fmt::format("attach {} on {}: {}", what, *t, strerror(errno))};
    return {true, *t};
  }
  return {false, "no probe target in kernel BTF"};
}

}  // namespace

const Probe& Features::tp_btf() {
  if (!tp_btf_) {
    static const char* const targets[] = {"btf_trace_sched_switch", "btf_trace_kfree_skb", nullptr};
    tp_btf_ = probe_tracing(BPF_TRACE_RAW_TP, targets, BTF_KIND_TYPEDEF, "tp_btf");
  }
  return *tp_btf_;
}

const Probe& Features::fentry() {
  if (!fentry_) {
    static const char* const targets[] = {"bpf_fentry_test1", "do_nanosleep", "tcp_sendmsg", nullptr};
    fentry_ = probe_tracing(BPF_TRACE_FENTRY, targets, BTF_KIND_FUNC, "fentry");
  }
  return *fentry_;
}

const Probe& Features::raw_tp() {
  if (!raw_tp_) {
    Fd prog(load(BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_CGROUP_INET_INGRESS, 0));
    if (!prog.ok()) {
      raw_tp_ = Probe{false, fmt::format("load raw_tp: {}", strerror(errno))};
    } else {
      Fd link(bpf_raw_tracepoint_open("sched_switch", prog.get()));
      raw_tp_ = link.ok() ? Probe{true, "sched_switch"}
                          : Probe{false, fmt::format("attach raw_tp sched_switch: {}", strerror(errno))};
    }
  }
  return *raw_tp_;
}

const Probe& Features::tracepoint() {
  if (!tracepoint_) {
    std::string tracefs = sys::tracefs_path(true);
    const std::string id_file = tracefs + "/events/sched/sched_switch/id";
    std::ifstream idf(id_file);
    const int open_err = idf ? 0 : errno;
    int id = -1;
    if (tracefs.empty()) {
      tracepoint_ = Probe{false, "tracefs is not mounted and cannot be mounted (needs CAP_SYS_ADMIN)"};
    } else if (!(idf >> id)) {
      tracepoint_ = Probe{false, open_err == EACCES || open_err == EPERM
                                     ? fmt::format("cannot read {}: {} (needs root or CAP_DAC_READ_SEARCH)", id_file, strerror(open_err))
                                     : fmt::format("cannot read {}: {}", id_file, strerror(open_err ? open_err : EINVAL))};
    } else {
      Fd prog(load(BPF_PROG_TYPE_TRACEPOINT, BPF_CGROUP_INET_INGRESS, 0));
      if (!prog.ok()) {
        tracepoint_ = Probe{false, fmt::format("load tracepoint: {}", strerror(errno))};
      } else {
        perf_event_attr attr{};
        attr.type = PERF_TYPE_TRACEPOINT;
        attr.size = sizeof(attr);
        attr.config = static_cast<uint64_t>(id);
        tracepoint_ = attach_perf(prog.get(), &attr, "sched:sched_switch");
      }
    }
  }
  return *tracepoint_;
}

const Probe& Features::kprobe() {
  if (!kprobe_) {
    int type = pmu_type("kprobe");
    if (type < 0) {
      kprobe_ = Probe{false, "no kprobe PMU (CONFIG_KPROBES off)"};
    } else {
      Fd prog(load(BPF_PROG_TYPE_KPROBE, BPF_CGROUP_INET_INGRESS, 0));
      if (!prog.ok()) {
        kprobe_ = Probe{false, fmt::format("load kprobe: {}", strerror(errno))};
      } else {
        static const char sym[] = "do_nanosleep";
        perf_event_attr attr{};
        attr.type = static_cast<uint32_t>(type);
        attr.size = sizeof(attr);
        attr.config1 = reinterpret_cast<uint64_t>(sym);
        kprobe_ = attach_perf(prog.get(), &attr, sym);
      }
    }
  }
  return *kprobe_;
}

const Probe& Features::kprobe_multi() {
  if (!kprobe_multi_) {
    Fd prog(load(BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI, 0));
    if (!prog.ok()) {
      kprobe_multi_ = Probe{false, fmt::format("load kprobe.multi: {}", strerror(errno))};
    } else {
      const char* syms[] = {"do_nanosleep"};
      LIBBPF_OPTS(bpf_link_create_opts, opts);
      opts.kprobe_multi.syms = syms;
      opts.kprobe_multi.cnt = 1;
      Fd link(bpf_link_create(prog.get(), 0, BPF_TRACE_KPROBE_MULTI, &opts));
      kprobe_multi_ = link.ok() ? Probe{true, "do_nanosleep"}
                                : Probe{false, fmt::format("attach kprobe.multi: {}", strerror(errno))};
    }
  }
  return *kprobe_multi_;
}

const Probe& Features::uprobe() {
  if (!uprobe_) {
    int type = pmu_type("uprobe");
    if (type < 0) {
      uprobe_ = Probe{false, "no uprobe PMU (CONFIG_UPROBE_EVENTS off)"};
    } else {
      // File offset of our own function: find its mapping in /proc/self/maps.
      auto addr = reinterpret_cast<uint64_t>(&nettrace_uprobe_probe_target);
      std::ifstream maps("/proc/self/maps");
      std::string line;
      uint64_t offset = 0;
      bool found = false;
      while (std::getline(maps, line)) {
        uint64_t lo, hi, off;
        char perms[8];
        if (sscanf(line.c_str(), "%lx-%lx %7s %lx", &lo, &hi, perms, &off) != 4) continue;
        if (addr >= lo && addr < hi && perms[2] == 'x') {
          offset = addr - lo + off;
          found = true;
          break;
        }
      }
      Fd prog(load(BPF_PROG_TYPE_KPROBE, BPF_CGROUP_INET_INGRESS, 0));
      if (!found) {
        uprobe_ = Probe{false, "cannot locate own text mapping"};
      } else if (!prog.ok()) {
        uprobe_ = Probe{false, fmt::format("load uprobe: {}", strerror(errno))};
      } else {
        static const char self[] = "/proc/self/exe";
        perf_event_attr attr{};
        attr.type = static_cast<uint32_t>(type);
        attr.size = sizeof(attr);
        attr.config1 = reinterpret_cast<uint64_t>(self);
        attr.config2 = offset;
        uprobe_ = attach_perf(prog.get(), &attr, "uprobe on /proc/self/exe");
      }
    }
  }
  return *uprobe_;
}

const Probe& Features::ringbuf() {
  if (!ringbuf_) {
    int r = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr);
    ringbuf_ = r == 1 ? Probe{true, "BPF_MAP_TYPE_RINGBUF"} : Probe{false, r < 0 ? err_text(r) : "not supported"};
  }
  return *ringbuf_;
}

const Probe& Features::global_func_ptr_args() {
  if (!global_ptr_args_) {
    // int nt_probe(void) { u64 v = 0; return nt_probe_sub((int *)&v), 0; }   int nt_probe_sub(int *p) { return 0; }
    std::unique_ptr<btf, void (*)(btf*)> b(btf__new_empty(), btf__free);
    if (!b) return *(global_ptr_args_ = Probe{false, "btf__new_empty failed"});
    int int_id = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
    int ptr_id = btf__add_ptr(b.get(), int_id);
    int main_proto = btf__add_func_proto(b.get(), int_id);
    int main_id = btf__add_func(b.get(), "nt_probe", BTF_FUNC_STATIC, main_proto);
    int sub_proto = btf__add_func_proto(b.get(), int_id);
    int param = btf__add_func_param(b.get(), "p", ptr_id);
    int sub_id = btf__add_func(b.get(), "nt_probe_sub", BTF_FUNC_GLOBAL, sub_proto);
    if (int_id < 0 || ptr_id < 0 || main_proto < 0 || main_id < 0 || sub_proto < 0 || param < 0 || sub_id < 0 ||
        btf__load_into_kernel(b.get()) != 0)
      return *(global_ptr_args_ =
                   Probe{false, fmt::format("cannot build or load the probe's BTF: {}", strerror(errno))});
    const bpf_insn insns[] = {
        {BPF_ST | BPF_MEM | BPF_DW, 10, 0, -8, 0},           // *(u64 *)(r10 - 8) = 0
        {BPF_ALU64 | BPF_MOV | BPF_X, 1, 10, 0, 0},          // r1 = r10
        {BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, -8},          // r1 += -8
        {BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 2},      // call nt_probe_sub (insn 6)
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},           // r0 = 0
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},                    // exit
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},           // nt_probe_sub: r0 = 0
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},                    // exit
    };
    const bpf_func_info fi[] = {{0, static_cast<uint32_t>(main_id)}, {6, static_cast<uint32_t>(sub_id)}};
    char log[4096] = "";
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .prog_btf_fd = static_cast<uint32_t>(btf__fd(b.get())),
                .func_info = fi, .func_info_cnt = 2, .func_info_rec_size = sizeof(bpf_func_info), .log_level = 1,
                .log_size = sizeof(log), .log_buf = log);
    Fd prog(bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "nt_probe", "GPL", insns, std::size(insns), &opts));
    if (prog.ok()) {
      global_ptr_args_ = Probe{true, "a global function taking an int *"};
    } else {
      int err = errno;
      std::string why = log;
      // The verifier's reason is its log's first line naming the argument ("Arg#0 type PTR in ... not supported").
      if (auto at = why.find("Arg#0"); at != std::string::npos) {
        why = why.substr(at, why.find('\n', at) - at);
        while (!why.empty() && (why.back() == '.' || why.back() == ' ')) why.pop_back();
      } else {
        why = err_text(err);
      }
      global_ptr_args_ = Probe{false, "global functions take no pointer arguments: " + why};
    }
  }
  return *global_ptr_args_;
}

std::vector<std::string> make_ptr_subprogs_static(bpf_object* obj) {
  std::vector<std::string> names;
  btf* b = bpf_object__btf(obj);
  if (!b) return names;
  const uint32_t n = btf__type_cnt(b);
  for (uint32_t id = 1; id < n; id++) {
    const btf_type* t = btf__type_by_id(b, id);
    if (!btf_is_func(t) || btf_vlen(t) != BTF_FUNC_GLOBAL) continue;
    const char* name = btf__name_by_offset(b, t->name_off);
    if (!name || bpf_object__find_program_by_name(obj, name)) continue;  // a program, not a subprogram
    const btf_type* proto = btf__type_by_id(b, t->type);
    if (!proto || !btf_is_func_proto(proto)) continue;
    bool takes_ptr = false;
    const btf_param* p = btf_params(proto);
    for (uint16_t i = 0; i < btf_vlen(proto); i++) {
      const btf_type* a = btf__type_by_id(b, p[i].type);
      while (a && (btf_is_mod(a) || btf_is_typedef(a))) a = btf__type_by_id(b, a->type);
      takes_ptr = takes_ptr || (a && btf_is_ptr(a));
    }
    if (!takes_ptr) continue;
    // libbpf rewrites linkage the same way (in place) for kernels without global functions at all.
    auto* w = const_cast<btf_type*>(t);
    w->info = (w->info & ~0xffffU) | BTF_FUNC_STATIC;
    names.emplace_back(name);
  }
  return names;
}

}  // namespace nettrace::bpf
