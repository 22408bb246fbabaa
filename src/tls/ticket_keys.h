// The keys that seal a listener's session tickets, outside any config
// generation: a reload keeps them, so a client's ticket resumes on the new
// generation as on the old, and every worker seals and opens with the same
// keys, so a ticket made on one worker resumes on any other.
//
// Keys rotate by time: the newest key seals; when it is `rotation` old, the
// next ticket sealed makes a new one. A retired key still opens tickets
// (and the client is sent a fresh one) for two more rotations, then is
// forgotten, so a ticket resumes for at least 2 x rotation and a stolen
// key opens no session older than 3 x rotation. The check is made when a
// ticket is sealed or opened, so an idle listener holds no timer.
//
// Thread-safe: OpenSSL calls the ticket callback on every worker's thread.
// Each SSL_CTX it is installed on holds a reference (its ex_data, released
// when OpenSSL frees the context), so the keys live as long as any SSL
// made on those contexts, however long a connection outlives its config.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace fulcrum::tls {

class TicketKeys {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr std::chrono::seconds kDefaultRotation{3600};

  explicit TicketKeys(std::chrono::seconds rotation = kDefaultRotation, Clock clock = nullptr);

  // Makes every ticket of `ctx` sealed and opened with `keys`, and sets the
  // session lifetime the client is told to 2 x rotation.
  static void install(SSL_CTX* ctx, const std::shared_ptr<TicketKeys>& keys);

  enum class Opened { Unknown, Current, Retired };

  struct Key {
    std::array<unsigned char, 16> name{};
    std::array<unsigned char, 32> cipher_key{};  // AES-256-CBC
    std::array<unsigned char, 32> mac_key{};     // HMAC-SHA256
    std::chrono::steady_clock::time_point made;
  };

  // The key to seal a new ticket with (rotating first when it is due).
  Key sealingKey();
  // The key named `name`, and whether it is still the sealing one.
  Opened find(const unsigned char* name, Key& key);

  size_t keysHeld() const;

 private:
  void forgetExpired(std::chrono::steady_clock::time_point now);
  static int onTicket(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                      EVP_MAC_CTX* mac, int sealing);

  const std::chrono::seconds rotation_;
  const Clock clock_;
  mutable std::mutex mutex_;
  std::deque<Key> keys_;  // newest first
};

}  // namespace fulcrum::tls
