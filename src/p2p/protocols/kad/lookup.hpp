#pragma once
// One iterative Kademlia lookup (sans-IO): asks the closest peers it knows of for peers closer
// to the target, α requests at a time, and ends when the k closest peers it has heard of have
// all answered (or nobody is left to ask). The I/O layer sends the requests next() hands out,
// times them out, and reports each as on_response() or on_failure(). Bounded: at most
// `max_candidates` peers not yet asked are remembered, the farthest forgotten first; a peer is
// never asked twice.
#include "base/multiaddr.hpp"
#include "p2p/protocols/kad/kad_key.hpp"

#include <map>
#include <vector>

namespace stargate::p2p::kad {

struct Candidate {
  crypto::PeerId peer;
  std::vector<Multiaddr> addrs;
};

struct LookupConfig {
  std::size_t alpha = 3;   // requests in flight
  std::size_t k = 20;      // the lookup ends when the k closest have answered
  std::size_t max_candidates = 256;
};

class Lookup {
 public:
  Lookup(const KadKey& target, const crypto::PeerId& self, std::vector<Candidate> seeds, LookupConfig config = {});

  // Peers to ask now; each is in flight until on_response() or on_failure().
  std::vector<Candidate> next();
  // `from` answered with `closer` (ourselves and peers already known are skipped).
  void on_response(const crypto::PeerId& from, std::vector<Candidate> closer);
  void on_failure(const crypto::PeerId& from);
  // `peer` has not answered within the I/O layer's patience (much shorter than its timeout): it
  // stops holding one of the α slots and no longer holds up the end of the lookup, though a late
  // answer still counts. Without this, a few dead peers among the closest stall every lookup for
  // the full request timeout.
  void on_stalled(const crypto::PeerId& peer);

  bool finished() const;
  std::size_t in_flight() const { return in_flight_; }
  // The peers that answered, closest first.
  std::vector<Candidate> closest_answered(std::size_t count) const;
  // The most hops any of the k closest answers took from a seed (seeds are hop 1).
  std::size_t hops() const;
  std::size_t requests_sent() const { return requests_; }
  std::size_t failures() const { return failures_; }
  const KadKey& target() const { return target_; }

 private:
  enum class State { waiting, in_flight, stalled, answered, failed };
  struct Entry {
    Candidate candidate;
    State state = State::waiting;
    std::size_t hop = 1;
  };
  void insert(Candidate candidate, std::size_t hop);
  Entry* entry_of(const crypto::PeerId& peer);

  KadKey target_;
  crypto::PeerId self_;
  LookupConfig config_;
  std::map<Distance, Entry> entries_;  // closest first
  std::size_t in_flight_ = 0;
  std::size_t requests_ = 0;
  std::size_t failures_ = 0;
};

}  // namespace stargate::p2p::kad
