#pragma once
// The A2A calls a node reads or serves at once (docs/limits.md, "Calls in flight"), shared so that
// no one caller can take them all: at most `total` across every caller, `per_peer` for any one
// caller (PeerId) and `per_ip` for any one remote IP (a relayed caller has none: the relay's IP
// says nothing about it). Sans-IO bookkeeping; a Ticket gives its place back when it goes.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace stargate::agent {

struct InFlightLimits {
  std::size_t total = 64;
  std::size_t per_peer = 16;
  std::size_t per_ip = 32;
};

class InFlightCalls {
  struct Counts;

 public:
  enum class Refusal { none, node, peer, ip };

  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept = default;
    Ticket& operator=(Ticket&& other) noexcept;
    ~Ticket() { release(); }
    void release();
    explicit operator bool() const { return counts_ != nullptr; }

   private:
    friend class InFlightCalls;
    std::shared_ptr<Counts> counts_;
    std::string peer_;
    std::optional<std::string> ip_;
  };

  explicit InFlightCalls(InFlightLimits limits) : counts_(std::make_shared<Counts>(limits)) {}

  // A place for one call from `peer` (and `ip`, when the transport knows it); an empty ticket and
  // `refusal` saying whose share is full when there is none.
  Ticket enter(const std::string& peer, const std::optional<std::string>& ip, Refusal& refusal);

  std::size_t total() const { return counts_->total; }
  std::size_t of_peer(const std::string& peer) const;
  std::size_t of_ip(const std::string& ip) const;
  const InFlightLimits& limits() const { return counts_->limits; }

 private:
  struct Counts {
    explicit Counts(InFlightLimits l) : limits(l) {}
    InFlightLimits limits;
    std::size_t total = 0;
    std::unordered_map<std::string, std::size_t> by_peer;
    std::unordered_map<std::string, std::size_t> by_ip;
  };
  std::shared_ptr<Counts> counts_;
};

// "node", "peer", "ip" (log lines and metric labels); "" for none.
std::string_view to_string(InFlightCalls::Refusal refusal);

}  // namespace stargate::agent
