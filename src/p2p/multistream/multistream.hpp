#pragma once
// multistream-select 1.0 negotiation as two sans-IO state machines. The caller moves bytes:
// it writes what take_output() returns and feeds what it reads to receive(), which consumes only
// negotiation bytes and stops right after the last one, so whatever follows in the same read
// belongs to the selected protocol.
//
//   Initiator (dialer)                         Responder (listener)
//   /multistream/1.0.0 + first proposal  --->
//                                        <---  /multistream/1.0.0
//                                        <---  proposal echoed (selected) or "na"
//   next proposal after "na" ...         --->
//
// Optimistic ("lazy") selection: the Initiator's first output already holds the header and its
// first proposal. With a single protocol the caller may write application data right after that
// output without waiting, and keep feeding receive() until done(); if the peer then answers "na",
// receive() fails and the stream must be closed.
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "p2p/multistream/message.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::p2p::multistream {

class Initiator {
 public:
  // `protocols` in order of preference; each must be a valid line (invalid_line_reason) other than
  // the header, "na" and "ls". Throws std::invalid_argument when the list is empty or one is not.
  explicit Initiator(std::vector<std::string> protocols);

  // Bytes to send now (empty when there is nothing); the first call returns header + first proposal.
  Bytes take_output();

  // Feeds bytes from the peer; returns how many were consumed. After an error the Initiator is
  // failed() and stays so. Once done(), consumes nothing more.
  Result<std::size_t> receive(BytesView in);

  bool done() const { return state_ == State::Done; }
  bool failed() const { return state_ == State::Failed; }
  // The protocol the peer accepted; valid when done().
  const std::string& selected() const { return protocols_[current_]; }
  // The protocol proposed now (and the one to speak optimistically before done()).
  const std::string& proposed() const { return protocols_[current_]; }

 private:
  enum class State { AwaitHeader, AwaitAnswer, Done, Failed };
  Result<std::size_t> fail(std::string message);

  std::vector<std::string> protocols_;
  std::size_t current_ = 0;
  State state_ = State::AwaitHeader;
  Bytes output_;
  LineReader reader_;
  std::string error_;
};

struct ResponderLimits {
  // Proposals answered "na" plus "ls" requests allowed before the negotiation is failed.
  std::size_t max_rejections = 16;
};

class Responder {
 public:
  // Accepts exactly the listed protocols; "ls" answers with the list.
  explicit Responder(std::vector<std::string> protocols, ResponderLimits limits = {});
  // Accepts what `supports` accepts (e.g. a prefix match); "ls" answers with `listed`.
  explicit Responder(std::function<bool(std::string_view)> supports,
                     std::vector<std::string> listed = {}, ResponderLimits limits = {});

  // Bytes to send now; the header is ready from construction (both sides may send it at once).
  Bytes take_output();

  // Feeds bytes from the peer; returns how many were consumed, stopping right after the accepted
  // proposal. After an error the Responder is failed() and stays so.
  Result<std::size_t> receive(BytesView in);

  bool done() const { return state_ == State::Done; }
  bool failed() const { return state_ == State::Failed; }
  // The accepted protocol; valid when done().
  const std::string& selected() const { return selected_; }

 private:
  enum class State { AwaitHeader, AwaitProposal, Done, Failed };
  Result<std::size_t> fail(std::string message);
  bool accepts(std::string_view protocol) const;

  std::function<bool(std::string_view)> supports_;  // empty: exact match against listed_
  std::vector<std::string> listed_;
  ResponderLimits limits_;
  std::size_t rejections_ = 0;
  State state_ = State::AwaitHeader;
  Bytes output_;
  LineReader reader_;
  std::string selected_;
  std::string error_;
};

}  // namespace stargate::p2p::multistream
