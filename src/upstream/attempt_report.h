// What one upstream attempt ended with, as the data path reports it to
// outlier detection: the one narrow channel from requests to health.
#pragma once

#include <cstdint>

namespace fulcrum::upstream {

enum class AttemptOutcome : uint8_t {
  ConnectFailure,  // refused, timed out, unreachable: nothing was sent
  Connected,       // the connect worked (TCP proxying: that is the success)
  Reset,           // the connection failed or closed before a response
  Timeout,         // no response within the response timeout
  Response,        // a response head arrived; see status
};

struct Attempt {
  AttemptOutcome outcome = AttemptOutcome::Connected;
  uint16_t status = 0;  // Response only

  // Results that outlier detection never needs to hear about when the
  // server has no failure streak going (the common case stays local).
  bool isPlainSuccess() const {
    return outcome == AttemptOutcome::Connected ||
           (outcome == AttemptOutcome::Response && status < 500);
  }
};

// Where a worker's data path sends attempt results. Implementations live on
// the worker's thread; report() is cheap for plain successes.
class AttemptSink {
 public:
  virtual void report(uint32_t server_index, const Attempt& attempt) = 0;

 protected:
  ~AttemptSink() = default;
};

}  // namespace fulcrum::upstream
