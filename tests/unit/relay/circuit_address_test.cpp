#include "p2p/protocols/relay/circuit_address.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::relay {
namespace {

const std::string kRelay = "12D3KooWGsUPE814N8ons6XNM8C7iuEneGBTDxW92NazvBP4eXiu";
const std::string kPeer = "12D3KooW9zKqRQ16BtBsH9WaGRWkYTyntc34fV9btSDdXvCZNDJP";

Multiaddr ma(const std::string& text) { return Multiaddr::parse(text).value(); }

TEST(CircuitAddress, SplitsRelayAndDestination) {
  auto parsed = parse_circuit_address(ma("/ip4/198.51.100.1/tcp/4001/p2p/" + kRelay + "/p2p-circuit/p2p/" + kPeer));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->relay_addr.to_string(), "/ip4/198.51.100.1/tcp/4001/p2p/" + kRelay);
  EXPECT_EQ(parsed->relay.to_string(), kRelay);
  ASSERT_TRUE(parsed->destination);
  EXPECT_EQ(parsed->destination->to_string(), kPeer);
  // A listen address: nothing after /p2p-circuit.
  auto listen = parse_circuit_address(ma("/ip4/198.51.100.1/tcp/4001/p2p/" + kRelay + "/p2p-circuit"));
  ASSERT_TRUE(listen);
  EXPECT_FALSE(listen->destination);
}

TEST(CircuitAddress, RefusesWhatCannotBeDialed) {
  auto error_of = [](const std::string& text) {
    auto parsed = parse_circuit_address(ma(text));
    return parsed ? std::string() : parsed.error().message;
  };
  EXPECT_NE(error_of("/ip4/1.2.3.4/tcp/1/p2p/" + kPeer).find("no /p2p-circuit"), std::string::npos);
  EXPECT_NE(error_of("/p2p-circuit/p2p/" + kPeer).find("relay's address"), std::string::npos);
  EXPECT_NE(error_of("/ip4/1.2.3.4/tcp/1/p2p-circuit/p2p/" + kPeer).find("/p2p/<relay>"), std::string::npos);
  EXPECT_NE(error_of("/ip4/1.2.3.4/tcp/1/p2p/" + kRelay + "/p2p-circuit/tcp/5").find("only /p2p/<peer>"),
            std::string::npos);
  EXPECT_NE(error_of("/ip4/1.2.3.4/tcp/1/p2p/" + kRelay + "/p2p-circuit/p2p/" + kRelay).find("its own"),
            std::string::npos);
}

TEST(CircuitListenAddrs, DialedAddressFirstThenTheRelaysOwnWithoutLoopback) {
  auto relay = crypto::PeerId::parse(kRelay).value();
  auto dialed = ma("/ip4/198.51.100.1/tcp/4001/p2p/" + kRelay);
  std::vector<Multiaddr> reported{ma("/ip4/127.0.0.1/tcp/4001/p2p/" + kRelay), ma("/ip4/198.51.100.1/tcp/4001"),
                                  ma("/ip6/2001:db8::1/tcp/4001"), ma("/ip4/192.0.2.7/tcp/4001/p2p/" + kPeer)};
  auto addrs = circuit_listen_addrs(dialed, reported, relay);
  std::vector<std::string> text;
  for (const auto& a : addrs) text.push_back(a.to_string());
  EXPECT_EQ(text, (std::vector<std::string>{"/ip4/198.51.100.1/tcp/4001/p2p/" + kRelay + "/p2p-circuit",
                                            "/ip6/2001:db8::1/tcp/4001/p2p/" + kRelay + "/p2p-circuit"}));
  // A relay dialed on loopback (tests, one machine) keeps its loopback addresses.
  auto local = circuit_listen_addrs(ma("/ip4/127.0.0.1/tcp/4001/p2p/" + kRelay), reported, relay);
  EXPECT_EQ(local.front().to_string(), "/ip4/127.0.0.1/tcp/4001/p2p/" + kRelay + "/p2p-circuit");
}

}  // namespace
}  // namespace stargate::p2p::relay
