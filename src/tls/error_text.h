// OpenSSL reports errors on a per-thread queue; these turn it into text for
// logs and probe results.
#pragma once

#include <string>

namespace fulcrum::tls {

// Empties the calling thread's OpenSSL error queue and returns its entries,
// oldest first, joined by "; ": each entry's reason ("wrong version
// number"), followed by OpenSSL's extra data in parentheses when there is
// some. Empty when the queue was empty.
std::string drainErrors();

}  // namespace fulcrum::tls
