// ClientOptions -> natsOptions (see options_builder.hpp).
#include "nats/options_builder.hpp"

#include "base/result.hpp"
#include "nats/client_text.hpp"
#include "nats/connection_events.hpp"
#include "nats/event_loop_adapter.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace stargate::nats::detail {

namespace {

// nats.c's read buffer (and initial write buffer), per connection; its default is 32 KiB.
constexpr int kIoBufferBytes = 256 * 1024;

void check_option(natsStatus status, const char* what) {
  if (status != NATS_OK) throw ErrorException(std::string("NATS options: ") + what + ": " + error_text(status));
}

}  // namespace

natsOptions* build_options(const ClientOptions& o, Shared* shared, bool replacement) {
  natsOptions* opts = nullptr;
  try {
    if (!o.token.empty() && !o.token_file.empty())
      throw ErrorException("NATS options: token and token_file cannot both be set");
    check_option(natsOptions_Create(&opts), "create");
    std::vector<const char*> servers;
    bool secure = false;
    for (const auto& url : o.urls) {
      servers.push_back(url.c_str());
      if (url.rfind("tls://", 0) == 0) secure = true;
    }
    check_option(natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size())), "servers");
    check_option(natsOptions_SetName(opts, o.name.c_str()), "name");
    check_option(natsOptions_SetTimeout(opts, o.connect_timeout.count()), "connect timeout");
    check_option(natsOptions_SetAllowReconnect(opts, true), "reconnect");
    check_option(natsOptions_SetMaxReconnect(opts, o.max_reconnect), "max reconnect");
    check_option(natsOptions_SetReconnectWait(opts, o.reconnect_wait.count()), "reconnect wait");
    check_option(natsOptions_SetNoRandomize(opts, !o.randomize_servers), "randomize");
    check_option(natsOptions_SetSendAsap(opts, true), "send asap");
    // One read takes a whole 64 KiB message: nats.c then builds it straight from its read buffer
    // instead of gathering it in a buffer of its own, in fewer turns of the executor.
    check_option(natsOptions_SetIOBufSize(opts, kIoBufferBytes), "I/O buffer size");
    check_option(natsOptions_SetEventLoop(opts, shared, EventLoop::attach, EventLoop::read, EventLoop::write,
                                          EventLoop::detach),
                 "event loop");
    if (o.write_deadline.count() > 0)
      check_option(natsOptions_SetWriteDeadline(opts, o.write_deadline.count()), "write deadline");
    if (o.ping_interval.count() > 0)
      check_option(natsOptions_SetPingInterval(opts, o.ping_interval.count()), "ping interval");
    if (o.max_pings_out > 0) check_option(natsOptions_SetMaxPingsOut(opts, o.max_pings_out), "max pings out");
    check_option(natsOptions_SetMaxPendingMsgs(opts, std::max(1, o.pending_msgs_limit)), "max pending");
    if (!o.user.empty()) check_option(natsOptions_SetUserInfo(opts, o.user.c_str(), o.password.c_str()), "user");
    if (!o.token.empty()) check_option(natsOptions_SetToken(opts, o.token.c_str()), "token");
    if (!o.token_file.empty()) check_option(natsOptions_SetTokenHandler(opts, on_token, shared), "token file");
    if (!o.creds_file.empty())
      check_option(natsOptions_SetUserCredentialsFromFiles(opts, o.creds_file.c_str(), nullptr), "credentials file");
    if (secure || !o.tls_ca_file.empty() || !o.tls_cert_file.empty())
      check_option(natsOptions_SetSecure(opts, true), "TLS");
    if (!o.tls_ca_file.empty())
      check_option(natsOptions_LoadCATrustedCertificates(opts, o.tls_ca_file.c_str()), "TLS CA file");
    if (!o.tls_cert_file.empty())
      check_option(natsOptions_LoadCertificatesChain(opts, o.tls_cert_file.c_str(), o.tls_key_file.c_str()),
                   "TLS certificate");
    check_option(natsOptions_SetDisconnectedCB(opts, on_disconnected, shared), "callbacks");
    check_option(natsOptions_SetReconnectedCB(opts, on_reconnected, shared), "callbacks");
    check_option(natsOptions_SetClosedCB(opts, on_closed, shared), "callbacks");
    check_option(natsOptions_SetErrorHandler(opts, on_error, shared), "callbacks");
    if (replacement)
      check_option(natsOptions_SetRetryOnFailedConnect(opts, true, on_revived, shared), "retry");
    else if (o.retry_on_failed_connect)
      check_option(natsOptions_SetRetryOnFailedConnect(opts, true, on_connected, shared), "retry");
  } catch (...) {
    natsOptions_Destroy(opts);
    throw;
  }
  return opts;
}

}  // namespace stargate::nats::detail
