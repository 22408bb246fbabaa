#include "upstream/picker.h"

#include "net/turn_clock.h"

namespace fulcrum::upstream {

UpstreamPicker::UpstreamPicker(const Upstream& upstream, Random& random)
    : upstream_(upstream),
      load_(upstream.servers.size()),
      env_{&random, &load_, &upstream.strategy_options},
      primaries_(upstream.strategy->factory(env_)),
      backups_(upstream.strategy->factory(env_)) {
  if (upstream.strategy->keyless) {
    fallback_primaries_ = upstream.strategy->keyless(env_);
    fallback_backups_ = upstream.strategy->keyless(env_);
  }
  primaries_->rebuild(upstream.primaries);
  backups_->rebuild(upstream.backups);
  if (fallback_primaries_) {
    fallback_primaries_->rebuild(upstream.primaries);
    fallback_backups_->rebuild(upstream.backups);
  }
}

void UpstreamPicker::rebuild(const HostSets& hosts) {
  primaries_->rebuild(hosts.primaries);
  backups_->rebuild(hosts.backups);
  if (fallback_primaries_) {
    fallback_primaries_->rebuild(hosts.primaries);
    fallback_backups_->rebuild(hosts.backups);
  }
  standby_ = hosts.standby;
}

const Server* UpstreamPicker::pickStandby(const TriedSet& tried) {
  for (size_t i = 0; i < standby_.size(); ++i) {
    const Server* server = standby_[(next_standby_ + i) % standby_.size()];
    if (tried.contains(server->index)) continue;
    next_standby_ = (next_standby_ + i + 1) % standby_.size();
    return server;
  }
  return nullptr;
}

const Server* UpstreamPicker::pick(const TriedSet& tried, std::optional<uint64_t> hash) {
  Strategy* primaries = primaries_.get();
  Strategy* backups = backups_.get();
  if (fallback_primaries_ && !hash) {
    ++picks_without_key_;
    primaries = fallback_primaries_.get();
    backups = fallback_backups_.get();
  }
  PickContext ctx{tried, hash.value_or(0), net::TurnClock::now()};
  if (const Server* server = primaries->pick(ctx)) return server;
  return backups->pick(ctx);
}

}  // namespace fulcrum::upstream
