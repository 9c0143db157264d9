// `[agent] shutdown_grace_s` (issue 13, bounded shutdown): seconds, decimals allowed, 0 to 600;
// anything else is refused with the key named, and an override (--shutdown-grace) wins.
#include "agent/settings.hpp"

#include <gtest/gtest.h>

namespace stargate::agent {
namespace {

using namespace std::chrono_literals;

TEST(ShutdownGraceSetting, DefaultIsFiveSeconds) { EXPECT_EQ(defaults().shutdown_grace, 5000ms); }

TEST(ShutdownGraceSetting, ReadFromTheConfigFile) {
  for (auto [text, expected] : {std::pair{"2.5", 2500ms}, {"0", 0ms}, {"600", 600'000ms}, {"30", 30'000ms}}) {
    auto s = defaults();
    auto r = apply_toml_text(s, std::string("[agent]\nshutdown_grace_s = ") + text + "\n", "config.toml");
    ASSERT_TRUE(r) << text << ": " << r.error().message;
    EXPECT_EQ(s.shutdown_grace, expected) << text;
  }
}

TEST(ShutdownGraceSetting, OutOfRangeOrNotANumberIsRefused) {
  for (const char* text : {"-1", "600.5", "1e300", "nan", "inf", "\"5\"", "true"}) {
    auto s = defaults();
    auto r = apply_toml_text(s, std::string("[agent]\nshutdown_grace_s = ") + text + "\n", "config.toml");
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message.find("agent.shutdown_grace_s"), std::string::npos) << r.error().message;
    EXPECT_EQ(s.shutdown_grace, 5000ms) << text;
  }
}

TEST(ShutdownGraceSetting, OverrideWins) {
  auto s = defaults();
  ASSERT_TRUE(apply_toml_text(s, "[agent]\nshutdown_grace_s = 20\n", "config.toml"));
  SettingOverrides o;
  o.shutdown_grace = 1500ms;
  apply_overrides(s, o);
  EXPECT_EQ(s.shutdown_grace, 1500ms);
}

}  // namespace
}  // namespace stargate::agent
