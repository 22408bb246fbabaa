// The access log: one JSON object per line, to stdout or an append-only
// file. Thread-safe: each line is one write(2) on an O_APPEND descriptor,
// so lines from different workers never interleave.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace fulcrum {

class AccessLog {
 public:
  // path "-" is stdout. Returns nullptr with `why` when the file cannot be opened.
  static std::unique_ptr<AccessLog> open(const std::string& path, std::string& why);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void write(std::string line);  // a newline is added

 private:
  AccessLog(int fd, bool owned) : fd_(fd), owned_(owned) {}
  int fd_;
  bool owned_;
};

// Appends `text` to `out` as a JSON string (with quotes).
void appendJsonString(std::string& out, std::string_view text);

}  // namespace fulcrum
