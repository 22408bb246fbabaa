// OpenSSL reports errors on a per-thread queue; these turn it into text for
// logs and probe results.
#pragma once

#include <string>

namespace fulcrum::tls {

// Empties the calling thread's OpenSSL error queue and returns its entries,
// oldest first, joined by "; ": each entry's reason ("wrong version
// number"), followed by OpenSSL's extra data in parentheses when there is
// some. Empty when the queue was empty. `first_code`, when given, gets the
// oldest entry's packed code (ERR_GET_LIB, ERR_GET_REASON), 0 when none:
// the root cause, which tls/handshake_result.h sorts handshakes by.
std::string drainErrors(unsigned long* first_code = nullptr);

}  // namespace fulcrum::tls
