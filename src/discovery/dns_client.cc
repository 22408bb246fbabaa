#include "discovery/dns_client.h"

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <mutex>

namespace fulcrum::discovery {
namespace {

LookupResult classify(int status) {
  if (status == ARES_SUCCESS) return LookupResult::Success;
  if (status == ARES_ENOTFOUND || status == ARES_ENODATA) return LookupResult::NotFound;
  return LookupResult::Failure;
}

// c-ares wants "host:port" with brackets around IPv6.
std::string serversCsv(const std::vector<SocketAddress>& servers) {
  std::string csv;
  for (const SocketAddress& server : servers) {
    if (!csv.empty()) csv += ",";
    csv += server.toString();
  }
  return csv;
}

template <typename Answer>
struct Pending {
  std::function<void(Answer)> done;
};

}  // namespace

const char* lookupResultName(LookupResult result) {
  switch (result) {
    case LookupResult::Success:
      return "success";
    case LookupResult::NotFound:
      return "not_found";
    case LookupResult::Failure:
      return "failure";
  }
  return "failure";
}

DnsClient::DnsClient(net::EventLoop& loop, const std::vector<SocketAddress>& servers)
    : loop_(loop), timeout_(loop, [this] {
        ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        rearm();
      }) {
  static std::once_flag library;
  std::call_once(library, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  ares_options options{};
  options.sock_state_cb = &DnsClient::onSocketState;
  options.sock_state_cb_data = this;
  options.timeout = 1000;  // ms per try
  options.tries = 2;
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  // Explicit servers are the only source: a name in /etc/hosts must not
  // hide what they answer.
  char lookups[] = "b";
  if (!servers.empty()) {
    options.lookups = lookups;
    mask |= ARES_OPT_LOOKUPS;
  }
  int status = ares_init_options(&channel_, &options, mask);
  if (status != ARES_SUCCESS) {
    error_ = ares_strerror(status);
    channel_ = nullptr;
    return;
  }
  if (!servers.empty()) {
    status = ares_set_servers_ports_csv(channel_, serversCsv(servers).c_str());
    if (status != ARES_SUCCESS) {
      error_ = ares_strerror(status);
      ares_destroy(channel_);
      channel_ = nullptr;
    }
  }
}

DnsClient::~DnsClient() {
  // Pending lookups end here with ARES_EDESTRUCTION; their callbacks see it
  // and call nobody.
  if (channel_ != nullptr) ares_destroy(channel_);
  for (auto& [fd, ev] : events_) event_free(ev);
}

void DnsClient::onSocketState(void* arg, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<DnsClient*>(arg);
  auto it = self->events_.find(fd);
  if (it != self->events_.end()) {
    event_free(it->second);
    self->events_.erase(it);
  }
  if (!readable && !writable) return;
  const short what =
      static_cast<short>((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0) | EV_PERSIST);
  event* ev = event_new(self->loop_.base(), fd, what, &DnsClient::onSocketEvent, self);
  event_add(ev, nullptr);
  self->events_[fd] = ev;
}

void DnsClient::onSocketEvent(evutil_socket_t fd, short what, void* arg) {
  auto* self = static_cast<DnsClient*>(arg);
  ares_process_fd(self->channel_, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
                  (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
  self->rearm();
}

void DnsClient::rearm() {
  timeval limit{};
  timeval* next = ares_timeout(channel_, nullptr, &limit);
  if (next == nullptr) {
    timeout_.cancel();
    return;
  }
  timeout_.arm(std::chrono::milliseconds(next->tv_sec * 1000 + next->tv_usec / 1000 + 1));
}

void DnsClient::lookupAddresses(const std::string& name, std::function<void(AddressAnswer)> done) {
  if (channel_ == nullptr) {
    done(AddressAnswer{LookupResult::Failure, error_, {}, std::chrono::seconds(0)});
    return;
  }
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = ARES_AI_NOSORT;
  auto* pending = new Pending<AddressAnswer>{std::move(done)};
  ares_getaddrinfo(
      channel_, name.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* info) {
        std::unique_ptr<Pending<AddressAnswer>> owned(static_cast<Pending<AddressAnswer>*>(arg));
        if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
          if (info != nullptr) ares_freeaddrinfo(info);
          return;
        }
        AddressAnswer answer;
        answer.result = classify(status);
        if (answer.result != LookupResult::Success) answer.error = ares_strerror(status);
        int ttl = -1;
        for (ares_addrinfo_node* node = info != nullptr ? info->nodes : nullptr; node != nullptr;
             node = node->ai_next) {
          if (node->ai_family != AF_INET && node->ai_family != AF_INET6) continue;
          SocketAddress address(node->ai_addr, node->ai_addrlen);
          address.setPort(0);
          if (std::find(answer.addresses.begin(), answer.addresses.end(), address) ==
              answer.addresses.end())
            answer.addresses.push_back(address);
          ttl = ttl < 0 ? node->ai_ttl : std::min(ttl, node->ai_ttl);
        }
        if (info != nullptr) ares_freeaddrinfo(info);
        answer.ttl = std::chrono::seconds(std::max(ttl, 0));
        if (answer.result == LookupResult::Success && answer.addresses.empty())
          answer.result = LookupResult::NotFound;
        owned->done(std::move(answer));
      },
      pending);
  rearm();
}

void DnsClient::lookupSrv(const std::string& name, std::function<void(SrvAnswer)> done) {
  if (channel_ == nullptr) {
    done(SrvAnswer{LookupResult::Failure, error_, {}});
    return;
  }
  auto* pending = new Pending<SrvAnswer>{std::move(done)};
  ares_query(
      channel_, name.c_str(), ns_c_in, ns_t_srv,
      [](void* arg, int status, int, unsigned char* buffer, int length) {
        std::unique_ptr<Pending<SrvAnswer>> owned(static_cast<Pending<SrvAnswer>*>(arg));
        if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
        SrvAnswer answer;
        ares_srv_reply* replies = nullptr;
        if (status == ARES_SUCCESS) status = ares_parse_srv_reply(buffer, length, &replies);
        answer.result = classify(status);
        if (answer.result != LookupResult::Success) answer.error = ares_strerror(status);
        for (ares_srv_reply* reply = replies; reply != nullptr; reply = reply->next)
          answer.records.push_back(
              SrvRecord{reply->host, reply->port, reply->priority, reply->weight});
        if (replies != nullptr) ares_free_data(replies);
        if (answer.result == LookupResult::Success && answer.records.empty())
          answer.result = LookupResult::NotFound;
        owned->done(std::move(answer));
      },
      pending);
  rearm();
}

}  // namespace fulcrum::discovery
