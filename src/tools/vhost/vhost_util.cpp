// SPDX-License-Identifier: GPL-2.0
// Pure helpers of the vhost tools (no libbpf): names of queues and backends, JSON fields of a vq.

#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tools/vhost/vhost.hpp"

namespace nettrace::tools::vhost {

std::string vq_role(const std::string& kick_fn, uint32_t vq_index) {
  // vhost_net's kick handlers name the direction from the guest's point of view: rx = host to guest.
  if (kick_fn == "handle_rx_kick") return "rx";
  if (kick_fn == "handle_tx_kick") return "tx";
  if (vq_index == NT_VHOST_NO_INDEX) return "?";
  return fmt::format("vq{}", vq_index);
}

std::string comm_of(const char* comm, size_t n) { return std::string(comm, strnlen(comm, n)); }

std::string backend_name(const nt_vhost_vq_id& id) {
  const std::string name = comm_of(id.ifname, sizeof(id.ifname));
  if (id.tap_queue == NT_VHOST_NO_INDEX) return name.empty() ? "-" : name;
  return fmt::format("{}:q{}", name.empty() ? "?" : name, id.tap_queue);
}

std::string hex_ptr(uint64_t p) { return fmt::format("0x{:x}", p); }

void add_vq_fields(nlohmann::json& j, const nt_vhost_vq_id& id, const std::string& role) {
  j["vhost_dev"] = hex_ptr(id.dev);
  j["vq_index"] = id.vq_index == NT_VHOST_NO_INDEX ? nlohmann::json(nullptr) : nlohmann::json(id.vq_index);
  j["role"] = role;
  j["owner_pid"] = id.owner_tgid;
  j["worker_tid"] = id.worker_tid;
  j["worker_pid"] = id.worker_tgid;
  j["worker_comm"] = comm_of(id.worker_comm, sizeof(id.worker_comm));
  if (id.ifindex) {
    j["interface"] = comm_of(id.ifname, sizeof(id.ifname));
    j["ifindex"] = id.ifindex;
  }
  if (id.tap_queue != NT_VHOST_NO_INDEX) j["tap_queue"] = id.tap_queue;
}

}  // namespace nettrace::tools::vhost
