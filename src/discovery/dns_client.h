// Asynchronous DNS lookups on one EventLoop (the control loop), through
// c-ares: A and AAAA records (with their TTLs) and SRV records. libevent's
// evdns has no SRV lookup, and one resolver for both keeps one set of
// servers, timeouts and retries.
// Lifetime: a callback runs on the loop, at most once, and never after
// the DnsClient is destroyed (pending lookups end silently then); it may
// start new lookups but must not destroy the client.
#pragma once

#include <ares.h>
#include <event2/event.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/socket_address.h"
#include "net/event_loop.h"
#include "net/timer.h"

namespace fulcrum::discovery {

enum class LookupResult {
  Success,
  NotFound,  // NXDOMAIN, or the name has no record of the type asked
  Failure,   // timeout, refused, server failure, bad answer
};
const char* lookupResultName(LookupResult result);  // "success", "not_found", "failure"

struct AddressAnswer {
  LookupResult result = LookupResult::Failure;
  std::string error;                     // c-ares' text when not Success
  std::vector<SocketAddress> addresses;  // port 0; A and AAAA, in answer order
  std::chrono::seconds ttl{0};           // the shortest TTL of the records
};

struct SrvRecord {
  std::string target;
  uint16_t port = 0;
  uint16_t priority = 0;
  uint16_t weight = 0;
};

struct SrvAnswer {
  LookupResult result = LookupResult::Failure;
  std::string error;
  std::vector<SrvRecord> records;
};

class DnsClient {
 public:
  // `servers` empty: /etc/resolv.conf's, after /etc/hosts; else only
  // these, asked directly (no hosts file). Check ok() after.
  DnsClient(net::EventLoop& loop, const std::vector<SocketAddress>& servers);
  ~DnsClient();
  DnsClient(const DnsClient&) = delete;
  DnsClient& operator=(const DnsClient&) = delete;

  bool ok() const { return channel_ != nullptr; }
  const std::string& error() const { return error_; }

  void lookupAddresses(const std::string& name, std::function<void(AddressAnswer)> done);
  void lookupSrv(const std::string& name, std::function<void(SrvAnswer)> done);

 private:
  static void onSocketState(void* self, ares_socket_t fd, int readable, int writable);
  static void onSocketEvent(evutil_socket_t fd, short what, void* self);
  // Asks c-ares when its next timeout is due and arms the timer for it.
  void rearm();

  net::EventLoop& loop_;
  ares_channel channel_ = nullptr;
  std::string error_;
  std::map<ares_socket_t, event*> events_;
  net::Timer timeout_;
};

}  // namespace fulcrum::discovery
