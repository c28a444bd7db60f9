// The batching rule of every queued writer (the gateway's client streams, the pool's upstream
// connections, the daemon's connections): whatever queued up while the last write was out goes
// in the next one, bounded so that a long backlog still yields to the executor between writes.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace exai::net {

struct batch_limits {
  std::size_t max_messages = 128;
  std::size_t max_bytes = 256 * 1024;  // passed only by a first message that is larger alone
};

// Moves messages from the front of `queue` (a deque of std::string) to the end of `batch`: at
// least one when any is queued, at most max_messages in the batch, and no more than max_bytes in
// all unless the first alone is larger. Returns the bytes moved.
template <class Queue>
std::size_t take_batch(Queue& queue, std::vector<std::string>& batch, batch_limits limits) {
  std::size_t bytes = 0;
  while (!queue.empty() && batch.size() < limits.max_messages &&
         (batch.empty() || bytes + queue.front().size() <= limits.max_bytes)) {
    bytes += queue.front().size();
    batch.push_back(std::move(queue.front()));
    queue.pop_front();
  }
  return bytes;
}

}  // namespace exai::net
