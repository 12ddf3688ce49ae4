// SPDX-License-Identifier: GPL-2.0
// Names the vhost tools give queues and backends, and the JSON fields of a vq.
#include <cstring>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tools/vhost/vhost.hpp"

using namespace nettrace::tools::vhost;

TEST(VhostRole, KickHandlerNamesTheDirectionElseTheIndex) {
  EXPECT_EQ(vq_role("handle_rx_kick", 0), "rx");
  EXPECT_EQ(vq_role("handle_tx_kick", 1), "tx");
  EXPECT_EQ(vq_role("vhost_scsi_handle_kick", 2), "vq2");
  EXPECT_EQ(vq_role("", NT_VHOST_NO_INDEX), "?");
}

TEST(VhostBackend, TapQueueOrDash) {
  nt_vhost_vq_id id{};
  id.tap_queue = NT_VHOST_NO_INDEX;
  EXPECT_EQ(backend_name(id), "-");
  strcpy(id.ifname, "tap0");
  id.ifindex = 7;
  id.tap_queue = 1;
  EXPECT_EQ(backend_name(id), "tap0:q1");
  // A full 16-byte name without its NUL is not read past.
  memcpy(id.ifname, "0123456789abcdef", 16);
  EXPECT_EQ(backend_name(id), "0123456789abcdef:q1");
}

TEST(VhostJson, VqFieldsNameEverything) {
  nt_vhost_vq_id id{};
  id.dev = 0xffff888012345678ULL;
  id.vq_index = 1;
  id.owner_tgid = 4242;
  id.worker_tid = 4250;
  id.worker_tgid = 4242;
  strcpy(id.worker_comm, "vhost-4242");
  strcpy(id.ifname, "tap0");
  id.ifindex = 9;
  id.tap_queue = 0;
  nlohmann::json j;
  add_vq_fields(j, id, "tx");
  EXPECT_EQ(j["vhost_dev"], "0xffff888012345678");
  EXPECT_EQ(j["vq_index"], 1);
  EXPECT_EQ(j["role"], "tx");
  EXPECT_EQ(j["owner_pid"], 4242);
  EXPECT_EQ(j["worker_tid"], 4250);
  EXPECT_EQ(j["worker_comm"], "vhost-4242");
  EXPECT_EQ(j["interface"], "tap0");
  EXPECT_EQ(j["ifindex"], 9);
  EXPECT_EQ(j["tap_queue"], 0);
  nt_vhost_vq_id none{};
  none.vq_index = NT_VHOST_NO_INDEX;
  none.tap_queue = NT_VHOST_NO_INDEX;
  nlohmann::json k;
  add_vq_fields(k, none, "?");
  EXPECT_TRUE(k["vq_index"].is_null());
  EXPECT_FALSE(k.contains("interface"));
  EXPECT_FALSE(k.contains("tap_queue"));
}
