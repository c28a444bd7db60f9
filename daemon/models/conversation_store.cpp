// The conversation store: an LRU of threads ordered by last update (so the TTL sweep and the byte
// eviction both take from the same end), under one mutex. Boost.JSON only.
#include "daemon/models/conversation_store.hpp"

#include <boost/json/serialize.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <list>
#include <mutex>
#include <unordered_map>

namespace exai::daemon::models {

using codecs::errc;
using codecs::error;

std::string make_uuid() {
  // random_generator reads the operating system's entropy (getrandom); one per thread keeps the
  // generator itself out of any lock.
  thread_local boost::uuids::random_generator gen;
  return boost::uuids::to_string(gen());
}

namespace {

struct thread_rec {
  thread_view view;
  conversation_store::clock::time_point updated;
  std::size_t bytes = 0;
};

std::size_t turn_bytes(const turn& t) {
  std::size_t n = sizeof(turn) + t.content.size() + t.tool_name.size() + t.provider.size() + t.model.size();
  for (const auto& f : t.files) n += f.size() + sizeof(std::string);
  return n;
}

std::size_t state_bytes(const boost::json::object& o) {
  return o.empty() ? 0 : boost::json::serialize(o).size();
}

std::size_t record_bytes(const thread_view& v) {
  std::size_t n = sizeof(thread_rec) + v.id.size() + v.tool_name.size() + state_bytes(v.state);
  for (const auto& t : v.turns) n += turn_bytes(t);
  return n;
}

}  // namespace

struct conversation_store::impl {
  options opts;
  mutable std::mutex mu;
  // Front: updated most recently. Back: the first to expire and the first to evict.
  std::list<thread_rec> lru;
  std::unordered_map<std::string_view, std::list<thread_rec>::iterator> index;
  std::size_t bytes = 0;
  std::size_t evicted = 0, expired = 0;

  clock::time_point now() const { return opts.now ? opts.now() : clock::now(); }

  void erase(std::list<thread_rec>::iterator it) {
    bytes -= it->bytes;
    index.erase(std::string_view(it->view.id));
    lru.erase(it);
  }

  void sweep(clock::time_point t) {
    while (!lru.empty() && t - lru.back().updated >= opts.ttl) {
      erase(std::prev(lru.end()));
      ++expired;
    }
  }

  // Evicts the least recently updated threads (never `keep`) until `extra` more bytes fit.
  void make_room(std::size_t extra, const thread_rec* keep) {
    auto it = lru.end();
    while (bytes + extra > opts.max_bytes && it != lru.begin()) {
      --it;
      if (&*it == keep) continue;
      auto victim = it++;
      erase(victim);
      ++evicted;
    }
  }

  std::list<thread_rec>::iterator find(std::string_view id, clock::time_point t) {
    sweep(t);
    auto f = index.find(id);
    return f == index.end() ? lru.end() : f->second;
  }

  void touch(std::list<thread_rec>::iterator it, clock::time_point t) {
    it->updated = t;
    lru.splice(lru.begin(), lru, it);
  }

  void resize(thread_rec& r) {
    const auto n = record_bytes(r.view);
    bytes = bytes - r.bytes + n;
    r.bytes = n;
  }
};

conversation_store::conversation_store() : conversation_store(options{}) {}

conversation_store::conversation_store(options opts) : impl_(std::make_unique<impl>()) {
  impl_->opts = std::move(opts);
}

conversation_store::~conversation_store() = default;

const conversation_store::options& conversation_store::limits() const noexcept { return impl_->opts; }

std::string conversation_store::create(std::string_view tool_name, boost::json::object state) {
  thread_rec r;
  r.view.id = make_uuid();
  r.view.tool_name = std::string(tool_name);
  r.view.state = std::move(state);
  r.bytes = record_bytes(r.view);
  std::string id = r.view.id;

  std::lock_guard lk(impl_->mu);
  const auto t = impl_->now();
  impl_->sweep(t);
  r.updated = t;
  impl_->make_room(r.bytes, nullptr);
  while (impl_->lru.size() >= impl_->opts.max_threads && !impl_->lru.empty()) {
    impl_->erase(std::prev(impl_->lru.end()));
    ++impl_->evicted;
  }
  impl_->lru.push_front(std::move(r));
  auto it = impl_->lru.begin();
  impl_->index.emplace(std::string_view(it->view.id), it);
  impl_->bytes += it->bytes;
  return id;
}

std::optional<thread_view> conversation_store::get(std::string_view id) {
  std::lock_guard lk(impl_->mu);
  auto it = impl_->find(id, impl_->now());
  if (it == impl_->lru.end()) return std::nullopt;
  return it->view;
}

codecs::result<void> conversation_store::add_exchange(std::string_view id, turn request, turn answer) {
  request.role = turn_role::user;
  answer.role = turn_role::assistant;
  const auto extra = turn_bytes(request) + turn_bytes(answer);
  std::lock_guard lk(impl_->mu);
  const auto t = impl_->now();
  auto it = impl_->find(id, t);
  if (it == impl_->lru.end())
    return error(errc::invalid_params, "conversation thread '" + std::string(id) + "' was not found or has expired");
  if (it->view.exchanges >= impl_->opts.max_exchanges)
    return error(errc::over_capacity, "conversation thread '" + std::string(id) + "' already holds " +
                                          std::to_string(impl_->opts.max_exchanges) + " exchanges");
  if (it->bytes + extra > impl_->opts.max_bytes)
    return error(errc::over_capacity, "the exchange does not fit in the conversation store's byte budget");
  impl_->make_room(extra, &*it);
  it->view.turns.push_back(std::move(request));
  it->view.turns.push_back(std::move(answer));
  ++it->view.exchanges;
  impl_->resize(*it);
  impl_->touch(it, t);
  return {};
}

codecs::result<void> conversation_store::update(
    std::string_view id, const std::function<codecs::result<void>(boost::json::object&)>& fn) {
  std::lock_guard lk(impl_->mu);
  const auto t = impl_->now();
  auto it = impl_->find(id, t);
  if (it == impl_->lru.end())
    return error(errc::invalid_params, "conversation thread '" + std::string(id) + "' was not found or has expired");
  auto r = fn(it->view.state);
  impl_->resize(*it);
  impl_->touch(it, t);
  impl_->make_room(0, &*it);
  return r;
}

std::size_t conversation_store::remaining_exchanges(std::string_view id) {
  std::lock_guard lk(impl_->mu);
  auto it = impl_->find(id, impl_->now());
  if (it == impl_->lru.end()) return 0;
  const auto used = it->view.exchanges;
  return used >= impl_->opts.max_exchanges ? 0 : impl_->opts.max_exchanges - used;
}

conversation_store::counters conversation_store::stats() const {
  std::lock_guard lk(impl_->mu);
  return {impl_->lru.size(), impl_->bytes, impl_->evicted, impl_->expired};
}

}  // namespace exai::daemon::models
