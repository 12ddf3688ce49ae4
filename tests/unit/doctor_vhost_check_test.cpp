// SPDX-License-Identifier: GPL-2.0
#include <gtest/gtest.h>

#include "tools/doctor/vhost_check.hpp"

using namespace nettrace::tools::doctor;

TEST(DoctorVhostCheck, ParsesStatWithSpacesAndParensInComm) {
  // pid (comm) state ppid pgrp session tty tpgid flags ... field 19 nice, 39 processor, 40 rt_priority, 41 policy
  std::string stat = "4242 (CPU 1/KVM) S 1 4242 4242 0 -1 4194368 10 0 0 0 5 6 0 0 20 -5 3 0 100 0 0 "
                     "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 7 2 0 0 0";
  TaskStat t;
  ASSERT_TRUE(parse_task_stat(stat, t));
  EXPECT_EQ(t.comm, "CPU 1/KVM");
  EXPECT_EQ(t.state, 'S');
  EXPECT_EQ(t.nice, -5);
  EXPECT_EQ(t.last_cpu, 1);
  EXPECT_EQ(t.rt_priority, 7u);
  EXPECT_EQ(t.policy, 2u);
  EXPECT_STREQ(policy_name(t.policy), "SCHED_RR");
  EXPECT_FALSE(t.kernel_thread);
  std::string kthread = "77 (vhost-4242) S 2 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 "
                        "18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 0 0 0 0 0 0";
  ASSERT_TRUE(parse_task_stat(kthread, t));
  EXPECT_TRUE(t.kernel_thread);
  EXPECT_EQ(t.comm, "vhost-4242");
  EXPECT_FALSE(parse_task_stat("garbage", t));
}

TEST(DoctorVhostCheck, VcpuThreadNames) {
  EXPECT_EQ(vcpu_index("CPU 0/KVM"), 0);
  EXPECT_EQ(vcpu_index("CPU 12/KVM"), 12);
  EXPECT_EQ(vcpu_index("CPU 1/TCG"), -1);
  EXPECT_EQ(vcpu_index("vhost-4242"), -1);
  EXPECT_EQ(vcpu_index("CPU x/KVM"), -1);
}
