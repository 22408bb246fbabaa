#include "http/codec/framing.h"

#include <charconv>

#include "http/codec/field_rules.h"

namespace fulcrum::http {
namespace {

bool isTransferEncoding(std::string_view name) {
  return equalsIgnoreCase(name, "transfer-encoding");
}

bool hasTransferEncoding(const Head& head) {
  for (const Field& field : head.fields)
    if (isTransferEncoding(field.name)) return true;
  return false;
}

}  // namespace

BodyOut requestBodyOut(Framing framing) {
  switch (framing) {
    case Framing::ContentLength:
      return BodyOut::ContentLength;
    case Framing::Chunked:
      return BodyOut::Chunked;
    case Framing::None:
    case Framing::UntilClose:
      break;
  }
  return BodyOut::None;
}

BodyOut responseBodyOut(const ResponseHead& head, bool http10_client) {
  switch (head.framing) {
    case Framing::None:
      return BodyOut::None;
    case Framing::ContentLength:
      return BodyOut::ContentLength;
    case Framing::Chunked:
      return http10_client ? BodyOut::UntilClose : BodyOut::Chunked;
    case Framing::UntilClose:
      // Codings the server named must reach the client, and a
      // Transfer-Encoding that does not end in chunked is the header
      // proxies and clients read differently: such a body goes out chunked,
      // the codings named before it. Without codings there is nothing to
      // say, and closing says where the body ends.
      return !http10_client && hasTransferEncoding(head) ? BodyOut::Chunked : BodyOut::UntilClose;
  }
  return BodyOut::None;
}

bool isFramingField(std::string_view name) {
  return equalsIgnoreCase(name, "content-length") || isTransferEncoding(name);
}

void appendFramingField(std::string& out, const Head& head, BodyOut body) {
  if (body == BodyOut::ContentLength) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof(digits), head.content_length).ptr;
    out.append("Content-Length: ").append(digits, end).append("\r\n");
    return;
  }
  if (body != BodyOut::Chunked) return;
  out.append("Transfer-Encoding: ");
  // The codings applied before chunked, in order; chunked is fulcrum's own
  // now, and "identity" means no coding at all.
  for (const Field& field : head.fields) {
    if (!isTransferEncoding(field.name)) continue;
    rules::forEachElement(field.value, [&](std::string_view coding) {
      if (coding.empty() || equalsIgnoreCase(coding, "chunked") ||
          equalsIgnoreCase(coding, "identity"))
        return;
      out.append(coding).append(", ");
    });
  }
  out.append("chunked\r\n");
}

}  // namespace fulcrum::http
