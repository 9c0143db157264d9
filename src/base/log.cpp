#include "base/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <map>
#include <mutex>
#include <stdexcept>

namespace stargate::log {
namespace {

struct Registry {
  std::mutex mutex;
  spdlog::level::level_enum default_level = spdlog::level::warn;
  std::map<std::string, spdlog::level::level_enum, std::less<>> module_levels;
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers;
  bool json = false;
  spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
};

Registry& registry() {
  static Registry r;
  return r;
}

spdlog::level::level_enum parse_level(std::string_view text) {
  auto level = spdlog::level::from_str(std::string(text));
  // from_str maps unknown names to "off"; only accept "off" when it was asked for.
  if (level == spdlog::level::off && text != "off")
    throw std::invalid_argument("unknown log level '" + std::string(text) +
                                "' (use trace, debug, info, warn, error, critical or off)");
  return level;
}

const char* pattern(bool json) {
  return json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","module":"%n","msg":"%v"})"
              : "%Y-%m-%d %H:%M:%S.%e %^%l%$ [%n] %v";
}

spdlog::level::level_enum level_for(Registry& r, std::string_view module) {
  auto it = r.module_levels.find(module);
  return it == r.module_levels.end() ? r.default_level : it->second;
}

}  // namespace

std::shared_ptr<spdlog::logger> get(std::string_view module) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  if (auto it = r.loggers.find(module); it != r.loggers.end()) return it->second;
  auto logger = std::make_shared<spdlog::logger>(std::string(module), r.sink);
  logger->set_pattern(pattern(r.json), spdlog::pattern_time_type::utc);
  logger->set_level(level_for(r, module));
  r.loggers.emplace(std::string(module), logger);
  return logger;
}

void configure(std::string_view spec) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto default_level = r.default_level;
  std::map<std::string, spdlog::level::level_enum, std::less<>> modules;
  while (!spec.empty()) {
    auto comma = spec.find(',');
    auto entry = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    if (entry.empty()) continue;
    if (auto eq = entry.find('='); eq != std::string_view::npos) {
      if (eq == 0) throw std::invalid_argument("log level entry '" + std::string(entry) + "' has no module");
      modules[std::string(entry.substr(0, eq))] = parse_level(entry.substr(eq + 1));
    } else {
      default_level = parse_level(entry);
    }
  }
  r.default_level = default_level;
  r.module_levels = std::move(modules);
  for (auto& [name, logger] : r.loggers) logger->set_level(level_for(r, name));
}

void use_json(bool enabled) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  r.json = enabled;
  for (auto& [name, logger] : r.loggers) logger->set_pattern(pattern(enabled), spdlog::pattern_time_type::utc);
}

}  // namespace stargate::log
