// Session resumption for a client context: the last session each server
// gave is kept, and the next connection to that server offers it, so it
// resumes (an abbreviated handshake: no certificate sent or verified, no
// key exchange with the certificate's key) instead of a full handshake.
//
// The sessions live with the SSL_CTX (its ex_data, freed with it), so an
// SSL object that outlives the ClientContext of its generation, or gets
// a TLS 1.3 ticket long after its handshake, still has a place to leave
// it. One store per context, shared by every worker: a session one
// worker got serves the others, as on the listener side. A mutex guards
// it; it is taken when a connection starts and when a server sends a
// session (a TLS 1.3 ticket, or the end of a TLS 1.2 handshake), never
// per request. An SSL_SESSION is refcounted and not changed once made,
// so several connections, on several threads, may offer the same one.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>

namespace fulcrum::tls {

// Sets `ctx` up to keep sessions (a client cache with no internal store:
// ours is keyed by server, OpenSSL's by session id). Once, at load.
// False when OpenSSL cannot make the store.
bool keepClientSessions(SSL_CTX* ctx);

// Offers `ssl` the last session of server `server` (its index in the
// upstream), if any, and keeps the sessions this connection is given for
// the next one. Before the handshake. Only for an SSL of a context set up
// by keepClientSessions().
void resumeSession(SSL* ssl, uint32_t server);

}  // namespace fulcrum::tls
