#pragma once
// The node's identity key on disk, and libp2p's protobuf private-key form for import/export.
//
// Location: `<dir>/identity.key`, where <dir> is, in this order: an explicit path (the --identity-dir
// flag), $STARGATE_IDENTITY_DIR, $HOME/.stargate. The directory is created with mode 0700, the file
// with mode 0600.
//
// File format (text, version 1; see docs/identity.md):
//
//     stargate-identity-v1
//     # comment lines (starting with '#') and blank lines are ignored
//     ed25519:<64 lowercase hex characters: the 32-byte RFC 8032 seed>
//
// The first line must be exactly the version line; exactly one `ed25519:` line must follow. Writers
// add comment lines with the PeerId and agent ID for humans; readers never trust them.
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/ed25519.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace stargate::crypto {

inline constexpr std::string_view kIdentityFileName = "identity.key";
inline constexpr std::string_view kIdentityFileVersionLine = "stargate-identity-v1";
inline constexpr const char* kIdentityDirEnv = "STARGATE_IDENTITY_DIR";

struct IdentityPaths {
  std::filesystem::path dir;
  std::filesystem::path key_file() const { return dir / kIdentityFileName; }
};

// flag > $STARGATE_IDENTITY_DIR (if non-empty) > $HOME/.stargate (HOME falling back to the passwd
// entry). Throws ErrorException only if no home directory can be found at all and nothing else is set.
IdentityPaths resolve_identity_dir(std::optional<std::filesystem::path> flag);

// An identity directory we may trust: ok if `dir` does not exist (it will be created with mode 0700);
// otherwise it must be a directory (a symlink to one is followed), owned by us (the effective uid) or
// root, and not writable by group or others: whoever can write it can replace the key or plant a
// control socket. The error names the directory and the fix (`chmod 700 <dir>`, `chown`).
Result<void> check_identity_dir(const std::filesystem::path& dir);

// The text of an identity file for `key` (holds the secret: wipe it after use).
std::string format_identity_file(const Ed25519PrivateKey& key);
// Parses identity-file text; `path` only names the file in error messages.
Result<Ed25519PrivateKey> parse_identity_file(std::string_view text, const std::filesystem::path& path);

// ok(nullopt): no file at `path` (the caller may create one and should say so). An error for anything
// else that stops us using the file: its directory fails check_identity_dir (checked first, also when
// the file is missing), unreadable, a symlink (never followed: opened with O_NOFOLLOW), not a regular
// file (a FIFO or device is refused at once: opened with O_NONBLOCK, then fstat'ed), readable or
// writable by group or others (the message says `chmod 600 <path>`), or corrupt (the message names
// the path and the fault). A bad file is never replaced silently.
Result<std::optional<Ed25519PrivateKey>> load_identity(const std::filesystem::path& path);

// Writes `contents` to `path` atomically with mode 0600 (temp file, fsync, rename/link, fsync dir);
// without `overwrite`, an existing file is an error that says to use --force.
Result<void> write_private_file(const std::filesystem::path& path, std::string_view contents, bool overwrite);
// Writes atomically: a temporary file created with O_EXCL and mode 0600 in the same directory, fsync,
// then renamed (overwrite) or hard-linked (no overwrite, so a file that appears meanwhile is not
// clobbered) into place, then the directory is fsynced. Creates the parent directory (mode 0700) if
// missing, and refuses one that fails check_identity_dir before writing anything. Without
// `overwrite`, an existing file is an error that says to use --force.
Result<void> save_identity(const std::filesystem::path& path, const Ed25519PrivateKey& key, bool overwrite);

// Loads paths.key_file(), or creates a new identity there if there is no file (created = true). A
// directory that fails check_identity_dir is refused before any key is created.
Result<Ed25519PrivateKey> load_or_create_identity(const IdentityPaths& paths, bool& created);

// libp2p's PrivateKey protobuf (peer-ids spec): Type = Ed25519, Data = seed || public key (64 bytes),
// as go-libp2p and js-libp2p store keys. The result holds the secret: wipe it after use.
Bytes export_libp2p_private_key(const Ed25519PrivateKey& key);
// Accepts Data of 32 bytes (seed), 64 bytes (seed || public) or 96 bytes (the spec's legacy
// seed || public || public); the embedded public key(s) must match the one derived from the seed.
Result<Ed25519PrivateKey> import_libp2p_private_key(BytesView proto);

}  // namespace stargate::crypto
