#include "p2p/host/multistream_io.hpp"

#include "p2p/multistream/multistream.hpp"

namespace stargate::p2p {
namespace {

// Runs a negotiator to completion: write its output, feed it input, give back what it did not consume.
template <class Negotiator>
awaitable<std::string> run(ByteStream& stream, Negotiator& negotiator) {
  std::uint8_t buffer[1024];
  for (;;) {
    if (auto out = negotiator.take_output(); !out.empty()) co_await stream.write_all(out);
    if (negotiator.done()) co_return negotiator.selected();
    std::size_t n = co_await stream.read_some(MutableBytesView(buffer, sizeof buffer));
    if (n == 0) throw ErrorException("multistream-select: peer closed the stream during negotiation");
    BytesView input(buffer, n);
    while (!input.empty() && !negotiator.done()) {
      auto consumed = negotiator.receive(input);
      if (!consumed) throw ErrorException("multistream-select: " + consumed.error().message);
      input = input.subspan(*consumed);
      if (*consumed == 0) break;
    }
    if (negotiator.done()) {
      stream.unread(input);
      if (auto out = negotiator.take_output(); !out.empty()) co_await stream.write_all(out);
      co_return negotiator.selected();
    }
  }
}

}  // namespace

awaitable<std::string> select_outbound(ByteStream& stream, std::vector<std::string> protocols) {
  multistream::Initiator initiator(std::move(protocols));
  co_return co_await run(stream, initiator);
}

awaitable<void> select_outbound_optimistic(ByteStream& stream, std::string protocol) {
  std::vector<std::string> protocols{std::move(protocol)};
  auto initiator = std::make_unique<multistream::Initiator>(std::move(protocols));
  auto proposal = initiator->take_output();
  stream.expect_selection(std::move(initiator));
  co_await stream.write_all(proposal);
}

awaitable<std::string> select_inbound(ByteStream& stream, std::function<bool(std::string_view)> supports,
                                      std::vector<std::string> listed) {
  multistream::Responder responder(std::move(supports), std::move(listed));
  co_return co_await run(stream, responder);
}

}  // namespace stargate::p2p
