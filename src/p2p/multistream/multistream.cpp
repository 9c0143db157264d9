#include "p2p/multistream/multistream.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace stargate::p2p::multistream {

namespace {

// Lines are validated before they get here, so they are printable; keep error texts short.
std::string shown(std::string_view line) {
  std::size_t cut = 64;
  if (line.size() <= cut) return "\"" + std::string(line) + "\"";
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;  // whole characters
  return "\"" + std::string(line.substr(0, cut)) + "...\"";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

}  // namespace

// ---- Initiator ----

Initiator::Initiator(std::vector<std::string> protocols) : protocols_(std::move(protocols)) {
  if (protocols_.empty()) throw std::invalid_argument("multistream: no protocols to propose");
  for (const auto& p : protocols_) {
    if (auto why = invalid_line_reason(p)) throw std::invalid_argument("multistream: bad protocol: " + *why);
    if (p == kProtocolId || p == kNotAvailable || p == kList) {
      throw std::invalid_argument("multistream: reserved word proposed as a protocol: " + p);
    }
  }
  append_message(output_, kProtocolId);
  append_message(output_, protocols_[0]);
}

Bytes Initiator::take_output() { return std::exchange(output_, {}); }

Result<std::size_t> Initiator::fail(std::string message) {
  state_ = State::Failed;
  error_ = message;
  return make_error(std::move(message));
}

Result<std::size_t> Initiator::receive(BytesView in) {
  if (state_ == State::Failed) return make_error(error_);
  std::size_t used = 0;
  while (state_ != State::Done && used < in.size()) {
    auto line = reader_.next(in, used);
    if (!line) return fail(line.error().message);
    if (!*line) break;
    const std::string& msg = **line;

    if (state_ == State::AwaitHeader) {
      if (msg != kProtocolId) return fail("multistream: expected " + std::string(kProtocolId) + ", got " + shown(msg));
      state_ = State::AwaitAnswer;
    } else if (msg == protocols_[current_]) {
      state_ = State::Done;
    } else if (msg == kNotAvailable) {
      if (current_ + 1 == protocols_.size()) {
        return fail("multistream: protocols not supported by the peer: " + join(protocols_));
      }
      append_message(output_, protocols_[++current_]);
    } else {
      return fail("multistream: expected " + shown(protocols_[current_]) + " or \"na\", got " + shown(msg));
    }
  }
  return used;
}

// ---- Responder ----

Responder::Responder(std::vector<std::string> protocols, ResponderLimits limits)
    : listed_(std::move(protocols)), limits_(limits) {
  append_message(output_, kProtocolId);
}

Responder::Responder(std::function<bool(std::string_view)> supports, std::vector<std::string> listed,
                     ResponderLimits limits)
    : supports_(std::move(supports)), listed_(std::move(listed)), limits_(limits) {
  append_message(output_, kProtocolId);
}

bool Responder::accepts(std::string_view protocol) const {
  if (supports_) return supports_(protocol);
  return std::find(listed_.begin(), listed_.end(), protocol) != listed_.end();
}

Bytes Responder::take_output() { return std::exchange(output_, {}); }

Result<std::size_t> Responder::fail(std::string message) {
  state_ = State::Failed;
  error_ = message;
  return make_error(std::move(message));
}

Result<std::size_t> Responder::receive(BytesView in) {
  if (state_ == State::Failed) return make_error(error_);
  std::size_t used = 0;
  while (state_ != State::Done && used < in.size()) {
    auto line = reader_.next(in, used);
    if (!line) return fail(line.error().message);
    if (!*line) break;
    std::string& msg = **line;

    if (state_ == State::AwaitHeader) {
      if (msg != kProtocolId) return fail("multistream: expected " + std::string(kProtocolId) + ", got " + shown(msg));
      state_ = State::AwaitProposal;
      continue;
    }
    if (msg != kList && msg != kNotAvailable && msg != kProtocolId && accepts(msg)) {
      append_message(output_, msg);
      selected_ = std::move(msg);
      state_ = State::Done;
      break;
    }
    if (rejections_ == limits_.max_rejections) {
      return fail("multistream: peer made more than " + std::to_string(limits_.max_rejections) +
                  " proposals without agreement");
    }
    ++rejections_;
    if (msg == kList) {
      append_list_response(output_, listed_);
    } else {
      append_message(output_, kNotAvailable);
    }
  }
  return used;
}

}  // namespace stargate::p2p::multistream
