// SPDX-License-Identifier: GPL-2.0
#pragma once
// How `--help` reads (docs/cli.md): one spelling per option (the first short and first long name; other
// spellings stay accepted as synonyms), the value's kind and default, no parser internals (no ranges, no
// "Excludes:" lists), and a command's examples after its options.

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace nettrace::cli {

class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_name(const CLI::Option* opt, bool is_positional) const override;
  std::string make_option_opts(const CLI::Option* opt) const override;
};

// Installs the formatter on app; subcommands added afterwards inherit it.
void install_help(CLI::App& app);

// Appends "Examples:" and one line per example to a command's footer.
void add_examples(CLI::App& app, const std::vector<std::string>& examples);

// The label shown for an option's value: an explicit option_text, else the type name without CLI11's
// validator suffixes ("UINT:INT in [1 - 10]" -> "UINT"; "TEXT:{a,b}" -> "{a,b}").
[[nodiscard]] std::string value_label(const std::string& type_name);

}  // namespace nettrace::cli
