// `stargate demo`: the README's first command. One process starts a small local network
// (demo_network.hpp: a private nats-server when installed, two relays, three agents) and shows
// discovery, a call over each tier, the primary relay killed and the calls carrying on through the
// backup, then the backup killed too and the calls carrying on over NATS, and the calls by tier.
// Human lines, or with --json one JSON object per event. Exits 0 only if every call succeeded.
#include "cli/common.hpp"
#include "cli/demo_network.hpp"
#include "cli/demo_report.hpp"

#include <boost/json.hpp>

#include <cmath>

namespace stargate::cli {
namespace {

namespace json = boost::json;
using p2p::awaitable;
using Clock = std::chrono::steady_clock;

struct DemoFlags {
  bool json = false;
  bool no_nats = false;
};

constexpr auto kCallTimeout = std::chrono::seconds(5);
constexpr auto kReservationTimeout = std::chrono::seconds(10);
constexpr int kCallsPerStep = 3;

double ms_since(Clock::time_point start) {
  auto ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return std::round(ms * 10) / 10;
}

// The tier a successful call took: the counter of the caller's status that moved.
std::string tier_taken(const NodeStatus& before, const NodeStatus& after) {
  if (after.calls_ok_direct != before.calls_ok_direct) return "direct";
  if (after.calls_ok_relayed != before.calls_ok_relayed) return "relay";
  if (after.calls_ok_nats != before.calls_ok_nats) return "nats";
  return "unknown";
}

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

// The steps, in order; every call goes from alice. Problems are collected, not thrown, so that the
// summary still comes.
class DemoSteps {
 public:
  DemoSteps(DemoNetwork& net, const DemoReport& report) : net_(net), report_(report) {}

  awaitable<void> run(const std::string& nats_skipped) {
    report_.section("reachability: carol reserves a slot on both relays");
    auto waited = co_await net_.wait_for_reservations(kReservationTimeout);
    reservations(waited);

    if (net_.has_nats()) {
      report_.section("discovery (signed announcements over NATS)");
      co_await discovery();
    } else {
      skipped("discovery", "needs NATS: " + nats_skipped);
    }

    report_.section("a call over each tier (forced with CallOptions::via)");
    co_await call(net_.bob, target_direct(net_.bob), Via::direct);
    // By carol's circuit address through the primary relay: the next step kills the relay that
    // alice's connection to carol goes through.
    co_await call(net_.carol, net_.carol.circuit_addrs_through(net_.primary()).at(0), Via::relay);
    if (net_.has_nats())
      co_await call(net_.bob, "bob", Via::nats);
    else
      skipped("call over nats", nats_skipped);

    report_.section("the primary relay dies; alice keeps calling carol (any tier: the cascade)");
    kill("primary", net_.primary());
    for (int i = 0; i < kCallsPerStep; ++i) co_await call(net_.carol, target_any(net_.carol), Via::any);

    if (net_.has_nats()) {
      report_.section("the backup relay dies too; the calls carry on over NATS");
      kill("backup", net_.backup());
      for (int i = 0; i < kCallsPerStep; ++i) co_await call(net_.carol, target_any(net_.carol), Via::any);
    } else {
      skipped("fallback to nats after both relays die", nats_skipped);
    }
  }

  // Calls by tier and outcome (alice's status), requests served, problems. True when all went well.
  bool summary(Clock::time_point started, const std::string& nats_skipped) {
    const auto s = net_.alice.node->get_status();
    const auto served_bob = net_.bob.node->get_status().requests_served;
    const auto served_carol = net_.carol.node->get_status().requests_served;
    json::array listed;
    for (const auto& p : problems_) listed.emplace_back(p);
    json::object event{{"event", "summary"},
                       {"ok", problems_.empty()},
                       {"calls", s.calls_sent},
                       {"calls_ok", s.calls_ok},
                       {"calls_failed", s.calls_failed},
                       {"by_tier", json::object{{"direct", s.calls_ok_direct}, {"relay", s.calls_ok_relayed}, {"nats", s.calls_ok_nats}}},
                       {"served", json::object{{"bob", served_bob}, {"carol", served_carol}}},
                       {"nats", net_.has_nats()},
                       {"problems", listed},
                       {"seconds", ms_since(started) / 1000}};
    std::string human = "alice made " + std::to_string(s.calls_sent) + " calls: " + std::to_string(s.calls_ok) +
                        " ok (direct " + std::to_string(s.calls_ok_direct) + ", relay " + std::to_string(s.calls_ok_relayed) +
                        ", nats " + std::to_string(s.calls_ok_nats) + "), " + std::to_string(s.calls_failed) + " failed\n" +
                        "requests served: bob " + std::to_string(served_bob) + ", carol " + std::to_string(served_carol) + "\n";
    if (!net_.has_nats()) human += "the NATS tier was skipped: " + nats_skipped + "\n";
    if (problems_.empty()) {
      human += "every call succeeded (" + format_ms(ms_since(started)) + " ms in all)";
    } else {
      human += std::to_string(problems_.size()) + " problem(s):";
      for (const auto& p : problems_) human += "\n  " + p;
    }
    report_.section("summary");
    report_.event(event, human);
    return problems_.empty();
  }

 private:
  // Without a broker, peers are named by what libp2p knows: a multiaddr, or a PeerId.
  std::string target_direct(const DemoAgent& to) const { return net_.has_nats() ? to.name : to.direct_addrs().at(0); }
  std::string target_any(const DemoAgent& to) const { return net_.has_nats() ? to.name : to.node->peer_id(); }

  void reservations(std::chrono::milliseconds waited) {
    json::array addrs;
    std::string human = "carol holds both reservations after " + std::to_string(waited.count()) + " ms; she is reachable at";
    for (auto* relay : {&net_.primary(), &net_.backup()}) {
      for (const auto& a : net_.carol.circuit_addrs_through(*relay)) {
        addrs.emplace_back(a);
        human += "\n  " + a;
      }
    }
    report_.event(json::object{{"event", "reservations"}, {"agent", "carol"}, {"ms", waited.count()}, {"addrs", addrs}},
                  human);
  }

  awaitable<void> discovery() {
    const auto start = Clock::now();
    auto peers = co_await net_.alice.node->discover();
    json::array found;
    std::string human = "alice discovers";
    bool bob = false, carol = false;
    for (const auto& p : peers) {
      json::array caps;
      std::string caps_text;
      for (const auto& c : p.capabilities) {
        caps.emplace_back(c);
        caps_text += (caps_text.empty() ? "" : ",") + c;
      }
      found.push_back(json::object{{"name", p.name}, {"agent_id", p.agent_id}, {"capabilities", caps},
                                   {"addresses", p.addresses.size()}});
      human += "\n  " + pad(p.name, 6) + " " + p.agent_id + "  capabilities: " + caps_text + ", " +
               std::to_string(p.addresses.size()) + " libp2p address(es)";
      bob = bob || p.name == "bob";
      carol = carol || p.name == "carol";
    }
    report_.event(json::object{{"event", "discovery"}, {"agent", "alice"}, {"ms", ms_since(start)}, {"found", found}}, human);
    if (!bob || !carol) problems_.push_back("discovery did not find both bob and carol");
  }

  awaitable<void> call(const DemoAgent& to, std::string target, Via via) {
    auto& from = *net_.alice.node;
    json::value params = json::object{{"text", "hello " + to.name}};
    CallOptions options;
    options.timeout = kCallTimeout;
    options.via = via;
    const auto before = from.get_status();
    const auto start = Clock::now();
    std::optional<json::value> result;
    std::string error;
    try {
      result = co_await from.call(target, "shout", params, options);
    } catch (const CallError& e) {
      error = e.what();
    }
    const double ms = ms_since(start);
    const std::string via_text(to_string(via));
    const std::string tier = result ? tier_taken(before, from.get_status()) : via_text;
    json::object event{{"event", "call"}, {"from", "alice"}, {"to", to.name}, {"method", "shout"}, {"via", via_text},
                       {"tier", tier},    {"ok", result.has_value()},       {"ms", ms}};
    std::string human = "alice -> " + pad(to.name, 6) + " shout via " + pad(via_text, 7);
    if (result) {
      event["result"] = *result;
      human += "ok over " + pad(tier, 7) + pad(format_ms(ms) + " ms", 10) + json::serialize(*result);
    } else {
      event["error"] = error;
      human += "FAILED after " + format_ms(ms) + " ms: " + error;
      problems_.push_back("alice -> " + to.name + " via " + via_text + ": " + error);
    }
    report_.event(event, human);
  }

  void kill(const std::string& role, agent::RelayNode& relay) {
    const auto peer = relay.host.peer_id().to_string();
    relay.close();
    report_.event(json::object{{"event", "relay_killed"}, {"relay", role}, {"peer_id", peer}},
                  "relay " + role + " killed (" + peer + ")");
  }

  void skipped(const std::string& step, const std::string& reason) {
    report_.event(json::object{{"event", "skipped"}, {"step", step}, {"reason", reason}},
                  "skipped: " + step + " (" + reason + ")");
  }

  DemoNetwork& net_;
  const DemoReport& report_;
  std::vector<std::string> problems_;
};

awaitable<void> run_demo(boost::asio::io_context& io, const DemoFlags& flags, bool& all_ok) {
  const auto started = Clock::now();
  DemoReport report(flags.json);
  std::optional<std::filesystem::path> nats_binary;
  std::string nats_skipped;
  if (flags.no_nats) {
    nats_skipped = "--no-nats was given";
  } else {
    nats_binary = NatsChild::find_binary();
    if (!nats_binary) nats_skipped = "nats-server is not installed (apt-get install nats-server)";
  }
  report.section("a local network: " + std::string(nats_binary ? "a NATS broker, " : "") + "two relays, three agents");
  if (!nats_binary) {
    report.event(json::object{{"event", "skipped"}, {"step", "nats"}, {"reason", nats_skipped}},
                 "NATS tier skipped: " + nats_skipped + "; calls go over libp2p only");
  }
  DemoNetwork net(io.get_executor());
  DemoSteps steps(net, report);
  std::exception_ptr failure;
  try {
    co_await net.start(nats_binary, report);
    co_await steps.run(nats_skipped);
    all_ok = steps.summary(started, nats_skipped);
  } catch (const std::exception& e) {
    report.event(json::object{{"event", "error"}, {"message", e.what()}}, std::string("demo failed: ") + e.what());
    failure = std::current_exception();
  }
  co_await net.stop();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

void register_demo_command(CLI::App& app, GlobalOptions& options) {
  auto flags = std::make_shared<DemoFlags>();
  auto* demo = app.add_subcommand(
      "demo", "Run a small local network (relays, agents, nats-server when installed) and show each tier and a relay failing");
  demo->add_flag("--json", flags->json, "One JSON object per event (the last one: {\"event\":\"summary\",…})");
  demo->add_flag("--no-nats", flags->no_nats, "Do not start a nats-server: libp2p only (direct and relay tiers)");
  demo->callback([&options, flags, &app] {
    // The demo's own lines tell the story: the nodes' warnings (a relay gone, say) are expected here.
    GlobalOptions quiet = options;
    if (app.get_option("--log-level")->count() == 0) quiet.log_level = "error";
    apply_logging(quiet);
    bool all_ok = false;
    run_node_task([&](boost::asio::io_context& io) -> awaitable<void> { co_await run_demo(io, *flags, all_ok); });
    if (!all_ok) throw CliError("demo: some calls failed (see above)");
  });
}

}  // namespace stargate::cli
