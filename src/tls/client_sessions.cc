#include "tls/client_sessions.h"

#include <openssl/crypto.h>

#include <deque>
#include <mutex>

namespace fulcrum::tls {
namespace {

// One server's last session.
struct Slot {
  SSL_SESSION* session = nullptr;  // null: none yet
};

struct SessionStore {
  std::mutex mutex;
  // By server index. A deque, so a slot stays where it is as more are
  // added: an SSL points at its server's slot.
  std::deque<Slot> by_server;

  ~SessionStore() {
    for (Slot& slot : by_server) SSL_SESSION_free(slot.session);
  }
};

void freeStore(void*, void* store, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<SessionStore*>(store);  // null for contexts without one
}

// Where a context keeps its store, and where an SSL keeps its server's
// slot (null, the default, for an SSL that keeps nothing, such as a
// health probe's). The store lives as long as the context, and an SSL
// holds a reference to its context, so the slot outlives the SSL.
int storeIndex() {
  static const int index =
      CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, nullptr, nullptr, nullptr, &freeStore);
  return index;
}

int slotIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

SessionStore* storeOf(SSL_CTX* ctx) {
  return static_cast<SessionStore*>(SSL_CTX_get_ex_data(ctx, storeIndex()));
}

// OpenSSL calls this with a new session: after a TLS 1.2 handshake, or
// for each ticket a TLS 1.3 server sends after its handshake. Returning 1
// keeps OpenSSL's reference.
int onNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* slot = static_cast<Slot*>(SSL_get_ex_data(ssl, slotIndex()));
  SessionStore* store = storeOf(SSL_get_SSL_CTX(ssl));
  if (slot == nullptr || store == nullptr || SSL_SESSION_is_resumable(session) != 1) return 0;
  SSL_SESSION* replaced = nullptr;
  {
    std::lock_guard<std::mutex> lock(store->mutex);
    replaced = slot->session;
    slot->session = session;
  }
  SSL_SESSION_free(replaced);
  return 1;
}

}  // namespace

bool keepClientSessions(SSL_CTX* ctx) {
  auto* store = new SessionStore();
  if (storeIndex() < 0 || slotIndex() < 0 || SSL_CTX_set_ex_data(ctx, storeIndex(), store) != 1) {
    delete store;
    return false;
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &onNewSession);
  return true;
}

void resumeSession(SSL* ssl, uint32_t server) {
  SessionStore* store = storeOf(SSL_get_SSL_CTX(ssl));
  if (store == nullptr) return;
  std::lock_guard<std::mutex> lock(store->mutex);
  if (store->by_server.size() <= server) store->by_server.resize(server + 1);
  Slot& slot = store->by_server[server];
  SSL_set_ex_data(ssl, slotIndex(), &slot);
  // SSL_set_session takes its own reference, under the lock, so a
  // replacement cannot free the session in between.
  if (slot.session != nullptr) SSL_set_session(ssl, slot.session);
}

}  // namespace fulcrum::tls
