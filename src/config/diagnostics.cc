#include "config/diagnostics.h"

#include <algorithm>

namespace fulcrum::config {

std::string Diagnostic::toString() const {
  std::string out = file + ":";
  if (mark.line > 0) out += std::to_string(mark.line) + ":" + std::to_string(mark.column) + ":";
  out += " ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

void Diagnostics::error(Mark mark, std::string key, std::string message) {
  list_.push_back(Diagnostic{file_, mark, std::move(key), std::move(message)});
}

std::vector<Diagnostic> Diagnostics::sorted() const {
  std::vector<Diagnostic> out = list_;
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.mark.line != b.mark.line) return a.mark.line < b.mark.line;
    return a.mark.column < b.mark.column;
  });
  return out;
}

}  // namespace fulcrum::config
