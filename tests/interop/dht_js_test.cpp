// The Kademlia DHT against js-libp2p (@libp2p/kad-dht on /ipfs/kad/1.0.0), both ways round: the
// js node finds our provider record, and we find the js node's. Provider keys are the sha2-256
// multihash of a name, which js-libp2p sees as the CID's multihash.
#include "crypto/sha256.hpp"
#include "p2p/protocols/kad/kad_io.hpp"
#include "integration/host_test_support.hpp"
#include "interop/js_process.hpp"

namespace stargate::p2p::kad {
namespace {

using namespace std::chrono_literals;
using namespace stargate::testing;

class DhtWithJs : public JsInteropTest {};

Bytes sha256_multihash(std::string_view name) {
  const auto digest = crypto::sha256(as_bytes(name));
  Bytes key{0x12, 0x20};
  key.insert(key.end(), digest.begin(), digest.end());
  return key;
}

TEST_F(DhtWithJs, ProviderRecordsAreFoundBothWays) {
  TestNode ours(io_);
  DhtOptions options;
  options.protocol = std::string(kIpfsProtocol);
  options.mode = DhtMode::server;
  options.rpc_timeout = 5s;
  options.query_timeout = 15s;
  auto dht = Dht::enable(ours.host, *ours.identify, options);
  JsPeer js({"dht", "--ignore-stdin", "--provide-key", "stargate-interop-js", "--find-key", "stargate-interop-cpp"});
  run_with_timeout(io_, [&]() -> awaitable<void> {
    bool started = co_await wait_until([&] { return js.wait_event("listening", 0ms).has_value(); }, 30s);
    CO_ASSERT_TRUE(started);
    const auto listening = *js.wait_event("listening", 0ms);
    const std::string js_id = json_string(listening, "peer_id");
    auto js_addr = Multiaddr::parse(json_strings(listening, "addrs").front()).value();

    // We join through the js node: it answers FIND_NODE, and identify tells it we are a server.
    dht->add_bootstrap(js_addr);
    EXPECT_EQ(co_await dht->bootstrap(), 1u);
    EXPECT_NE(dht->routing_table().find(crypto::PeerId::parse(js_id).value()), nullptr);

    // Ours -> js: our ADD_PROVIDER is stored by the js node, which then finds us as provider.
    auto told = co_await dht->provide(sha256_multihash("stargate-interop-cpp"));
    EXPECT_EQ(told, 1u);
    bool found_by_js = co_await wait_until([&] {
      return js.wait_event("found", 0ms, [&](const boost::json::object& e) {
        return json_string(e, "peer_id") == ours.host.peer_id().to_string();
      }).has_value();
    }, 30s);
    EXPECT_TRUE(found_by_js);

    // js -> ours: the js node provides once we are in its routing table; we find it.
    bool provided = co_await wait_until([&] { return js.wait_event("provided", 0ms).has_value(); }, 30s);
    CO_ASSERT_TRUE(provided);
    auto result = co_await dht->find_providers(sha256_multihash("stargate-interop-js"), 1);
    CO_ASSERT_TRUE(result.providers.size() == 1u);
    EXPECT_EQ(result.providers[0].id.to_string(), js_id);
    EXPECT_EQ(dht->counters().requests_refused, 0u);
    dht->close();
  }, 90s);
}

}  // namespace
}  // namespace stargate::p2p::kad
