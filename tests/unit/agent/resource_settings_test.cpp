// The [resources] settings (the libp2p resource manager's limits) through the chain.
#include "agent/settings.hpp"
#include "env_support.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace stargate::agent {
namespace {

using testing::Env;
using testing::getenv_from;

TEST(ResourceSettings, FileAndEnvironmentSetScopesAndMemoryInMiB) {
  auto s = defaults();
  EXPECT_EQ(s.resources.max_connections, ResourceLimits{}.max_connections);
  auto r = apply_toml_text(s,
                           "[resources]\nmax_streams = 100\nmax_memory_mb = 64\n"
                           "[resources.service.a2a]\nstreams_per_peer = 4\nmemory_mb = 8\n"
                           "[resources.protocol.\"/stargate/kad/1.0.0\"]\nstreams = 7\n",
                           "test.toml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(s.resources.max_streams, 100u);
  EXPECT_EQ(s.resources.max_memory, 64 * kMiB);
  const auto& a2a = s.resources.service("a2a");
  EXPECT_EQ(a2a.streams_per_peer, 4u);
  EXPECT_EQ(a2a.memory, 8 * kMiB);
  EXPECT_EQ(a2a.streams, ResourceLimits{}.service_default.streams);  // unset: the default
  EXPECT_EQ(s.resources.protocol("/stargate/kad/1.0.0").streams, 7u);
  EXPECT_EQ(s.resources.protocol("/other/1.0.0").streams, ResourceLimits{}.protocol_default.streams);

  Env env{{"STARGATE_RESOURCES_MAX_STREAMS", "200"}, {"STARGATE_RESOURCES_MAX_MEMORY_PER_PEER_MB", "16"}};
  ASSERT_TRUE(apply_environment(s, getenv_from(env)));
  EXPECT_EQ(s.resources.max_streams, 200u);
  EXPECT_EQ(s.resources.max_memory_per_peer, 16 * kMiB);
  EXPECT_EQ(s.resources.max_memory, 64 * kMiB);  // not given: left alone
}

TEST(ResourceSettings, BadValuesAreClearErrors) {
  auto s = defaults();
  auto r = apply_toml_text(s, "[resources]\nmax_streams = 0\n", "test.toml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("resources.max_streams must be between 1 and"), std::string::npos) << r.error().message;

  r = apply_toml_text(s, "[resources]\nmax_sockets = 3\n", "test.toml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("max_sockets"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("max_streams_per_peer"), std::string::npos) << r.error().message;

  r = apply_toml_text(s, "[resources.service.a2a]\nstreamz = 3\n", "test.toml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("streamz"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("streams_per_peer, memory_mb"), std::string::npos) << r.error().message;

  r = apply_toml_text(s, "[resources]\nservice = 3\n", "test.toml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("a table of tables"), std::string::npos) << r.error().message;

  Env env{{"STARGATE_RESOURCES_MAX_CONNECTIONS", "lots"}};
  auto e = apply_environment(s, getenv_from(env));
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("STARGATE_RESOURCES_MAX_CONNECTIONS"), std::string::npos) << e.error().message;
}

}  // namespace
}  // namespace stargate::agent
