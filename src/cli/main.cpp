// `stargate`: the command-line front end (CLI11).
#include "cli/common.hpp"

#include <iostream>

int main(int argc, char** argv) {
  using namespace stargate::cli;
  CLI::App app{"stargate: a peer-to-peer network for AI agents"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "stargate 0.1.0");
  GlobalOptions options;
  add_global_options(app, options);
  register_identity_commands(app, options);
  register_node_command(app, options);
  register_ping_command(app, options);
  register_agent_commands(app, options);
  register_relay_command(app, options);
  register_demo_command(app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const CliError& e) {
    if (*e.what()) std::cerr << "stargate: " << e.what() << "\n";
    return e.code;
  } catch (const std::exception& e) {
    std::cerr << "stargate: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
