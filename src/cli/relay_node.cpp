#include "cli/relay_node.hpp"

#include "p2p/host/standard_protocols.hpp"

namespace stargate::cli {
namespace {

p2p::autonat::AutonatOptions answer_only(p2p::autonat::AddressClassifier classifier) {
  p2p::autonat::AutonatOptions options;
  options.classifier = std::move(classifier);
  options.probe = false;
  return options;
}

}  // namespace

RelayNode::RelayNode(p2p::asio::any_io_executor executor, crypto::Ed25519PrivateKey identity,
                     p2p::relay::RelayServiceOptions relay_options, p2p::autonat::AddressClassifier classifier)
    : host(executor, std::move(identity)),
      identify(p2p::enable_standard_protocols(host)),
      service(p2p::relay::RelayService::enable(host, std::move(relay_options))),
      autonat(p2p::autonat::ReachabilityService::enable(host, *identify, answer_only(std::move(classifier)))) {}

void RelayNode::close() {
  service->close();
  autonat->close();
  host.close();
}

}  // namespace stargate::cli
