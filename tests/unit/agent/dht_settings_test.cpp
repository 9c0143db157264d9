// The [dht] settings through the chain: config file, environment, flags, validation.
#include "agent/settings.hpp"
#include "env_support.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace stargate::agent {
namespace {

using testing::Env;
using testing::getenv_from;

TEST(DhtSettings, DefaultsFileEnvironmentAndOverrides) {
  auto s = defaults();
  EXPECT_EQ(s.dht_mode, "auto");
  EXPECT_TRUE(s.bootstrap.empty());
  EXPECT_EQ(s.dht_protocol, "/stargate/kad/1.0.0");

  auto r = apply_toml_text(s, "[dht]\nmode = \"server\"\nbootstrap = [\"/ip4/1.2.3.4/tcp/4001/p2p/X\"]\n"
                              "protocol = \"/ipfs/kad/1.0.0\"\n", "test.toml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(s.dht_mode, "server");
  EXPECT_EQ(s.bootstrap, std::vector<std::string>{"/ip4/1.2.3.4/tcp/4001/p2p/X"});
  EXPECT_EQ(s.dht_protocol, "/ipfs/kad/1.0.0");

  Env env{{"STARGATE_DHT_MODE", " client "}, {"STARGATE_BOOTSTRAP", "/ip4/5.6.7.8/tcp/1/p2p/A, /ip4/5.6.7.9/tcp/1/p2p/B"}};
  ASSERT_TRUE(apply_environment(s, getenv_from(env)));
  EXPECT_EQ(s.dht_mode, "client");
  EXPECT_EQ(s.bootstrap.size(), 2u);

  SettingOverrides flags;
  flags.dht_mode = "off";
  apply_overrides(s, flags);
  EXPECT_EQ(s.dht_mode, "off");
  EXPECT_EQ(s.bootstrap.size(), 2u);  // not given: left alone
  EXPECT_TRUE(validate(s));
}

TEST(DhtSettings, BadValuesAreClearErrors) {
  auto s = defaults();
  s.dht_mode = "sometimes";
  auto r = validate(s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("unknown DHT mode 'sometimes'"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("--dht-mode"), std::string::npos);

  s = defaults();
  s.dht_protocol = "kad";
  EXPECT_FALSE(validate(s));

  s = defaults();
  auto unknown = apply_toml_text(s, "[dht]\nbucket_size = 3\n", "test.toml");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("mode, bootstrap, protocol"), std::string::npos) << unknown.error().message;
}

TEST(DhtSettings, DisjointPathsFromFileAndEnvironment) {
  auto s = defaults();
  EXPECT_EQ(s.dht_disjoint_paths, 1u);
  ASSERT_TRUE(apply_toml_text(s, "[dht]\ndisjoint_paths = 4\n", "test.toml"));
  EXPECT_EQ(s.dht_disjoint_paths, 4u);
  Env env{{"STARGATE_DHT_DISJOINT_PATHS", "2"}};
  ASSERT_TRUE(apply_environment(s, getenv_from(env)));
  EXPECT_EQ(s.dht_disjoint_paths, 2u);
  EXPECT_TRUE(validate(s));

  auto file = defaults();
  auto too_many = apply_toml_text(file, "[dht]\ndisjoint_paths = 9\n", "test.toml");
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.error().message.find("between 1 and 8"), std::string::npos) << too_many.error().message;
  Env bad{{"STARGATE_DHT_DISJOINT_PATHS", "0"}};
  auto zero = apply_environment(file, getenv_from(bad));
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("STARGATE_DHT_DISJOINT_PATHS"), std::string::npos) << zero.error().message;
}

}  // namespace
}  // namespace stargate::agent
