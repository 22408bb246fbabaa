// What a valid config allows but an operator most likely did not mean:
// settings that risk a stalled client, a payment sent twice or an admin
// token sent over the network in clear text. Each names its place (file:line:column) and
// says why in a sentence. `fulcrum -t` and the start print them; they
// never stop a config from loading, unless `fulcrum -t --strict` (for CI
// pipelines) makes them errors.
#pragma once

#include <vector>

#include "config/diagnostics.h"
#include "config/schema.h"

namespace fulcrum::config {

// How long servers commonly keep an idle connection open. A POST without a
// key must not go out on a connection older than the shortest of them
// (Node.js and Apache close after 5s), or the server may close it as the
// payment arrives: reuse_safe_window stays below this.
inline constexpr Duration kShortServerKeepAlive{4000};
// nginx, the most common server in front of applications, closes after
// 75s: kept longer, idle connections routinely meet that close.
inline constexpr Duration kCommonServerKeepAlive{75000};

std::vector<Diagnostic> warnings(const Config& config);

}  // namespace fulcrum::config
