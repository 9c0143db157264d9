#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"stargate: a peer-to-peer network for AI agents"};
  CLI11_PARSE(app, argc, argv);
  return 0;
}
