// SPDX-License-Identifier: GPL-2.0
#include "nettrace/sys/netdev.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>

namespace nettrace::sys {

uint32_t current_netns_inum() {
  struct stat st {};
  if (stat("/proc/self/ns/net", &st) != 0) return 0;
  return static_cast<uint32_t>(st.st_ino);
}

std::optional<uint32_t> ifindex_of(const std::string& name) {
  if (name.empty() || name.size() >= IF_NAMESIZE) return std::nullopt;
  unsigned idx = if_nametoindex(name.c_str());
  if (idx == 0) return std::nullopt;
  return idx;
}

bool is_local_address(const std::string& ip) {
  in6_addr want6{};
  in_addr want4{};
  const bool v4 = inet_pton(AF_INET, ip.c_str(), &want4) == 1;
  if (!v4 && inet_pton(AF_INET6, ip.c_str(), &want6) != 1) return false;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  bool found = false;
  for (ifaddrs* a = list; a && !found; a = a->ifa_next) {
    if (!a->ifa_addr) continue;
    if (v4 && a->ifa_addr->sa_family == AF_INET)
      found = reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr == want4.s_addr;
    else if (!v4 && a->ifa_addr->sa_family == AF_INET6)
      found = memcmp(&reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr, &want6, sizeof(want6)) == 0;
  }
  freeifaddrs(list);
  return found;
}

bool is_loopback(const std::string& name) {
  if (name.empty() || name.size() >= IF_NAMESIZE) return false;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  struct ifreq ifr {};
  memcpy(ifr.ifr_name, name.data(), name.size());
  const bool loopback = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_LOOPBACK);
  close(fd);
  return loopback;
}

std::map<std::string, uint64_t> link_stats(const std::string& name) {
  std::map<std::string, uint64_t> out;
  const std::string dir = "/sys/class/net/" + name + "/statistics";
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* de = readdir(d)) {
    if (de->d_name[0] == '.') continue;
    std::ifstream f(dir + "/" + de->d_name);
    uint64_t v = 0;
    if (f >> v) out[de->d_name] = v;
  }
  closedir(d);
  return out;
}

}  // namespace nettrace::sys
