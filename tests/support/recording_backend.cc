#include "support/recording_backend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>

#include "support/http.h"
#include "support/wait.h"

namespace fulcrum::test {
namespace {

using Clock = std::chrono::steady_clock;

// How long one request may take to arrive once its first byte did.
constexpr std::chrono::seconds kRequestDeadline{5};
// How long a re-listen may keep failing before setBehaviour gives up.
constexpr std::chrono::seconds kRelistenDeadline{3};

// A socket bound to 127.0.0.1:port with SO_REUSEADDR, not listening: a
// connect to it is refused, and the port stays ours. Sockets accepted from
// a listener inherit SO_REUSEADDR, so neither they nor their TIME_WAIT
// remains stop the port from being bound again.
Fd boundSocket(uint16_t port) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Fd();
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return Fd();
  return fd;
}

uint16_t localPort(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

void resetAndClose(int fd) {
  linger hard{1, 0};  // close sends RST, not FIN
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  close(fd);
}

int remainingMs(Clock::time_point until) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

const char* behaviourName(Behaviour behaviour) {
  switch (behaviour) {
    case Behaviour::Answer:
      return "Answer";
    case Behaviour::Refuse:
      return "Refuse";
    case Behaviour::ResetBeforeRead:
      return "ResetBeforeRead";
    case Behaviour::ReadThenReset:
      return "ReadThenReset";
    case Behaviour::ReadThenStall:
      return "ReadThenStall";
    case Behaviour::Answer503:
      return "Answer503";
    case Behaviour::ClosePooledOnNextRequest:
      return "ClosePooledOnNextRequest";
    case Behaviour::DieOnPooledRequest:
      return "DieOnPooledRequest";
  }
  return "?";
}

uint64_t bodyHash(const std::string& body) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : body) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string hexHash(uint64_t hash) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

RecordingBackend::RecordingBackend(std::string name, Behaviour behaviour,
                                   std::chrono::milliseconds stall_limit)
    : name_(std::move(name)), stall_limit_(stall_limit), behaviour_(behaviour) {
  listener_ = boundSocket(0);
  if (!listener_) throw std::runtime_error("recording backend: bind");
  port_ = localPort(listener_.get());
  if (behaviour != Behaviour::Refuse) {
    if (listen(listener_.get(), 128) != 0) throw std::runtime_error("recording backend: listen");
    listening_ = true;
  }
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0 || pipe2(stop_, O_CLOEXEC) != 0)
    throw std::runtime_error("recording backend: pipe");
  acceptor_ = std::thread([this] { acceptLoop(); });
}

RecordingBackend::~RecordingBackend() {
  stopping_ = true;
  close(stop_[1]);  // every poll on stop_[0] now sees EOF
  acceptor_.join();
  std::list<std::unique_ptr<Connection>> connections;
  {
    std::lock_guard lock(mutex_);
    connections.swap(connections_);
  }
  // Not under mutex_: a handler takes it to close its socket.
  for (auto& connection : connections) connection->thread.join();
  close(stop_[0]);
  close(wake_[0]);
  close(wake_[1]);
}

bool RecordingBackend::setBehaviour(Behaviour behaviour) {
  uint64_t generation;
  {
    std::lock_guard lock(mutex_);
    behaviour_ = behaviour;
    generation = ++requested_generation_;
  }
  char byte = 1;
  ssize_t ignored = write(wake_[1], &byte, 1);  // a full pipe already means "look again"
  (void)ignored;
  std::unique_lock lock(mutex_);
  bool applied = applied_.wait_for(lock, kRelistenDeadline + std::chrono::seconds(2),
                                   [&] { return applied_generation_ >= generation; });
  return applied && !listen_failed_;
}

bool RecordingBackend::kill() {
  // Not listening first, so no connection is accepted after the sweep below.
  bool stopped = setBehaviour(Behaviour::Refuse);
  std::lock_guard lock(mutex_);
  // A handler wakes from any wait with EOF and closes its socket itself:
  // closing it here could close a number its thread has not stopped using.
  for (auto& connection : connections_)
    if (connection->fd >= 0) shutdown(connection->fd, SHUT_RDWR);
  return stopped;
}

std::vector<ReceivedRequest> RecordingBackend::requests() const {
  std::lock_guard lock(mutex_);
  return received_;
}

int RecordingBackend::count(const std::string& method, const std::string& path) const {
  std::lock_guard lock(mutex_);
  int n = 0;
  for (const auto& request : received_) n += request.method == method && request.path == path;
  return n;
}

int RecordingBackend::count(const std::string& path) const {
  std::lock_guard lock(mutex_);
  int n = 0;
  for (const auto& request : received_) n += request.path == path;
  return n;
}

int RecordingBackend::total() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(received_.size());
}

void RecordingBackend::acceptLoop() {
  for (;;) {
    reapFinished();
    size_t live;
    {
      std::lock_guard lock(mutex_);
      live = connections_.size();
    }
    bool can_accept = listening_ && live < static_cast<size_t>(kMaxConnections);
    pollfd entries[3] = {{stop_[0], POLLIN, 0},
                         {wake_[0], POLLIN, 0},
                         {can_accept ? listener_.get() : -1, POLLIN, 0}};
    // At capacity, look again soon: a connection ending does not wake us.
    int rc = poll(entries, 3, listening_ && !can_accept ? 20 : -1);
    if (rc < 0 && errno != EINTR) return;
    if (stopping_ || entries[0].revents != 0) return;
    if (entries[1].revents != 0) {
      char drain[64];
      while (read(wake_[0], drain, sizeof(drain)) > 0) {
      }
      uint64_t generation;
      {
        std::lock_guard lock(mutex_);
        generation = requested_generation_;
      }
      applyListening();
      std::lock_guard lock(mutex_);
      applied_generation_ = generation;
      applied_.notify_all();
      continue;
    }
    if (!can_accept || entries[2].revents == 0) continue;
    int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int serial = accepted_.fetch_add(1) + 1;
    // Refuse here means the switch is not applied yet: a connection still
    // in the queue of a listener that is closing gets a reset too.
    if (behaviour_.load() == Behaviour::Refuse) {
      resetAndClose(fd);
      continue;
    }
    auto connection = std::make_unique<Connection>();
    connection->fd = fd;
    connection->serial = serial;
    Connection& ref = *connection;
    std::lock_guard lock(mutex_);
    connections_.push_back(std::move(connection));
    ref.thread = std::thread([this, &ref] {
      serve(ref);
      ref.done = true;
    });
  }
}

void RecordingBackend::applyListening() {
  bool want = behaviour_.load() != Behaviour::Refuse;
  bool failed = false;
  if (want && !listening_) {
    // Nothing announces a port coming free: tried every 10ms until the deadline.
    const auto retry = std::chrono::milliseconds(10);
    listening_ = pollUntil(
        [this] {
          if (!listener_) listener_ = boundSocket(port_);
          if (listener_ && listen(listener_.get(), 128) == 0) return true;
          listener_ = Fd();
          return false;
        },
        kRelistenDeadline, retry, retry);
    failed = !listening_;
  } else if (!want && listening_) {
    listener_ = Fd();  // connections still in its queue are reset
    listening_ = false;
    listener_ = boundSocket(port_);  // keep the port; connects are refused
    std::lock_guard lock(mutex_);
    for (auto& connection : connections_)
      if (connection->idle && connection->fd >= 0) shutdown(connection->fd, SHUT_RDWR);
  }
  std::lock_guard lock(mutex_);
  listen_failed_ = failed;
}

void RecordingBackend::reapFinished() {
  std::lock_guard lock(mutex_);
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->done) {
      (*it)->thread.join();  // it has returned from serve(); no lock needed by it
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

bool RecordingBackend::waitReadable(int fd, Clock::time_point until) const {
  for (;;) {
    pollfd entries[2] = {{fd, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    int rc = poll(entries, 2, remainingMs(until));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0 || entries[1].revents != 0) return false;
    return entries[0].revents != 0;
  }
}

void RecordingBackend::setIdle(Connection& connection, bool idle) {
  std::lock_guard lock(mutex_);
  connection.idle = idle;
}

void RecordingBackend::closeConnection(Connection& connection, bool reset) {
  std::lock_guard lock(mutex_);
  if (connection.fd < 0) return;
  if (reset)
    resetAndClose(connection.fd);
  else
    close(connection.fd);  // with unread bytes the kernel resets anyway
  connection.fd = -1;
}

void RecordingBackend::record(ReceivedRequest request) {
  std::lock_guard lock(mutex_);
  received_.push_back(std::move(request));
}

void RecordingBackend::serve(Connection& connection) {
  const int fd = connection.fd;  // stays open until closeConnection() below
  HttpReader reader(fd);
  for (int index = 0;; ++index) {
    // Idle from here: a switch to Refuse either sees `idle` and shuts the
    // socket down, or happened before and is seen just below.
    setIdle(connection, true);
    if (behaviour_.load() == Behaviour::Refuse) {
      setIdle(connection, false);
      closeConnection(connection, false);
      return;
    }
    bool arrived = waitReadable(fd, Clock::now() + kDeadline);
    setIdle(connection, false);
    char first;
    if (!arrived || recv(fd, &first, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) {
      closeConnection(connection, false);  // the peer closed, or we stop
      return;
    }
    // The first bytes of a request are here: what happens to it is decided now.
    const Behaviour behaviour = behaviour_.load();
    if (behaviour == Behaviour::DieOnPooledRequest && index > 0) {
      setBehaviour(Behaviour::Refuse);  // not listening before the close is seen
      closeConnection(connection, false);
      return;
    }
    if (behaviour == Behaviour::Refuse ||
        (behaviour == Behaviour::ClosePooledOnNextRequest && index > 0)) {
      closeConnection(connection, false);  // unread: not received
      return;
    }
    if (behaviour == Behaviour::ResetBeforeRead) {
      closeConnection(connection, true);
      return;
    }
    auto request = reader.request(kRequestDeadline);
    if (!request) {
      closeConnection(connection, false);
      return;
    }
    ReceivedRequest received;
    received.method = request->method;
    received.path = request->path;
    received.idempotency_key = request->field("Idempotency-Key");
    received.request_id = request->field("X-Request-Id");
    received.body_hash = bodyHash(request->body);
    received.body_size = request->body.size();
    received.connection = connection.serial;
    received.index_on_connection = index;
    received.behaviour = behaviour;
    received.at = Clock::now();
    record(std::move(received));

    std::string answer;
    const std::string hash = hexHash(bodyHash(request->body));
    const std::string fields = "X-Backend: " + name_ + "\r\nX-Body-Hash: " + hash + "\r\n";
    switch (behaviour) {
      case Behaviour::ReadThenReset:
        closeConnection(connection, true);
        return;
      case Behaviour::ReadThenStall:
        // Returns when the proxy gives up (EOF), we stop, or the limit passes.
        waitReadable(fd, Clock::now() + stall_limit_);
        closeConnection(connection, false);
        return;
      case Behaviour::Answer503:
        answer = httpResponse(503, name_ + " unavailable\n", fields);
        break;
      default:
        answer = httpResponse(200, name_ + " " + hash + "\n", fields);
        break;
    }
    auto wants_close = request->field("Connection");
    if (!writeAll(fd, answer, kRequestDeadline) ||
        (wants_close && wants_close->find("close") != std::string::npos)) {
      closeConnection(connection, false);
      return;
    }
  }
}

}  // namespace fulcrum::test
