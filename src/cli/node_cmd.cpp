// `stargate node --listen MULTIADDR...`: a libp2p node serving identify, ping, perf and echo.
#include "cli/common.hpp"
#include "p2p/host/standard_protocols.hpp"

#include <iostream>

namespace stargate::cli {

void print_listening(const p2p::Host& host, bool json) {
  auto peer_id = host.peer_id().to_string();
  if (json) {
    std::cout << "{\"event\":\"listening\",\"peer_id\":" << json_quote(peer_id) << ",\"addrs\":[";
    bool first = true;
    for (const auto& addr : host.advertised_addrs()) {
      std::cout << (first ? "" : ",") << json_quote(addr.to_string() + "/p2p/" + peer_id);
      first = false;
    }
    std::cout << "]}" << std::endl;
  } else {
    std::cout << "peer_id: " << peer_id << "\n";
    for (const auto& addr : host.advertised_addrs()) std::cout << "listening on " << addr.to_string() << "/p2p/" << peer_id << "\n";
    std::cout << std::flush;
  }
}

void register_node_command(CLI::App& app, GlobalOptions& options) {
  struct State {
    std::vector<std::string> listen{"/ip4/0.0.0.0/tcp/0"};
    bool json = false;
    double shutdown_grace = static_cast<double>(kDefaultShutdownGrace.count()) / 1000;
  };
  auto state = std::make_shared<State>();
  auto* node = app.add_subcommand("node", "Run a libp2p node (identify, ping, perf, echo) until SIGINT/SIGTERM");
  node->add_option("--listen,-l", state->listen, "Multiaddrs to listen on")->capture_default_str();
  node->add_flag("--json", state->json, "Print one JSON object per line");
  add_shutdown_grace_option(node, state->shutdown_grace);
  node->callback([&options, state] {
    apply_logging(options);
    const auto grace = shutdown_grace(state->shutdown_grace);
    auto identity = load_or_create_identity(options);
    boost::asio::io_context io;
    p2p::Host host(io.get_executor(), std::move(identity));
    auto identify = p2p::enable_standard_protocols(host);
    for (const auto& text : state->listen) {
      auto addr = Multiaddr::parse(text);
      if (!addr) throw CliError("--listen: " + addr.error().message, 2);
      try {
        host.listen(*addr);
      } catch (const std::exception& e) {
        throw CliError("cannot listen on " + text + ": " + e.what());
      }
    }
    print_listening(host, state->json);
    if (int code = run_until_signal(io, grace, [&] { host.close(); }); code != 0)
      throw CliError("", code);  // the shutdown was forced (logged)
  });
}

}  // namespace stargate::cli
