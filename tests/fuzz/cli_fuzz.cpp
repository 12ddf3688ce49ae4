// SPDX-License-Identifier: GPL-2.0
// libFuzzer target: the whole command line, built exactly as main() builds it (src/cli_app.cpp: every tool's
// setup()), parsed from fuzzed arguments. Parsing must succeed or throw CLI::ParseError / nettrace::Error; the
// tool's action (ctx.action) is never run.
//
// Input: byte 0 picks how the command starts, the rest are arguments separated by NUL bytes.
//   0                  the first argument is argv[0] (an alias name like eth_drop.py, or nettrace*), as main()
//   1..tools           "<tool>" first (drop, cpu, perf, doctor)
//   tools+1..          an alias's command first (kernel_drop_stack_stats -> drop stacks --group-by stack …)
// (modulo the number of choices). With NETTRACE_FUZZ_SEED_DIR set, the target first writes one seed per tool and
// alias there (tests/fuzz/run_fuzz.sh adds the command lines documented in README.md and docs/).
//
// Parsing has one side effect: `cpu monitor --log FILE` opens FILE for appending. Arguments containing '/' are
// rejected and parsing runs in a scratch directory that is emptied after every input, so nothing leaks out.

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <typeinfo>
#include <vector>

#include <spdlog/spdlog.h>

#include "cli_app.hpp"
#include "nettrace/core/error.hpp"
#include "tools/registry.hpp"

using namespace nettrace;

namespace {

int g_scratch_fd = -1;
std::string g_scratch;

void empty_scratch() {
  DIR* d = fdopendir(dup(g_scratch_fd));
  if (!d) return;
  while (dirent* e = readdir(d)) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    unlinkat(g_scratch_fd, e->d_name, 0);
  }
  closedir(d);
}

void remove_scratch() {
  if (g_scratch_fd < 0) return;
  empty_scratch();
  rmdir(g_scratch.c_str());
}

size_t choices() { return 1 + tools::tools().size() + tools::aliases().size(); }

void write_seed(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir + "/" + name;
  if (FILE* f = fopen(path.c_str(), "we")) {
    fwrite(bytes.data(), 1, bytes.size(), f);
    fclose(f);
  }
}

void write_seeds(const std::string& dir) {
  const size_t ntools = tools::tools().size();
  for (size_t i = 0; i < ntools; i++) {
    const std::string sel(1, static_cast<char>(1 + i));
    write_seed(dir, std::string("tool-") + tools::tools()[i].name, sel);
    write_seed(dir, std::string("tool-") + tools::tools()[i].name + "-help", sel + "--help");
  }
  for (size_t i = 0; i < tools::aliases().size(); i++) {
    const auto& a = tools::aliases()[i];
    write_seed(dir, std::string("alias-") + a.alias, std::string(1, static_cast<char>(1 + ntools + i)));
    write_seed(dir, std::string("argv0-") + a.alias, std::string(1, '\0') + a.alias + ".py");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  if (choices() > 256) {
    fprintf(stderr, "cli_fuzz: more than 255 tools and aliases; widen the selector\n");
    abort();
  }
  char tmpl[] = "/tmp/nettrace-cli-fuzz.XXXXXX";
  if (!mkdtemp(tmpl)) {
    perror("cli_fuzz: mkdtemp");
    abort();
  }
  g_scratch = tmpl;
  g_scratch_fd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (g_scratch_fd < 0) abort();
  atexit(remove_scratch);
  if (const char* dir = getenv("NETTRACE_FUZZ_SEED_DIR")) write_seeds(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return -1;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (rest.find('/') != std::string::npos) return -1;  // no path may leave the scratch directory
  std::vector<std::string> fuzzed;
  for (size_t start = 0; start < rest.size();) {
    size_t end = rest.find('\0', start);
    if (end == std::string::npos) end = rest.size();
    fuzzed.push_back(rest.substr(start, end - start));
    start = end + 1;
  }

  const size_t ntools = tools::tools().size();
  const size_t sel = data[0] % choices();
  std::string invoked = "nettrace";
  if (sel == 0) {  // argv[0], resolved as main() does
    if (fuzzed.empty()) return -1;
    invoked = invoked_name(fuzzed[0].c_str());
    fuzzed.erase(fuzzed.begin());
  } else if (sel <= ntools) {
    fuzzed.insert(fuzzed.begin(), tools::tools()[sel - 1].name);
  } else {
    invoked = tools::aliases()[sel - 1 - ntools].alias;
  }

  const int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cwd < 0 || fchdir(g_scratch_fd) != 0) abort();
  {
    CLI::App app{kAppDescription, kAppName};
    RootFlags flags;
    tools::Context ctx;
    build_app(app, flags, ctx);
    std::ostringstream out;
    try {
      // As main() does: an alias translates its original's flags; an unknown name exits (nothing parsed).
      if (auto native = native_args(invoked, fuzzed, app)) {
        std::vector<std::string> args = std::move(*native);
        std::reverse(args.begin(), args.end());  // CLI11 consumes the vector from its back, as in main()
        app.parse(args);
        if (!ctx.action) out << app.help();  // main() prints the help when no tool was chosen
      }
    } catch (const CLI::ParseError& e) {
      app.exit(e, out, out);  // help, or the error
      out << parse_error_message(app, e);  // what main() prints for an error
    } catch (const Error& e) {
      out << e.what();
    } catch (const std::exception& e) {
      // Anything else would escape main()'s parse and terminate it: a crash. Report it from the start
      // directory, so libFuzzer's artifact lands where it was asked to.
      if (fchdir(cwd) != 0) abort();
      fprintf(stderr, "cli_fuzz: parsing threw %s: %s\n", typeid(e).name(), e.what());
      abort();
    } catch (...) {
      if (fchdir(cwd) != 0) abort();
      fprintf(stderr, "cli_fuzz: parsing threw a non-std exception\n");
      abort();
    }
  }
  if (fchdir(cwd) != 0) abort();
  close(cwd);
  empty_scratch();
  return 0;
}
