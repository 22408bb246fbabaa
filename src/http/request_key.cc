#include "http/request_key.h"

namespace fulcrum::http {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string_view findCookie(const RequestHead& head, std::string_view name) {
  for (const Field& field : head.fields) {
    if (!equalsIgnoreCase(field.name, "cookie")) continue;
    std::string_view rest = field.value;
    while (!rest.empty()) {
      size_t end = rest.find(';');
      std::string_view pair = trim(rest.substr(0, end));
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      size_t equals = pair.find('=');
      if (equals != std::string_view::npos && trim(pair.substr(0, equals)) == name)
        return trim(pair.substr(equals + 1));
    }
  }
  return {};
}

std::optional<uint64_t> requestHashKey(const config::HashKey& key, const RequestHead& head,
                                       const SocketAddress& client) {
  using Kind = config::HashKey::Kind;
  std::string_view value;
  switch (key.kind) {
    case Kind::None:
      return std::nullopt;
    case Kind::SourceIp:
      return upstream::hashSourceIp(client);
    case Kind::Header:
      for (const Field& field : head.fields) {
        if (equalsIgnoreCase(field.name, key.name)) {
          value = field.value;
          break;
        }
      }
      break;
    case Kind::Cookie:
      value = findCookie(head, key.name);
      break;
    case Kind::Uri:
      value = head.path.substr(0, head.path.find('?'));
      break;
    case Kind::UriWithQuery:
      value = head.path;
      break;
  }
  if (value.empty()) return std::nullopt;
  return upstream::hashKeyBytes(value);
}

}  // namespace fulcrum::http
