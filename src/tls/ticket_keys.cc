#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

namespace fulcrum::tls {

namespace {

constexpr int kRetiredRotationsKept = 2;

using Held = std::shared_ptr<TicketKeys>;

void releaseHeld(void*, void* held, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<Held*>(held);
}

int exDataIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &releaseHeld);
  return index;
}

bool randomize(unsigned char* into, size_t size) {
  return RAND_bytes(into, static_cast<int>(size)) == 1;
}

bool macWith(EVP_MAC_CTX* mac, const TicketKeys::Key& key) {
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  return EVP_MAC_init(mac, key.mac_key.data(), key.mac_key.size(), params) == 1;
}

}  // namespace

TicketKeys::TicketKeys(std::chrono::seconds rotation, Clock clock)
    : rotation_(rotation),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })) {}

void TicketKeys::install(SSL_CTX* ctx, const std::shared_ptr<TicketKeys>& keys) {
  delete static_cast<Held*>(SSL_CTX_get_ex_data(ctx, exDataIndex()));
  SSL_CTX_set_ex_data(ctx, exDataIndex(), new Held(keys));
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TicketKeys::onTicket);
  SSL_CTX_set_timeout(ctx, static_cast<long>(2 * keys->rotation_.count()));
}

TicketKeys::Key TicketKeys::sealingKey() {
  const auto now = clock_();
  std::lock_guard<std::mutex> lock(mutex_);
  forgetExpired(now);
  if (keys_.empty() || now - keys_.front().made >= rotation_) {
    Key fresh;
    fresh.made = now;
    if (!randomize(fresh.name.data(), fresh.name.size()) ||
        !randomize(fresh.cipher_key.data(), fresh.cipher_key.size()) ||
        !randomize(fresh.mac_key.data(), fresh.mac_key.size()))
      return Key{};  // all-zero name: onTicket refuses to seal with it
    keys_.push_front(fresh);
  }
  return keys_.front();
}

TicketKeys::Opened TicketKeys::find(const unsigned char* name, Key& key) {
  const auto now = clock_();
  std::lock_guard<std::mutex> lock(mutex_);
  forgetExpired(now);
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (std::memcmp(keys_[i].name.data(), name, keys_[i].name.size()) != 0) continue;
    key = keys_[i];
    // The newest key is retired once it is due to rotate, even before the
    // next ticket sealed replaces it: the client gets a fresh ticket.
    const bool sealing = i == 0 && now - keys_[i].made < rotation_;
    return sealing ? Opened::Current : Opened::Retired;
  }
  return Opened::Unknown;
}

size_t TicketKeys::keysHeld() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return keys_.size();
}

void TicketKeys::forgetExpired(std::chrono::steady_clock::time_point now) {
  // A key seals for one rotation and opens for kRetiredRotationsKept more.
  const auto lifetime = rotation_ * (1 + kRetiredRotationsKept);
  while (!keys_.empty() && now - keys_.back().made >= lifetime) keys_.pop_back();
}

int TicketKeys::onTicket(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                         EVP_MAC_CTX* mac, int sealing) {
  const auto* held = static_cast<Held*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), exDataIndex()));
  if (held == nullptr) return sealing ? -1 : 0;
  TicketKeys* keys = held->get();
  if (sealing) {
    const Key key = keys->sealingKey();
    const bool named =
        std::any_of(key.name.begin(), key.name.end(), [](unsigned char c) { return c != 0; });
    if (!named || !randomize(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc()))) return -1;
    std::memcpy(name, key.name.data(), key.name.size());
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.cipher_key.data(), iv) != 1)
      return -1;
    return macWith(mac, key) ? 1 : -1;
  }
  Key key;
  const Opened opened = keys->find(name, key);
  // An unknown or expired key: a full handshake, never a failed one.
  if (opened == Opened::Unknown) return 0;
  if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.cipher_key.data(), iv) != 1)
    return -1;
  if (!macWith(mac, key)) return -1;
  return opened == Opened::Current ? 1 : 2;  // 2: resume, and send a ticket under the new key
}

}  // namespace fulcrum::tls
