// A tiny JSON reader for tests: enough to prove the admin listener's
// documents parse and to look at their fields.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace fulcrum::test {

// A parsed JSON value. The accessors throw (std::bad_variant_access,
// std::out_of_range) when the value is not of the kind asked for.
struct Json {
  std::variant<std::nullptr_t, bool, double, std::string, std::vector<Json>,
               std::map<std::string, Json>>
      value;

  const Json& operator[](const std::string& key) const {
    return std::get<std::map<std::string, Json>>(value).at(key);
  }
  const Json& operator[](size_t index) const {
    return std::get<std::vector<Json>>(value).at(index);
  }
  size_t size() const {
    if (auto* array = std::get_if<std::vector<Json>>(&value)) return array->size();
    return std::get<std::map<std::string, Json>>(value).size();
  }
  const std::string& str() const { return std::get<std::string>(value); }
  double num() const { return std::get<double>(value); }
  bool boolean() const { return std::get<bool>(value); }
  bool null() const { return std::holds_alternative<std::nullptr_t>(value); }
};

// The document in `text`. Throws std::runtime_error on malformed input
// (with the offset) and on trailing bytes.
Json parseJson(const std::string& text);

}  // namespace fulcrum::test
