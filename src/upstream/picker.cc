#include "upstream/picker.h"

namespace fulcrum::upstream {

UpstreamPicker::UpstreamPicker(const Upstream& upstream, Random& random)
    : upstream_(upstream),
      primaries_((*upstream.strategy)(random)),
      backups_((*upstream.strategy)(random)) {
  HostSet all;
  for (const auto& server : upstream.servers) all.hosts.push_back(&server);
  rebuild(all);
}

void UpstreamPicker::rebuild(const HostSet& usable) {
  HostSet primaries;
  HostSet backups;
  for (const Server* server : usable.hosts)
    (server->backup ? backups : primaries).hosts.push_back(server);
  primaries_->rebuild(primaries);
  backups_->rebuild(backups);
}

const Server* UpstreamPicker::pick(const TriedSet& tried) {
  PickContext ctx{tried};
  if (const Server* server = primaries_->pick(ctx)) return server;
  return backups_->pick(ctx);
}

}  // namespace fulcrum::upstream
