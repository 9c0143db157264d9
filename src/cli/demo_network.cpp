#include "cli/demo_network.hpp"

#include <boost/json.hpp>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace stargate::cli {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using p2p::awaitable;

std::filesystem::path make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "stargate-demo-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
  return pattern;
}

// Every agent answers `shout`: {"text": "hi"} -> {"agent": NAME, "text": "HI"}.
Handler shout_handler(std::string name) {
  return [name](const json::value& params, const CallContext&) -> awaitable<json::value> {
    const auto* text = params.is_object() ? params.as_object().if_contains("text") : nullptr;
    if (!text || !text->is_string()) throw CallError(-32602, "params need a \"text\" string");
    std::string upper(text->as_string());
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    co_return json::object{{"agent", name}, {"text", upper}};
  };
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

std::string relay_address(const agent::RelayNode& relay) {
  return relay.host.listen_addrs().at(0).to_string() + "/p2p/" + relay.host.peer_id().to_string();
}

std::vector<std::string> DemoAgent::direct_addrs() const {
  std::vector<std::string> out;
  for (const auto& addr : node->get_status().addresses)
    if (addr.find("/p2p-circuit") == std::string::npos) out.push_back(addr);
  return out;
}

std::vector<std::string> DemoAgent::circuit_addrs_through(const agent::RelayNode& relay) const {
  const auto prefix = relay_address(relay) + "/p2p-circuit/";
  std::vector<std::string> out;
  for (const auto& addr : node->get_status().addresses)
    if (addr.rfind(prefix, 0) == 0) out.push_back(addr);
  return out;
}

DemoNetwork::DemoNetwork(p2p::asio::any_io_executor executor) : executor_(std::move(executor)), dir_(make_temp_dir()) {}

DemoNetwork::~DemoNetwork() {
  // Agents first, then the relays and the broker they used, then their directory.
  for (auto* agent : {&carol, &bob, &alice}) agent->node.reset();
  backup_.reset();
  primary_.reset();
  nats_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::unique_ptr<agent::RelayNode> DemoNetwork::start_relay() {
  // Limits of a public relay (`stargate relay start`'s defaults).
  auto relay = std::make_unique<agent::RelayNode>(executor_, crypto::Ed25519PrivateKey::generate(), p2p::relay::RelayServiceOptions{});
  relay->host.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
  return relay;
}

DemoAgent DemoNetwork::make_agent(std::string name, std::vector<std::string> capabilities, std::vector<std::string> listen,
                                  std::vector<std::string> relays) {
  NodeOptions options;
  options.display_name = name;
  options.capabilities = std::move(capabilities);
  options.identity_dir = dir_ / name;
  options.use_nats = has_nats();
  if (nats_) options.nats_urls = {nats_->url()};
  options.listen_addrs = std::move(listen);
  options.relays = std::move(relays);
  options.default_call_timeout = std::chrono::seconds(5);
  DemoAgent agent{name, std::make_unique<StarGateNode>(executor_, std::move(options))};
  agent.node->handle("shout", shout_handler(name));
  return agent;
}

awaitable<void> DemoNetwork::start(std::optional<std::filesystem::path> nats_binary, const DemoReport& report) {
  if (nats_binary) {
    auto nats_dir = dir_ / "nats";
    std::filesystem::create_directories(nats_dir);
    nats_ = co_await NatsChild::start(*nats_binary, nats_dir, std::chrono::seconds(5));
    report.event(json::object{{"event", "nats_up"}, {"url", nats_->url()}},
                 "nats-server    " + nats_->url() + " (a private broker, for this demo only)");
  }
  primary_ = start_relay();
  backup_ = start_relay();
  for (auto* relay : {primary_.get(), backup_.get()}) {
    const std::string role = relay == primary_.get() ? "primary" : "backup";
    report.event(json::object{{"event", "relay_up"}, {"relay", role}, {"peer_id", relay->host.peer_id().to_string()},
                              {"addr", relay_address(*relay)}},
                 "relay " + role + std::string(role == "primary" ? "  " : "   ") + relay_address(*relay));
  }
  const std::string loopback = "/ip4/127.0.0.1/tcp/0";
  alice = make_agent("alice", {"chat"}, {loopback}, {});
  bob = make_agent("bob", {"shout"}, {loopback}, {});
  carol = make_agent("carol", {"shout"}, {}, {relay_address(*primary_), relay_address(*backup_)});
  for (auto* agent : {&alice, &bob, &carol}) {
    co_await agent->node->start();
    auto direct = agent->direct_addrs();
    json::array addrs;
    for (const auto& a : direct) addrs.emplace_back(a);
    std::string where = direct.empty() ? "listens nowhere: reserves a slot on both relays" : "listens on " + join(direct);
    report.event(json::object{{"event", "agent_up"},
                              {"agent", agent->name},
                              {"peer_id", agent->node->peer_id()},
                              {"agent_id", agent->node->agent_id()},
                              {"addrs", addrs}},
                 "agent " + agent->name + std::string(9 - agent->name.size(), ' ') + agent->node->peer_id() + "\n" +
                     std::string(15, ' ') + where);
  }
}

awaitable<std::chrono::milliseconds> DemoNetwork::wait_for_reservations(std::chrono::milliseconds timeout) {
  const auto start = std::chrono::steady_clock::now();
  asio::steady_timer poll(executor_);
  for (;;) {
    std::size_t active = 0;
    std::string errors;
    for (const auto& r : carol.node->get_status().reservations) {
      if (r.active) ++active;
      if (!r.last_error.empty()) errors += (errors.empty() ? "" : "; ") + r.last_error;
    }
    // Active, and announced: her circuit addresses are what callers dial.
    if (active == 2 && carol.circuit_addrs_through(*primary_).size() == 1 && carol.circuit_addrs_through(*backup_).size() == 1)
      co_return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (std::chrono::steady_clock::now() - start >= timeout)
      throw std::runtime_error("carol holds " + std::to_string(active) + " of 2 relay reservations after " +
                               std::to_string(timeout.count()) + " ms" + (errors.empty() ? "" : ": " + errors));
    poll.expires_after(std::chrono::milliseconds(10));
    co_await poll.async_wait(p2p::use_awaitable);
  }
}

awaitable<void> DemoNetwork::stop() {
  for (auto* agent : {&carol, &bob, &alice})
    if (agent->node) co_await agent->node->stop();
  for (auto* relay : {primary_.get(), backup_.get()})
    if (relay) relay->close();
}

}  // namespace stargate::cli
