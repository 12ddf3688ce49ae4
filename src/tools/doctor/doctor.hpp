// SPDX-License-Identifier: GPL-2.0
#pragma once
// nettrace doctor: kernel, BTF, attach types, pseudo filesystems, privileges, modules, and per tool
// whether it can run here.

#include "tools/registry.hpp"

namespace nettrace::tools::doctor {

void setup(CLI::App& root, Context& ctx);

}  // namespace nettrace::tools::doctor
