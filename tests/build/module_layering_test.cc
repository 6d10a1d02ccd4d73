// The one-way layering of src/ (docs/ARCHITECTURE.md), checked on the
// source tree: every `#include "<module>/..."` in src/<m>/ must name m itself
// or a module that m declares as a dependency (ys_<module> in the DEPS /
// PRIVATE_DEPS of its yoloscope_module call, variables set in the module's
// own CMake files expanded). A module that includes what it does not link
// is a layering break even when the build happens to work (a header-only
// use, or a dependency that arrives transitively).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace yoloscope {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// CMake text of a module: its CMakeLists.txt and every *.cmake under it,
// comments removed.
std::string ModuleCMake(const fs::path& dir) {
  std::string text;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const fs::path& p = e.path();
    if (p.filename() == "CMakeLists.txt" || p.extension() == ".cmake") text += ReadFile(p) + "\n";
  }
  return std::regex_replace(text, std::regex("#[^\n]*"), "");
}

// ys_<name> targets a module declares: the yoloscope_module(...) call, with
// ${VAR}s from set(VAR ...) in the same files expanded.
std::set<std::string> DeclaredDeps(const std::string& cmake) {
  std::map<std::string, std::string> vars;
  const std::regex set_re(R"(set\(\s*(\w+)([^)]*)\))");
  for (auto it = std::sregex_iterator(cmake.begin(), cmake.end(), set_re);
       it != std::sregex_iterator(); ++it) {
    vars[(*it)[1]] += (*it)[2].str();
  }
  std::smatch m;
  std::string call;
  if (std::regex_search(cmake, m, std::regex(R"(yoloscope_module\(([^)]*)\))"))) call = m[1];
  for (int pass = 0; pass < 3; ++pass) {
    for (const auto& [name, value] : vars) {
      const std::string ref = "${" + name + "}";
      for (size_t at; (at = call.find(ref)) != std::string::npos;)
        call.replace(at, ref.size(), value);
    }
  }
  std::set<std::string> deps;
  const std::regex dep_re(R"(\bys_(\w+))");
  for (auto it = std::sregex_iterator(call.begin(), call.end(), dep_re);
       it != std::sregex_iterator(); ++it) {
    deps.insert((*it)[1]);
  }
  return deps;
}

struct Module {
  fs::path dir;
  std::set<std::string> deps;
};

std::map<std::string, Module> Modules() {
  std::map<std::string, Module> out;
  const fs::path src = fs::path(YOLOSCOPE_SOURCE_DIR) / "src";
  for (const auto& e : fs::directory_iterator(src)) {
    if (!e.is_directory() || !fs::exists(e.path() / "CMakeLists.txt")) continue;
    out[e.path().filename().string()] = {e.path(), DeclaredDeps(ModuleCMake(e.path()))};
  }
  return out;
}

TEST(ModuleLayeringTest, EveryModuleDeclaresItsDependencies) {
  const auto modules = Modules();
  ASSERT_GT(modules.size(), 10u);
  for (const auto& [name, m] : modules) {
    EXPECT_FALSE(m.deps.empty() && name != "common") << name << " declares no ys_ dependency";
    for (const std::string& d : m.deps) {
      EXPECT_TRUE(modules.count(d)) << name << " depends on ys_" << d << ", which is no module";
    }
  }
}

TEST(ModuleLayeringTest, IncludesReachOnlyDeclaredDependencies) {
  const auto modules = Modules();
  const std::regex include_re(R"(#\s*include\s*\"(\w+)/)");
  int checked = 0;
  for (const auto& [name, m] : modules) {
    for (const auto& e : fs::recursive_directory_iterator(m.dir)) {
      const std::string ext = e.path().extension().string();
      if (ext != ".h" && ext != ".cc" && ext != ".in") continue;
      const std::string text = ReadFile(e.path());
      for (auto it = std::sregex_iterator(text.begin(), text.end(), include_re);
           it != std::sregex_iterator(); ++it) {
        const std::string target = (*it)[1];
        if (!modules.count(target) || target == name) continue;
        ++checked;
        EXPECT_TRUE(m.deps.count(target))
            << fs::relative(e.path(), YOLOSCOPE_SOURCE_DIR).string() << " includes " << target
            << "/..., but ys_" << name << " does not declare ys_" << target;
      }
    }
  }
  EXPECT_GT(checked, 50);
}

// The dependency graph of the modules has no cycle (one-way layering).
TEST(ModuleLayeringTest, DependenciesHaveNoCycle) {
  const auto modules = Modules();
  std::map<std::string, int> state;  // 1 = on the stack, 2 = done.
  std::vector<std::string> stack;
  std::function<bool(const std::string&)> visit = [&](const std::string& n) {
    if (state[n] == 2) return true;
    if (state[n] == 1) return false;
    state[n] = 1;
    stack.push_back(n);
    auto it = modules.find(n);
    if (it != modules.end()) {
      for (const std::string& d : it->second.deps) {
        if (!visit(d)) return false;
      }
    }
    stack.pop_back();
    state[n] = 2;
    return true;
  };
  for (const auto& [name, m] : modules) {
    stack.clear();
    std::string path;
    const bool ok = visit(name);
    for (const std::string& s : stack) path += s + " -> ";
    EXPECT_TRUE(ok) << "dependency cycle: " << path;
  }
}

}  // namespace
}  // namespace yoloscope
