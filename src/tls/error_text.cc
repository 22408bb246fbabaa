#include "tls/error_text.h"

#include <openssl/err.h>

namespace fulcrum::tls {
namespace {

// A runaway queue should not make a log line endless.
constexpr int kMaxEntries = 4;

}  // namespace

std::string drainErrors(unsigned long* first_code) {
  if (first_code != nullptr) *first_code = 0;
  std::string text;
  int entries = 0;
  const char* data = nullptr;
  int flags = 0;
  while (unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    if (entries == 0 && first_code != nullptr) *first_code = code;
    if (++entries > kMaxEntries) continue;  // keep draining, stop describing
    if (!text.empty()) text += "; ";
    if (const char* reason = ERR_reason_error_string(code)) {
      text += reason;
    } else {
      char buffer[256];
      ERR_error_string_n(code, buffer, sizeof(buffer));
      text += buffer;
    }
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      text += " (";
      text += data;
      text += ")";
    }
  }
  return text;
}

}  // namespace fulcrum::tls
