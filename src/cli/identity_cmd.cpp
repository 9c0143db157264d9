// `stargate identity generate|show|export|import`
#include "cli/common.hpp"
#include "crypto/key_file.hpp"
#include "crypto/peer_id.hpp"

#include <fstream>
#include <iostream>
#include <iterator>

namespace stargate::cli {
namespace {

void print_identity(const crypto::Ed25519PrivateKey& key, const std::filesystem::path& file, bool json) {
  auto peer_id = crypto::PeerId::from_public_key(key.public_key()).to_string();
  auto agent_id = crypto::agent_id(key.public_key());
  auto public_hex = to_hex(key.public_key().bytes());
  if (json) {
    std::cout << "{\"peer_id\":" << json_quote(peer_id) << ",\"agent_id\":" << json_quote(agent_id)
              << ",\"public_key\":" << json_quote(public_hex) << ",\"key_file\":" << json_quote(file.string())
              << "}\n";
  } else {
    std::cout << "peer_id:    " << peer_id << "\nagent_id:   " << agent_id << "\npublic_key: " << public_hex
              << "\nkey_file:   " << file.string() << "\n";
  }
}

crypto::Ed25519PrivateKey load_existing(const crypto::IdentityPaths& paths) {
  auto key = crypto::load_identity(paths.key_file());
  if (!key) throw CliError(key.error().message);
  if (!*key)
    throw CliError("no identity at " + paths.key_file().string() + " (create one with: stargate identity generate)");
  return std::move(**key);
}

}  // namespace

void register_identity_commands(CLI::App& app, GlobalOptions& options) {
  auto* identity = app.add_subcommand("identity", "Create, show, export or import this agent's Ed25519 identity");
  identity->require_subcommand(1);

  struct State {
    bool force = false;
    bool json = false;
    std::string output = "-";
    std::string input;
  };
  auto state = std::make_shared<State>();

  auto* generate = identity->add_subcommand("generate", "Create a new identity key (mode 0600)");
  generate->add_flag("--force", state->force, "Replace an existing key (its peer ID is lost for good)");
  generate->add_flag("--json", state->json, "Print JSON");
  generate->callback([&options, state] {
    apply_logging(options);
    auto paths = crypto::resolve_identity_dir(options.identity_dir);
    auto key = crypto::Ed25519PrivateKey::generate();
    if (auto saved = crypto::save_identity(paths.key_file(), key, state->force); !saved)
      throw CliError(saved.error().message);
    print_identity(key, paths.key_file(), state->json);
  });

  auto* show = identity->add_subcommand("show", "Print the peer ID, agent ID and public key");
  show->add_flag("--json", state->json, "Print JSON");
  show->callback([&options, state] {
    apply_logging(options);
    auto paths = crypto::resolve_identity_dir(options.identity_dir);
    print_identity(load_existing(paths), paths.key_file(), state->json);
  });

  auto* export_cmd = identity->add_subcommand(
      "export", "Write the private key in libp2p's protobuf form (as go/js/rust-libp2p tools read it)");
  export_cmd->add_option("--output,-o", state->output, "File to write (created with mode 0600), or - for stdout");
  export_cmd->callback([&options, state] {
    apply_logging(options);
    auto paths = crypto::resolve_identity_dir(options.identity_dir);
    auto encoded = crypto::export_libp2p_private_key(load_existing(paths));
    if (state->output == "-") {
      std::cout.write(reinterpret_cast<const char*>(encoded.data()), static_cast<std::streamsize>(encoded.size()));
      return;
    }
    if (auto written = crypto::write_private_file(state->output, as_string(encoded), state->force); !written)
      throw CliError(written.error().message);
  });
  export_cmd->add_flag("--force", state->force, "Overwrite the output file");

  auto* import_cmd = identity->add_subcommand("import", "Read a private key in libp2p's protobuf form");
  import_cmd->add_option("file", state->input, "File to read, or - for stdin")->required();
  import_cmd->add_flag("--force", state->force, "Replace an existing key");
  import_cmd->add_flag("--json", state->json, "Print JSON");
  import_cmd->callback([&options, state] {
    apply_logging(options);
    Bytes encoded;
    if (state->input == "-") {
      encoded.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      std::ifstream in(state->input, std::ios::binary);
      if (!in) throw CliError("cannot read " + state->input);
      encoded.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    auto key = crypto::import_libp2p_private_key(encoded);
    if (!key) throw CliError("import: " + key.error().message);
    auto paths = crypto::resolve_identity_dir(options.identity_dir);
    if (auto saved = crypto::save_identity(paths.key_file(), *key, state->force); !saved)
      throw CliError(saved.error().message);
    print_identity(*key, paths.key_file(), state->json);
  });
}

}  // namespace stargate::cli
