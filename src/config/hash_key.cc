#include "config/hash_key.h"

namespace fulcrum::config {

std::string HashKey::describe() const {
  switch (kind) {
    case Kind::None:
      return "none";
    case Kind::SourceIp:
      return "source_ip";
    case Kind::Header:
      return "header:" + name;
    case Kind::Cookie:
      return "cookie:" + name;
    case Kind::Uri:
      return "uri";
    case Kind::UriWithQuery:
      return "uri_with_query";
  }
  return "?";
}

}  // namespace fulcrum::config
