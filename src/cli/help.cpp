// SPDX-License-Identifier: GPL-2.0
#include "nettrace/cli/help.hpp"

#include <sstream>

namespace nettrace::cli {

std::string value_label(const std::string& type_name) {
  auto colon = type_name.find(':');
  if (colon == std::string::npos) return type_name;
  std::string rest = type_name.substr(colon + 1);
  if (!rest.empty() && rest.front() == '{') return rest;  // a set of choices says more than TEXT
  return type_name.substr(0, colon);
}

std::string HelpFormatter::make_option_name(const CLI::Option* opt, bool is_positional) const {
  if (is_positional) return opt->get_name(true, false);
  std::string out;
  if (!opt->get_snames().empty()) out = "-" + opt->get_snames().front();
  if (!opt->get_lnames().empty()) out += (out.empty() ? "--" : ",--") + opt->get_lnames().front();
  return out.empty() ? opt->get_name(false, true) : out;
}

std::string HelpFormatter::make_option_opts(const CLI::Option* opt) const {
  std::ostringstream out;
  if (!opt->get_option_text().empty()) {
    out << " " << opt->get_option_text();
  } else if (opt->get_type_size() != 0) {
    std::string label = value_label(opt->get_type_name());
    if (!label.empty()) out << " " << label;
    if (!opt->get_default_str().empty()) out << " (default " << opt->get_default_str() << ")";
    if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) out << " ...";
  }
  if (opt->get_required()) out << " (required)";
  return out.str();
}

void install_help(CLI::App& app) { app.formatter(std::make_shared<HelpFormatter>()); }

void add_examples(CLI::App& app, const std::vector<std::string>& examples) {
  std::string footer = app.get_footer();
  footer += footer.empty() ? "Examples:\n" : "\n\nExamples:\n";
  for (const auto& e : examples) footer += "  " + e + "\n";
  app.footer(footer);
}

}  // namespace nettrace::cli
