#pragma once
// apply_edits(msg, edits) for the fuzz targets that tamper with a genuine message: `edits` is a list
// of (position, value) byte pairs; each position (scaled by 7 to spread over the message) flips the
// byte there by `value`, erases it when `value` is 0, or appends `value` when it falls just past the
// end. Stops when the message is empty.
#include "base/bytes.hpp"

#include <cstddef>

namespace stargate::fuzz {

inline Bytes apply_edits(Bytes msg, BytesView edits) {
  for (std::size_t i = 0; i + 1 < edits.size(); i += 2) {
    const std::size_t at = edits[i] * 7u % (msg.size() + 1);
    if (at == msg.size()) {
      msg.push_back(edits[i + 1]);
    } else if (edits[i + 1] == 0) {
      msg.erase(msg.begin() + static_cast<std::ptrdiff_t>(at));
    } else {
      msg[at] ^= edits[i + 1];
    }
    if (msg.empty()) break;
  }
  return msg;
}

}  // namespace stargate::fuzz
