// Gossipsub against js-libp2p (@libp2p/gossipsub 17.1.1, StrictSign): a js peer dials a Stargate
// host, both subscribe to one topic, and messages travel both ways.
#include "p2p/protocols/gossipsub/gossipsub_io.hpp"
#include "integration/host_test_support.hpp"
#include "interop/js_process.hpp"

namespace stargate::p2p::gossipsub {
namespace {

using namespace std::chrono_literals;
using namespace stargate::testing;

class GossipsubWithJs : public JsInteropTest {};

TEST_F(GossipsubWithJs, MessagesTravelBothWays) {
  auto& io = io_;
  TestNode node(io);
  GossipsubOptions options;
  options.router.heartbeat_interval = 200ms;
  auto service = GossipsubService::enable(node.host, options);
  int from_js = 0;
  service->subscribe("interop", [&](const Message& m) {
    if (as_string(m.data).rfind("from-js", 0) == 0) ++from_js;
  });
  JsPeer js({"gossip", node.full_addr().to_string(), "interop", "--ignore-stdin"});
  run_with_timeout(io, [&]() -> awaitable<void> {
    bool got = co_await wait_until([&] { return from_js > 0; }, 30s);
    CO_ASSERT_TRUE(got);
    // The js peer is in our view of the topic; our messages reach it.
    bool echoed = false;
    for (int i = 0; i < 100 && !echoed; ++i) {
      auto id = service->publish("interop", to_bytes("from-cpp " + std::to_string(i)));
      CO_ASSERT_TRUE(id.has_value());
      echoed = co_await wait_until([&] { return js.wait_event("message", 0ms, [](const boost::json::object& o) {
                                      return json_string(o, "data").rfind("from-cpp", 0) == 0;
                                    }).has_value(); },
                                   200ms);
    }
    CO_ASSERT_TRUE(echoed);
    EXPECT_EQ(service->stats().router.rejected[static_cast<std::size_t>(Rejection::bad_signature)], 0u);
    EXPECT_FALSE(service->peers("interop").empty());
    service->close();
    node.host.close();
  }, 60s);
}

}  // namespace
}  // namespace stargate::p2p::gossipsub
