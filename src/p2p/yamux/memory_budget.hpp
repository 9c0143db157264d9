#pragma once
// Memory a session may take for receive windows grown beyond their initial size, shared with the
// rest of the node: a window grows only by what the budget has room for, so a node with many
// fast streams stops granting peers credit before it runs out of memory (go-yamux asks its
// memory manager the same way). Single-threaded, like the session that uses it.
#include <cstddef>

namespace stargate::p2p::yamux {

class MemoryBudget {
 public:
  virtual ~MemoryBudget() = default;
  // How many more bytes could be taken now.
  virtual std::size_t room() const = 0;
  // Takes `bytes` (at most room()) / gives back bytes taken earlier.
  virtual void take(std::size_t bytes) = 0;
  virtual void give_back(std::size_t bytes) = 0;
};

}  // namespace stargate::p2p::yamux
