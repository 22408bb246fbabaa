// One framing for every message fulcrum passes on (RFC 9112 section 6).
// Whatever framing fields a message arrived with (two identical
// Content-Length fields, "5, 5", several Transfer-Encoding fields), it
// leaves with at most one, written by fulcrum for the way fulcrum sends the
// body, so that no server or client behind it can read the message's
// length differently from fulcrum:
//  - a Content-Length body: "Content-Length: N", one field;
//  - a chunked body: re-chunked by fulcrum (sizes written by fulcrum,
//    extensions and trailers dropped), "Transfer-Encoding: chunked" after
//    the other codings a response named ("gzip, chunked");
//  - a response whose final coding was not chunked (it ended when the
//    server closed): re-chunked to an HTTP/1.1 client, as above;
//  - a response to an HTTP/1.0 client that cannot take chunked: its data
//    only, ended by closing the connection, with no framing field.
// Bodiless responses (to HEAD, 1xx, 204, 304) keep their fields as sent:
// there they describe another message, not this one's length.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/codec/parser.h"

namespace fulcrum::http {

// How fulcrum sends a body on.
enum class BodyOut : uint8_t {
  None,           // no body: framing fields pass as they came
  ContentLength,  // as received, with one Content-Length field
  Chunked,        // chunked by fulcrum
  UntilClose,     // the data, ended by closing the connection
};

// A request's body goes to the server in its own framing (a request has no
// until-close body), re-chunked when chunked.
BodyOut requestBodyOut(Framing framing);
// A response's body to a client of the given version.
BodyOut responseBodyOut(const ResponseHead& head, bool http10_client);

// Content-Length or Transfer-Encoding.
bool isFramingField(std::string_view name);

// Appends the one framing field line fulcrum sends for `body` (nothing for
// None and UntilClose): the length or the codings come from `head`.
void appendFramingField(std::string& out, const Head& head, BodyOut body);

}  // namespace fulcrum::http
