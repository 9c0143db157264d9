#include "crypto/key_file.hpp"

#include "crypto/peer_id.hpp"
#include "crypto/random.hpp"
#include "keys.pb.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <system_error>
#include <vector>

namespace stargate::crypto {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kKeyPrefix = "ed25519:";
// A real identity file is ~200 bytes: refuse to slurp anything much bigger.
constexpr std::size_t kMaxIdentityFileSize = 64 * 1024;

std::string errno_text(int err) { return std::generic_category().message(err); }

std::string quoted(const fs::path& p) { return p.string(); }

// Wipes a string's characters before it is freed (it held key material).
struct WipeOnExit {
  std::string& s;
  ~WipeOnExit() { secure_wipe(MutableBytesView(reinterpret_cast<std::uint8_t*>(s.data()), s.size())); }
};
struct WipeBytesOnExit {
  Bytes& b;
  ~WipeBytesOnExit() { secure_wipe(b); }
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { close(); }
  int get() const { return fd_; }
  int close() {
    int rc = 0;
    if (fd_ >= 0) rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string mode_string(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// What a non-regular file is, for messages.
const char* file_kind(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISLNK(mode)) return "a symlink";
  return "of an unknown kind";
}

// check_identity_dir's rules on the directory's stat.
Result<void> check_dir_stat(const struct stat& st, const fs::path& dir) {
  const std::string where = "identity directory " + quoted(dir);
  if (!S_ISDIR(st.st_mode)) return make_error(where + " is not a directory (it is " + file_kind(st.st_mode) + ")");
  const uid_t me = ::geteuid();
  if (st.st_uid != me && st.st_uid != 0) {
    return make_error(where + " belongs to another user (uid " + std::to_string(st.st_uid) +
                      "), who could replace the identity in it or plant a control socket there. Use a directory of "
                      "your own, or fix it with: chown " + std::to_string(me) + " " + quoted(dir));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return make_error(where + " has mode " + mode_string(st.st_mode) +
                      ": it must not be writable by group or others, who could replace the identity in it or plant "
                      "a control socket there. Fix it with: chmod 700 " + quoted(dir));
  }
  return {};
}

// mkdir -p with mode 0700 for every directory we create (existing ones are left alone).
Result<void> ensure_dir(const fs::path& dir) {
  if (dir.empty()) return {};
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return make_error(quoted(dir) + " exists and is not a directory");
    return {};
  }
  if (errno != ENOENT) return make_error("cannot access " + quoted(dir) + ": " + errno_text(errno));
  auto parent = dir.parent_path();
  if (!parent.empty() && parent != dir) {
    auto r = ensure_dir(parent);
    if (!r) return r;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return make_error("cannot create directory " + quoted(dir) + ": " + errno_text(errno));
  }
  return {};
}

Result<void> write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("cannot write " + quoted(path) + ": " + errno_text(errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<void> fsync_dir(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return make_error("cannot open directory " + quoted(dir) + " to sync it: " + errno_text(errno));
  if (::fsync(fd.get()) != 0) return make_error("cannot sync directory " + quoted(dir) + ": " + errno_text(errno));
  return {};
}

std::string already_exists_error(const fs::path& path) {
  return quoted(path) + " already exists; use --force to replace it (what it holds will be lost)";
}

}  // namespace

Result<void> check_identity_dir(const fs::path& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};  // created with mode 0700 when a key is written
    return make_error("cannot access identity directory " + quoted(dir) + ": " + errno_text(errno));
  }
  return check_dir_stat(st, dir);
}

IdentityPaths resolve_identity_dir(std::optional<fs::path> flag) {
  if (flag && !flag->empty()) return IdentityPaths{*flag};
  if (const char* env = std::getenv(kIdentityDirEnv); env != nullptr && *env != '\0') {
    return IdentityPaths{fs::path(env)};
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr) home = pw->pw_dir;
  }
  if (home == nullptr || *home == '\0') {
    throw ErrorException(std::string("cannot find a home directory for the identity file: set $HOME, $") +
                         kIdentityDirEnv + " or pass an identity directory");
  }
  return IdentityPaths{fs::path(home) / ".stargate"};
}

std::string format_identity_file(const Ed25519PrivateKey& key) {
  auto seed = key.seed();
  std::string seed_hex = to_hex(seed);
  secure_wipe(seed);
  WipeOnExit wipe{seed_hex};
  std::string out;
  out.reserve(256);
  out.append(kIdentityFileVersionLine).append("\n");
  out.append("# Stargate node identity. SECRET: whoever has this file can act as this node.\n");
  out.append("# peer-id ").append(PeerId::from_public_key(key.public_key()).to_string()).append("\n");
  out.append("# agent-id ").append(agent_id(key.public_key())).append("\n");
  out.append(kKeyPrefix).append(seed_hex).append("\n");
  return out;
}

Result<Ed25519PrivateKey> parse_identity_file(std::string_view text, const fs::path& path) {
  const std::string where = "identity file " + quoted(path);
  if (text.empty()) return make_error(where + " is empty");
  std::optional<Ed25519PrivateKey> key;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    if (line_no == 1) {
      if (line == kIdentityFileVersionLine) continue;
      if (line.starts_with("stargate-identity-v")) {
        return make_error(where + " has unsupported format version '" + std::string(line.substr(0, 40)) +
                          "' (this build reads " + std::string(kIdentityFileVersionLine) + ")");
      }
      return make_error(where + " is not a Stargate identity file: the first line must be '" +
                        std::string(kIdentityFileVersionLine) + "'");
    }
    if (line.empty() || line.front() == '#') continue;
    if (!line.starts_with(kKeyPrefix)) {
      // Do not echo the line: it may be a mangled key.
      return make_error(where + " is corrupt: unexpected content on line " + std::to_string(line_no) +
                        " (expected '" + std::string(kKeyPrefix) + "<64 hex characters>', a comment or a blank line)");
    }
    if (key) return make_error(where + " is corrupt: more than one key line (line " + std::to_string(line_no) + ")");
    auto hex = line.substr(kKeyPrefix.size());
    Bytes seed;
    WipeBytesOnExit wipe{seed};
    if (hex.size() != 64 || !from_hex(hex, seed)) {
      return make_error(where + " is corrupt: the key on line " + std::to_string(line_no) +
                        " must be 64 hex characters (a 32-byte Ed25519 seed), found " + std::to_string(hex.size()) +
                        " characters" + (hex.size() == 64 ? " with non-hex ones" : ""));
    }
    auto k = Ed25519PrivateKey::from_seed(seed);
    if (!k) return make_error(where + " is corrupt: " + k.error().message);
    key.emplace(std::move(*k));
  }
  if (!key) return make_error(where + " is corrupt: no '" + std::string(kKeyPrefix) + "' key line");
  return std::move(*key);
}

Result<std::optional<Ed25519PrivateKey>> load_identity(const fs::path& path) {
  // The directory first, through a descriptor, so that the file opened below is the one in the
  // directory that was checked.
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0) {
    if (errno == ENOENT) return std::optional<Ed25519PrivateKey>{};
    if (errno == ENOTDIR) return make_error("identity directory " + quoted(dir) + " is not a directory");
    return make_error("cannot open identity directory " + quoted(dir) + ": " + errno_text(errno));
  }
  struct stat st;
  if (::fstat(dir_fd.get(), &st) != 0) {
    return make_error("cannot stat identity directory " + quoted(dir) + ": " + errno_text(errno));
  }
  if (auto r = check_dir_stat(st, dir); !r) return r.error();

  // O_NOFOLLOW: a symlink is refused, not followed. O_NONBLOCK: opening a FIFO returns at once
  // (instead of waiting for a writer forever), and fstat below refuses it.
  const std::string name = path.filename().string();
  Fd fd(::openat(dir_fd.get(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) return std::optional<Ed25519PrivateKey>{};
    if (err == ELOOP) {
      return make_error("identity file " + quoted(path) +
                        " is a symlink: refusing to follow it (put the key file itself there)");
    }
    if (err == ENXIO) return make_error("identity file " + quoted(path) + " is not a regular file (it is a socket)");
    return make_error("cannot open identity file " + quoted(path) + ": " + errno_text(err));
  }
  if (::fstat(fd.get(), &st) != 0) {
    return make_error("cannot stat identity file " + quoted(path) + ": " + errno_text(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error("identity file " + quoted(path) + " is not a regular file (it is " + file_kind(st.st_mode) + ")");
  }
  if ((st.st_mode & 077) != 0) {
    return make_error("identity file " + quoted(path) + " has mode " + mode_string(st.st_mode) +
                      ": it must not be readable or writable by group or others. Fix it with: chmod 600 " +
                      quoted(path));
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxIdentityFileSize) {
    return make_error("identity file " + quoted(path) + " is corrupt: " + std::to_string(st.st_size) +
                      " bytes is far too large for an identity file");
  }
  std::string text;
  WipeOnExit wipe{text};
  text.resize(kMaxIdentityFileSize + 1);
  std::size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("cannot read identity file " + quoted(path) + ": " + errno_text(errno));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > kMaxIdentityFileSize) {
    return make_error("identity file " + quoted(path) + " is corrupt: far too large for an identity file");
  }
  auto key = parse_identity_file(std::string_view(text).substr(0, got), path);
  if (!key) return key.error();
  return std::optional<Ed25519PrivateKey>(std::move(*key));
}

Result<void> save_identity(const fs::path& path, const Ed25519PrivateKey& key, bool overwrite) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (auto r = ensure_dir(dir); !r) return r;
  if (auto r = check_identity_dir(dir); !r) return r;
  std::string text = format_identity_file(key);
  WipeOnExit wipe{text};
  return write_private_file(path, text, overwrite);
}

Result<void> write_private_file(const fs::path& path, std::string_view text, bool overwrite) {
  fs::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  if (auto r = ensure_dir(dir); !r) return r;
  struct stat st;
  if (!overwrite && ::lstat(path.c_str(), &st) == 0) return make_error(already_exists_error(path));

  std::array<std::uint8_t, 8> rnd;
  random_bytes(rnd);
  fs::path tmp = dir / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" + to_hex(rnd));

  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) return make_error("cannot create " + quoted(tmp) + ": " + errno_text(errno));
    auto fail = [&](std::string message) -> Result<void> {
      fd.close();
      ::unlink(tmp.c_str());
      return make_error(std::move(message));
    };
    // The umask can only remove bits from 0600; set it exactly anyway.
    if (::fchmod(fd.get(), 0600) != 0) return fail("cannot chmod " + quoted(tmp) + ": " + errno_text(errno));
    if (auto r = write_all(fd.get(), text, tmp); !r) return fail(r.error().message);
    if (::fsync(fd.get()) != 0) return fail("cannot sync " + quoted(tmp) + ": " + errno_text(errno));
    if (fd.close() != 0) return fail("cannot close " + quoted(tmp) + ": " + errno_text(errno));
  }

  if (overwrite) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return make_error("cannot move " + quoted(tmp) + " to " + quoted(path) + ": " + errno_text(err));
    }
  } else {
    // link() fails with EEXIST instead of replacing a file that appeared since the check above.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      if (err == EEXIST) {
        ::unlink(tmp.c_str());
        return make_error(already_exists_error(path));
      }
      // A filesystem without hard links: fall back to check-then-rename.
      if (::lstat(path.c_str(), &st) == 0) {
        ::unlink(tmp.c_str());
        return make_error(already_exists_error(path));
      }
      if (::rename(tmp.c_str(), path.c_str()) != 0) {
        err = errno;
        ::unlink(tmp.c_str());
        return make_error("cannot move " + quoted(tmp) + " to " + quoted(path) + ": " + errno_text(err));
      }
    } else {
      ::unlink(tmp.c_str());
    }
  }
  return fsync_dir(dir);
}

Result<Ed25519PrivateKey> load_or_create_identity(const IdentityPaths& paths, bool& created) {
  created = false;
  const fs::path file = paths.key_file();
  auto loaded = load_identity(file);
  if (!loaded) return loaded.error();
  if (*loaded) return std::move(**loaded);
  auto key = Ed25519PrivateKey::generate();
  if (auto r = save_identity(file, key, /*overwrite=*/false); !r) {
    // Another process may have created the file since we looked: use its identity, not ours.
    struct stat st;
    if (::lstat(file.c_str(), &st) == 0) {
      auto again = load_identity(file);
      if (!again) return again.error();
      if (*again) return std::move(**again);
    }
    return r.error();
  }
  created = true;
  return key;
}

Bytes export_libp2p_private_key(const Ed25519PrivateKey& key) {
  // Type (field 1) = Ed25519, Data (field 2) = 64 bytes: seed || public key.
  Bytes out{0x08, 0x01, 0x12, 0x40};
  out.reserve(4 + 64);
  auto seed = key.seed();
  append(out, seed);
  secure_wipe(seed);
  append(out, key.public_key().bytes());
  return out;
}

Result<Ed25519PrivateKey> import_libp2p_private_key(BytesView proto) {
  if (proto.size() > 4096) return make_error("libp2p private key protobuf too large (" + std::to_string(proto.size()) + " bytes)");
  pb::PrivateKey msg;
  struct WipeMsg {
    pb::PrivateKey& m;
    ~WipeMsg() {
      if (m.has_data()) {
        auto* d = m.mutable_data();
        secure_wipe(MutableBytesView(reinterpret_cast<std::uint8_t*>(d->data()), d->size()));
      }
    }
  } wipe{msg};
  if (!msg.ParsePartialFromArray(proto.data(), static_cast<int>(proto.size())) || !msg.has_type() ||
      !msg.has_data()) {
    return make_error("not a valid libp2p PrivateKey protobuf (Type and Data are required)");
  }
  if (msg.type() != pb::Ed25519) {
    return make_error("unsupported private key type " + std::to_string(static_cast<int>(msg.type())) +
                      " (0 RSA, 2 Secp256k1, 3 ECDSA): only Ed25519 keys can be imported");
  }
  BytesView data = as_bytes(msg.data());
  if (data.size() != 32 && data.size() != 64 && data.size() != 96) {
    return make_error("Ed25519 private key data must be 32, 64 or 96 bytes, got " + std::to_string(data.size()));
  }
  auto key = Ed25519PrivateKey::from_seed(data.first(32));
  if (!key) return key.error();
  const auto& pub = key->public_key().bytes();
  for (std::size_t off = 32; off < data.size(); off += 32) {
    if (!std::equal(pub.begin(), pub.end(), data.begin() + static_cast<std::ptrdiff_t>(off))) {
      return make_error("Ed25519 private key is inconsistent: the embedded public key does not match the seed");
    }
  }
  return key;
}

}  // namespace stargate::crypto
