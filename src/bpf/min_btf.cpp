// SPDX-License-Identifier: GPL-2.0
#include "nettrace/bpf/min_btf.hpp"

#include <gelf.h>
#include <libelf.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace nettrace::bpf {
namespace {

constexpr uint32_t kKindTypeTag = 18, kKindEnum64 = 19;

constexpr uint32_t info_enc(uint32_t kind, uint32_t kflag, size_t vlen) {
  return (kflag << 31) | (kind << 24) | static_cast<uint32_t>(vlen & 0xffff);
}

// The kinds of libbpf's enum bpf_core_relo_kind (stable UAPI numbering, include/uapi/linux/bpf.h).
enum RelocKind : uint32_t {
  FieldByteOffset = 0, FieldByteSize, FieldExists, FieldSigned, FieldLshift, FieldRshift,
  TypeIdLocal, TypeIdTarget, TypeExists, TypeSize, EnumvalExists, EnumvalValue, TypeMatches,
};

struct Reloc {
  uint32_t type_id;
  std::string access;
  uint32_t kind;
};

struct TypeRef {
  const btf_type* t;
  uint32_t kind, vlen;
};

TypeRef type_of(const sys::RawBtf& b, uint32_t id) {
  const auto* t = reinterpret_cast<const btf_type*>(b.type_data(id));
  return {t, BTF_INFO_KIND(t->info), BTF_INFO_VLEN(t->info)};
}

bool is_mod_or_typedef(uint32_t kind) {
  return kind == BTF_KIND_TYPEDEF || kind == BTF_KIND_CONST || kind == BTF_KIND_VOLATILE ||
         kind == BTF_KIND_RESTRICT || kind == kKindTypeTag;
}

bool is_composite(uint32_t kind) { return kind == BTF_KIND_STRUCT || kind == BTF_KIND_UNION; }

bool is_enum(uint32_t kind) { return kind == BTF_KIND_ENUM || kind == kKindEnum64; }

// Past const/volatile/restrict/type tags and typedefs, as libbpf's skip_mods_and_typedefs.
uint32_t skip_mods_and_typedefs(const sys::RawBtf& b, uint32_t id) {
  while (id != 0) {
    auto r = type_of(b, id);
    if (!is_mod_or_typedef(r.kind)) break;
    id = r.t->type;
  }
  return id;
}

const btf_member* members(const btf_type* t) { return reinterpret_cast<const btf_member*>(t + 1); }

// libbpf's essential name: "sk_buff___old" -> "sk_buff" (a flavor is "___" then a non-underscore).
std::string_view essential(std::string_view n) {
  for (size_t i = n.size() >= 5 ? n.size() - 5 + 1 : 0; i-- > 0;) {
    if (n[i] != '_' && n[i + 1] == '_' && n[i + 2] == '_' && n[i + 3] == '_' && n[i + 4] != '_')
      return n.substr(0, i + 1);
  }
  return n;
}

std::vector<uint32_t> parse_access(const std::string& s) {
  std::vector<uint32_t> out;
  uint32_t v = 0;
  bool any = false;
  for (char c : s) {
    if (c == ':') {
      out.push_back(v);
      v = 0;
      any = false;
    } else if (c >= '0' && c <= '9') {
      v = v * 10 + static_cast<uint32_t>(c - '0');
      any = true;
    } else {
      return {};
    }
  }
  if (any) out.push_back(v);
  return out;
}

struct ElfBtf {
  const uint8_t* btf = nullptr;
  size_t btf_size = 0;
  const uint8_t* ext = nullptr;
  size_t ext_size = 0;
};

ElfBtf find_btf_sections(const void* image, size_t size) {
  ElfBtf out;
  if (elf_version(EV_CURRENT) == EV_NONE) return out;
  Elf* elf = elf_memory(static_cast<char*>(const_cast<void*>(image)), size);
  if (!elf) return out;
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) == 0) {
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh)) continue;
      const char* name = elf_strptr(elf, shstrndx, sh.sh_name);
      if (!name || sh.sh_offset + sh.sh_size > size) continue;
      const auto* p = static_cast<const uint8_t*>(image) + sh.sh_offset;
      if (strcmp(name, ".BTF") == 0) {
        out.btf = p;
        out.btf_size = static_cast<size_t>(sh.sh_size);
      } else if (strcmp(name, ".BTF.ext") == 0) {
        out.ext = p;
        out.ext_size = static_cast<size_t>(sh.sh_size);
      }
    }
  }
  elf_end(elf);
  return out;
}

// The CO-RE relocation records of .BTF.ext (struct btf_ext_header, then per section: name, count, records).
std::optional<std::vector<Reloc>> read_relocs(const uint8_t* ext, size_t size, const sys::RawBtf& local) {
  struct Header {
    uint16_t magic;
    uint8_t version, flags;
    uint32_t hdr_len, func_info_off, func_info_len, line_info_off, line_info_len, core_relo_off, core_relo_len;
  } h{};
  if (size < 8) return std::nullopt;
  memcpy(&h, ext, std::min(size, sizeof(h)));
  if (h.magic != BTF_MAGIC || h.hdr_len > size) return std::nullopt;
  std::vector<Reloc> out;
  if (h.hdr_len < sizeof(h) || h.core_relo_len == 0) return out;
  const size_t start = static_cast<size_t>(h.hdr_len) + h.core_relo_off, end = start + h.core_relo_len;
  if (end > size || h.core_relo_len < 4) return std::nullopt;
  uint32_t rec_size = 0;
  memcpy(&rec_size, ext + start, 4);
  if (rec_size < 16) return std::nullopt;
  for (size_t off = start + 4; off + 8 <= end;) {
    uint32_t sec[2];
    memcpy(sec, ext + off, 8);
    off += 8;
    if (off + static_cast<size_t>(sec[1]) * rec_size > end) return std::nullopt;
    for (uint32_t i = 0; i < sec[1]; i++, off += rec_size) {
      uint32_t r[4];
      memcpy(r, ext + off, 16);
      if (r[1] >= local.type_count()) return std::nullopt;
      out.push_back({r[1], std::string(local.str(r[2])), r[3]});
    }
  }
  return out;
}

class Reducer {
 public:
  explicit Reducer(const sys::RawBtf& k) : k_(k) {}

  // Keeps a type and what its layout refers to; struct and union members only when selected.
  void keep(uint32_t id) {
    if (id == 0 || !kept_.insert(id).second) return;
    auto [t, kind, vlen] = type_of(k_, id);
    if (is_mod_or_typedef(kind)) keep(t->type);
    if (kind == BTF_KIND_ARRAY) {
      const auto* a = reinterpret_cast<const btf_array*>(t + 1);
      keep(a->type);
      keep(a->index_type);
    }
  }
  void keep_member(uint32_t id, uint32_t idx) {
    keep(id);
    if (selected_[id].insert(idx).second) keep(members(type_of(k_, id).t)[idx].type);
  }

  uint32_t skip_mods(uint32_t id) {
    while (id != 0) {
      auto r = type_of(k_, id);
      if (!is_mod_or_typedef(r.kind)) break;
      keep(id);
      id = r.t->type;
    }
    return id;
  }

  // Finds member `name` in composite `id`, also inside anonymous struct/union members (as libbpf's
  // bpf_core_match_member does), keeping every member on the way. Returns the member's type or nullopt.
  std::optional<uint32_t> find_member(uint32_t id, std::string_view name, int depth = 0) {
    if (depth > 32) return std::nullopt;
    auto [t, kind, vlen] = type_of(k_, id);
    if (!is_composite(kind)) return std::nullopt;
    const btf_member* m = members(t);
    for (uint32_t i = 0; i < vlen; i++) {
      std::string_view mn = k_.str(m[i].name_off);
      if (mn == name) {
        keep_member(id, i);
        return m[i].type;
      }
      if (mn.empty()) {
        const uint32_t inner = skip_mods_and_typedefs(k_, m[i].type);
        if (inner && is_composite(type_of(k_, inner).kind)) {
          if (auto found = find_member(inner, name, depth + 1)) {
            keep_member(id, i);
            return found;
          }
        }
      }
    }
    return std::nullopt;
  }

  // Walks a field relocation's access path from a kernel candidate, keeping what it passes.
  void walk(const sys::RawBtf& local, uint32_t local_root, const std::vector<uint32_t>& access, uint32_t cand) {
    keep(cand);
    uint32_t lt = skip_mods_and_typedefs(local, local_root);
    uint32_t kt = skip_mods(cand);
    for (size_t i = 1; i < access.size() && kt != 0; i++) {
      auto l = type_of(local, lt);
      if (is_composite(l.kind)) {
        if (access[i] >= l.vlen) return;
        const btf_member& lm = members(l.t)[access[i]];
        lt = skip_mods_and_typedefs(local, lm.type);
        const std::string_view name = local.str(lm.name_off);
        if (name.empty()) continue;  // anonymous: libbpf matches the next named access inside it
        auto next = find_member(kt, name);
        if (!next) return;
        kt = skip_mods(*next);
      } else if (l.kind == BTF_KIND_ARRAY) {
        lt = skip_mods_and_typedefs(local, reinterpret_cast<const btf_array*>(l.t + 1)->type);
        if (type_of(k_, kt).kind != BTF_KIND_ARRAY) return;
        kt = skip_mods(reinterpret_cast<const btf_array*>(type_of(k_, kt).t + 1)->type);
      } else {
        return;
      }
    }
  }

  std::vector<uint8_t> emit() const {
    std::vector<uint32_t> ids(kept_.begin(), kept_.end());
    std::sort(ids.begin(), ids.end());
    std::unordered_map<uint32_t, uint32_t> remap;
    for (size_t i = 0; i < ids.size(); i++) remap[ids[i]] = static_cast<uint32_t>(i + 1);
    auto map_id = [&](uint32_t id) -> uint32_t {
      auto it = remap.find(id);
      return it == remap.end() ? 0 : it->second;
    };
    std::string strs(1, '\0');
    std::unordered_map<std::string_view, uint32_t> str_index;
    auto add_str = [&](uint32_t off) -> uint32_t {
      std::string_view s = k_.str(off);
      if (s.empty()) return 0;
      auto it = str_index.find(s);
      if (it != str_index.end()) return it->second;
      const auto at = static_cast<uint32_t>(strs.size());
      strs.append(s);
      strs.push_back('\0');
      str_index.emplace(s, at);  // s views the kernel's (mapped) string section, which outlives this
      return at;
    };
    std::vector<uint8_t> types;
    auto put = [&](const void* p, size_t n) {
      const auto* b = static_cast<const uint8_t*>(p);
      types.insert(types.end(), b, b + n);
    };
    for (uint32_t id : ids) {
      auto [t, kind, vlen] = type_of(k_, id);
      btf_type h = *t;
      h.name_off = add_str(t->name_off);
      const uint8_t* extra = reinterpret_cast<const uint8_t*>(t + 1);
      if (is_composite(kind)) {
        auto sel = selected_.find(id);
        const std::set<uint32_t> none;
        const std::set<uint32_t>& keep_idx = sel == selected_.end() ? none : sel->second;
        h.info = info_enc(kind, BTF_INFO_KFLAG(t->info), keep_idx.size());
        put(&h, sizeof(h));
        for (uint32_t i : keep_idx) {
          btf_member m = members(t)[i];
          m.name_off = add_str(m.name_off);
          m.type = map_id(m.type);
          put(&m, sizeof(m));
        }
      } else if (kind == BTF_KIND_PTR) {
        h.type = 0;  // CO-RE paths never go through a pointer; its pointee is not needed
        put(&h, sizeof(h));
      } else if (kind == BTF_KIND_FUNC_PROTO) {
        h.info = info_enc(kind, 0, 0);
        h.type = 0;
        put(&h, sizeof(h));
      } else if (is_mod_or_typedef(kind)) {
        h.type = map_id(t->type);
        put(&h, sizeof(h));
      } else if (kind == BTF_KIND_ARRAY) {
        btf_array a;
        memcpy(&a, extra, sizeof(a));
        a.type = map_id(a.type);
        a.index_type = map_id(a.index_type);
        put(&h, sizeof(h));
        put(&a, sizeof(a));
      } else if (is_enum(kind)) {
        put(&h, sizeof(h));
        const size_t each = kind == BTF_KIND_ENUM ? 8 : 12;
        for (uint32_t i = 0; i < vlen; i++) {
          uint32_t e[3] = {};
          memcpy(e, extra + i * each, each);
          e[0] = add_str(e[0]);
          put(e, each);
        }
      } else {  // INT, FLOAT, FWD: copied as they are
        put(&h, sizeof(h));
        put(extra, sys::RawBtf::extra_size(kind, vlen));
      }
    }
    btf_header hdr{};
    hdr.magic = BTF_MAGIC;
    hdr.version = BTF_VERSION;
    hdr.hdr_len = sizeof(hdr);
    hdr.type_off = 0;
    hdr.type_len = static_cast<uint32_t>(types.size());
    hdr.str_off = hdr.type_len;
    hdr.str_len = static_cast<uint32_t>(strs.size());
    std::vector<uint8_t> out(sizeof(hdr) + types.size() + strs.size());
    memcpy(out.data(), &hdr, sizeof(hdr));
    memcpy(out.data() + sizeof(hdr), types.data(), types.size());
    memcpy(out.data() + sizeof(hdr) + types.size(), strs.data(), strs.size());
    return out;
  }

  [[nodiscard]] size_t kept() const { return kept_.size(); }

 private:
  const sys::RawBtf& k_;
  std::unordered_set<uint32_t> kept_;
  std::map<uint32_t, std::set<uint32_t>> selected_;  // composite id -> member indices kept
};

}  // namespace

std::optional<std::vector<uint8_t>> minimal_core_btf(const void* elf, size_t size, const sys::RawBtf& kernel) {
  if (!kernel.ok() || !elf) return std::nullopt;
  const ElfBtf sections = find_btf_sections(elf, size);
  if (!sections.btf || !sections.ext) return std::nullopt;
  const sys::RawBtf local = sys::RawBtf::parse(sections.btf, sections.btf_size);
  if (!local.ok()) return std::nullopt;
  auto relocs = read_relocs(sections.ext, sections.ext_size, local);
  if (!relocs) return std::nullopt;

  // Candidates are looked up by (essential name, kind), as libbpf's bpf_core_find_cands does.
  // Keys view the local BTF's strings, which outlive the scan: no allocation per kernel type.
  std::unordered_map<std::string_view, std::vector<const Reloc*>> by_name;
  for (const auto& r : *relocs) {
    if (r.kind == TypeIdLocal) continue;
    if (r.kind == TypeIdTarget || r.kind >= TypeMatches) return std::nullopt;  // ids or deep matches: not reducible
    const auto l = type_of(local, r.type_id);
    const std::string_view name = essential(local.str(l.t->name_off));
    if (name.empty()) return std::nullopt;
    by_name[name].push_back(&r);
  }
  Reducer red(kernel);
  for (uint32_t id = 1; id < kernel.type_count(); id++) {
    const auto k = type_of(kernel, id);
    const std::string_view kname = k.t->name_off ? kernel.str(k.t->name_off) : std::string_view{};
    if (kname.empty()) continue;
    auto it = by_name.find(essential(kname));
    if (it == by_name.end()) continue;
    for (const Reloc* r : it->second) {
      const uint32_t lkind = type_of(local, r->type_id).kind;
      const bool kind_ok = lkind == k.kind || (is_enum(lkind) && is_enum(k.kind));
      if (!kind_ok) continue;
      if (r->kind <= FieldRshift) {
        red.walk(local, r->type_id, parse_access(r->access), id);
      } else {
        red.keep(id);  // type exists/size, enum values: the type itself (enums keep every enumerator)
      }
    }
  }
  auto blob = red.emit();
  spdlog::debug("CO-RE: {} relocations, minimal BTF of {} types, {} bytes", relocs->size(), red.kept(), blob.size());
  return blob;
}

BtfFile::BtfFile(const std::vector<uint8_t>& blob) {
  fd_ = memfd_create("nettrace-core-btf", MFD_CLOEXEC);
  if (fd_ < 0) return;
  size_t done = 0;
  while (done < blob.size()) {
    ssize_t n = write(fd_, blob.data() + done, blob.size() - done);
    if (n <= 0) {
      close(fd_);
      fd_ = -1;
      return;
    }
    done += static_cast<size_t>(n);
  }
  path_ = fmt::format("/proc/self/fd/{}", fd_);
}

BtfFile::~BtfFile() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace nettrace::bpf
