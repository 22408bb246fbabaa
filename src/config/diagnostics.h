// Config errors: each names the file, the 1-based line and column, the key
// path ("upstreams.payments.servers[1].address") and what is wrong. The
// loader and validator append to one list so a file's errors are reported
// together, in file order.
#pragma once

#include <string>
#include <vector>

#include "config/schema.h"

namespace fulcrum::config {

struct Diagnostic {
  std::string file;
  Mark mark;
  std::string key;
  std::string message;

  // "FILE:LINE:COLUMN: KEY: MESSAGE"
  std::string toString() const;
};

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void error(Mark mark, std::string key, std::string message);
  bool empty() const { return list_.empty(); }
  // Sorted by position, so the report reads top to bottom.
  std::vector<Diagnostic> sorted() const;

 private:
  std::string file_;
  std::vector<Diagnostic> list_;
};

}  // namespace fulcrum::config
