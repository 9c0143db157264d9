// `stargate relay start`: a public Circuit Relay v2 relay and bootstrap node. Its identity is the
// one in the identity directory (persistent: bootstrap addresses embed its PeerId).
#include "agent/relay_node.hpp"
#include "agent/settings.hpp"
#include "cli/common.hpp"
#include "base/log.hpp"

#include <boost/asio/steady_timer.hpp>

#include <set>

#include <iostream>

namespace stargate::cli {
namespace {

struct RelayFlags {
  int port = 4001;
  std::vector<std::string> listen;
  std::vector<std::string> bootstrap;
  std::vector<std::string> announce;
  std::vector<std::string> allow;
  std::vector<std::string> treat_as_public;
  bool private_relay = false;
  bool json = false;
  double log_interval = 60;
  double shutdown_grace = static_cast<double>(kDefaultShutdownGrace.count()) / 1000;
  std::string metrics_listen = std::string(http::kDefaultListenAddress);
  // Limits: unset ones keep the defaults (go-libp2p's, or the private relay's with --private).
  std::optional<std::size_t> max_reservations, max_reservations_per_peer, max_reservations_per_ip,
      max_circuits_per_peer;
  std::size_t max_circuits = 1024;  // the relay service's resource scope (docs/limits.md)
  std::optional<long> reservation_ttl, circuit_duration;
  std::optional<std::uint64_t> circuit_bytes;
};

p2p::relay::RelayLimits limits_from(const RelayFlags& f) {
  auto limits = f.private_relay ? p2p::relay::RelayLimits::private_relay() : p2p::relay::RelayLimits::public_relay();
  if (f.max_reservations) limits.max_reservations = *f.max_reservations;
  if (f.max_reservations_per_peer) limits.max_reservations_per_peer = *f.max_reservations_per_peer;
  if (f.max_reservations_per_ip) limits.max_reservations_per_ip = *f.max_reservations_per_ip;
  if (f.max_circuits_per_peer) limits.max_circuits_per_peer = *f.max_circuits_per_peer;
  // Range-checked (agent::checked_seconds): a huge value would overflow the clock arithmetic.
  auto seconds = [](const char* flag, long value, std::chrono::milliseconds min) {
    auto ms = agent::checked_seconds(static_cast<double>(value), min);
    if (!ms) throw CliError(std::string(flag) + " " + ms.error().message, 2);
    return std::chrono::duration_cast<std::chrono::seconds>(*ms);
  };
  if (f.reservation_ttl) limits.reservation_ttl = seconds("--reservation-ttl", *f.reservation_ttl, std::chrono::seconds(1));
  if (f.circuit_duration)  // 0: no limit
    limits.circuit_duration = seconds("--circuit-duration", *f.circuit_duration, std::chrono::seconds(0));
  if (f.circuit_bytes) limits.circuit_bytes = *f.circuit_bytes;
  return limits;
}

}  // namespace

void register_relay_command(CLI::App& app, GlobalOptions& options) {
  auto flags = std::make_shared<RelayFlags>();
  auto* relay = app.add_subcommand("relay", "Run a Circuit Relay v2 relay / bootstrap node");
  relay->require_subcommand(1);
  auto* start = relay->add_subcommand("start", "Serve as a relay until SIGINT/SIGTERM");
  start->add_option("--port,-p", flags->port, "TCP port on every IPv4 and IPv6 address (unless --listen)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  start->add_option("--listen,-l", flags->listen, "Multiaddrs to listen on instead of --port's");
  start->add_option("--announce-addr", flags->announce,
                    "Address to advertise besides the listen ones (the public side of a 1:1 NAT, as on clouds)");
  start->add_flag("--private", flags->private_relay,
                  "Limits for a relay run for one's own peers: no circuit duration or byte limit, many reservations");
  start->add_option("--bootstrap", flags->bootstrap,
                    "Peer to join the DHT through: MULTIADDR ending in /p2p/<peer id> (repeatable; without one, "
                    "others join through this relay)");
  start->add_option("--allow", flags->allow, "Only these PeerIds may reserve or open circuits (repeatable)");
  start->add_option("--treat-as-public", flags->treat_as_public,
                    "CIDR whose addresses count as public for AutoNAT (repeatable; default $STARGATE_TREAT_AS_PUBLIC)")
      ->envname("STARGATE_TREAT_AS_PUBLIC")
      ->delimiter(',');
  start->add_option("--max-reservations", flags->max_reservations, "Reservations in total (default 128)");
  start->add_option("--max-reservations-per-peer", flags->max_reservations_per_peer, "Per peer (default 1)");
  start->add_option("--max-reservations-per-ip", flags->max_reservations_per_ip, "Per IP address (default 8)");
  start->add_option("--max-circuits-per-peer", flags->max_circuits_per_peer, "Circuits a peer may be an end of (default 16)");
  start->add_option("--max-circuits", flags->max_circuits, "Circuits open at once, in total")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  // Duration flags are range-checked by limits_from and the callback (exit code 2), not by CLI11.
  start->add_option("--reservation-ttl", flags->reservation_ttl, "Seconds a reservation lasts (default 3600, at most 86400)");
  start->add_option("--circuit-duration", flags->circuit_duration,
                    "Seconds a circuit may last, 0 = no limit (default 120, at most 86400)");
  start->add_option("--circuit-bytes", flags->circuit_bytes,
                    "Bytes a circuit may carry in each direction, 0 = no limit (default 131072)");
  start->add_option("--log-interval", flags->log_interval, "Seconds between load lines in the log")
      ->capture_default_str();
  start->add_option("--metrics-listen", flags->metrics_listen,
                    "ADDR:PORT for Prometheus /metrics and /healthz (loopback unless you say otherwise; 'off' for none)")
      ->capture_default_str();
  start->add_flag("--json", flags->json, "Print the listening line as JSON");
  add_shutdown_grace_option(start, flags->shutdown_grace);
  start->callback([&options, flags, start] {
    apply_logging(options);
    // Flags first (exit code 2), before an identity is created.
    auto limits = limits_from(*flags);
    auto log_interval = agent::checked_seconds(flags->log_interval);
    if (!log_interval) throw CliError("--log-interval " + log_interval.error().message, 2);
    const auto grace = shutdown_grace(flags->shutdown_grace);
    auto identity = load_or_create_identity(options);
    std::optional<std::set<crypto::PeerId>> allowlist;
    for (const auto& text : flags->allow) {
      auto peer = crypto::PeerId::parse(text);
      if (!peer) throw CliError("--allow " + text + ": " + peer.error().message, 2);
      if (!allowlist) allowlist.emplace();
      allowlist->insert(*peer);
    }
    std::vector<std::string> listen = flags->listen;
    if (listen.empty()) {
      listen = {"/ip4/0.0.0.0/tcp/" + std::to_string(flags->port), "/ip6/::/tcp/" + std::to_string(flags->port)};
    }
    p2p::relay::RelayServiceOptions relay_options;
    relay_options.limits = limits;
    relay_options.allowlist = allowlist;
    // A public relay also answers AutoNAT: the peers that reserve here learn whether they are
    // reachable (it never asks about itself: its addresses are given).
    std::vector<p2p::autonat::Cidr> treat;
    for (const auto& text : flags->treat_as_public) {
      auto cidr = p2p::autonat::Cidr::parse(text);
      if (!cidr) throw CliError("--treat-as-public " + text + ": " + cidr.error().message, 2);
      treat.push_back(*cidr);
    }
    boost::asio::io_context io;
    agent::RelayNode relay(io.get_executor(), std::move(identity), relay_options,
                           p2p::autonat::AddressClassifier(std::move(treat)),
                           agent::relay_resource_limits(flags->max_circuits, relay_options.limits.max_circuits_per_peer));
    auto& host = relay.host;
    std::vector<Multiaddr> listen_addrs;
    for (const auto& text : listen) {
      auto addr = Multiaddr::parse(text);
      if (!addr) throw CliError("--listen: " + addr.error().message, 2);
      listen_addrs.push_back(*addr);
    }
    const auto failures = relay.listen(listen_addrs);
    // Without --listen, a host with no IPv6 still serves on IPv4.
    if (host.listen_addrs().empty() || (!flags->listen.empty() && !failures.empty())) {
      std::string all;
      for (const auto& f : failures) all += (all.empty() ? "" : "; ") + f;
      throw CliError("cannot listen: " + all);
    }
    for (const auto& f : failures) log::module<"relay">()->warn("not listening on {}", f);
    std::vector<Multiaddr> announce;
    for (const auto& text : flags->announce) {
      auto addr = Multiaddr::parse(text);
      if (!addr) throw CliError("--announce-addr: " + addr.error().message, 2);
      announce.push_back(*addr);
    }
    if (!announce.empty()) host.set_external_addrs("announce", announce);

    std::vector<Multiaddr> bootstrap;
    for (const auto& text : flags->bootstrap) {
      auto addr = Multiaddr::parse(text);
      if (!addr || !addr->peer_id_bytes())
        throw CliError("--bootstrap: " + (addr ? text + " does not end in /p2p/<peer id>" : addr.error().message), 2);
      bootstrap.push_back(*addr);
    }
    relay.join_dht(std::move(bootstrap));
    print_listening(host, flags->json);
    if (flags->metrics_listen != "off") {
      try {
        auto bound = relay.serve_metrics(flags->metrics_listen);
        if (flags->json)
          std::cout << "{\"event\":\"metrics\",\"address\":" << json_quote(bound.address().to_string() + ":" + std::to_string(bound.port()))
                    << "}" << std::endl;
      } catch (const std::exception& e) {
        // The default port may be taken by another relay on this host: that is not worth dying for.
        if (start->get_option("--metrics-listen")->count()) throw CliError("--metrics-listen: " + std::string(e.what()));
        log::module<"relay">()->warn("no metrics endpoint: {}", e.what());
      }
    }

    boost::asio::steady_timer load_timer(io);
    std::function<void()> log_load = [&] {
      load_timer.expires_after(*log_interval);
      load_timer.async_wait([&](boost::system::error_code ec) {
        if (ec) return;
        log::module<"relay">()->info("load: {}", relay.load_line());
        log_load();
      });
    };
    log_load();
    const int code = run_until_signal(io, grace, [&] {
      // Draining: Yamux GoAway on every connection tells clients to reserve elsewhere.
      log::module<"relay">()->info("stopping; final load: {}", relay.load_line());
      load_timer.cancel();
      relay.close();  // the metrics endpoint first
    });
    if (code != 0) throw CliError("", code);  // the shutdown was forced (logged)
  });
}

}  // namespace stargate::cli
