// Listening sockets passed between processes: Unix SOCK_SEQPACKET sockets
// carrying a text message and open descriptors (SCM_RIGHTS) in one
// datagram, so a message and its descriptors arrive together or not at
// all. The receiver gets new descriptors for the same open sockets: the
// kernel's accept queue goes with them.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace fulcrum::net {

// The most descriptors one message carries (the kernel's SCM_MAX_FD is
// 253); a sender splits larger sets over several messages.
constexpr size_t kMaxFdsPerMessage = 200;
// The longest text of one message.
constexpr size_t kMaxFdMessageText = 64 * 1024;

// A socket bound and listening at `path` (a stale file there is removed
// first), non-blocking, close-on-exec, mode 0600. -1 with the reason.
int listenUnixPacket(const std::string& path, std::string& why);
// A blocking connection to `path` whose sends and receives give up after
// `timeout`. -1 with the reason.
int connectUnixPacket(const std::string& path, std::chrono::milliseconds timeout, std::string& why);

// Sends `text` with `fds` (at most kMaxFdsPerMessage; the caller keeps
// them open). False with the reason.
bool sendWithFds(int socket, const std::string& text, const std::vector<int>& fds,
                 std::string& why);
// Receives one message; the descriptors that came with it are the
// caller's to close (close-on-exec set). False with the reason; the peer
// closing is "closed by the peer".
bool receiveWithFds(int socket, std::string& text, std::vector<int>& fds, std::string& why);

}  // namespace fulcrum::net
