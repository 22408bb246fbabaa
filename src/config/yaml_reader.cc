#include "config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <vector>

namespace fulcrum::config {
namespace {

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

bool validName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return false;
  return true;
}

// Levenshtein distance, for "did you mean" on misspelt keys.
size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

Mark markOf(const YAML::Node& node) {
  YAML::Mark m = node.Mark();
  if (m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

void YamlReader::error(const YAML::Node& node, const std::string& path, std::string message) {
  diag_.error(markOf(node), path, std::move(message));
}

bool YamlReader::expectMap(const YAML::Node& node, const std::string& path) {
  if (node.IsMap()) return true;
  error(node, path, "expected a mapping (key: value)");
  return false;
}

void YamlReader::forEachKey(const YAML::Node& map, const std::string& path,
                            std::initializer_list<KeySpec> keys, const KeyHandler& handle) {
  std::set<std::string> seen;
  for (const auto& entry : map) {
    const YAML::Node& key_node = entry.first;
    if (!key_node.IsScalar()) {
      error(key_node, path, "a key must be a plain name");
      continue;
    }
    std::string key = key_node.Scalar();
    std::string key_path = join(path, key);
    const KeySpec* spec = nullptr;
    for (const auto& candidate : keys)
      if (key == candidate.name) spec = &candidate;
    if (spec == nullptr) {
      std::string valid;
      const char* closest = nullptr;
      for (const auto& candidate : keys) {
        valid += (valid.empty() ? "" : ", ") + std::string(candidate.name);
        // Close enough to be a typo, not just another short word.
        size_t limit = std::max<size_t>(1, std::min<size_t>(2, key.size() / 3));
        if (closest == nullptr && editDistance(key, candidate.name) <= limit)
          closest = candidate.name;
      }
      std::string hint = closest ? std::string("; did you mean '") + closest + "'?" : "";
      error(key_node, key_path, "unknown key" + hint + " (valid here: " + valid + ")");
      continue;
    }
    if (!seen.insert(key).second) {
      error(key_node, key_path, "duplicate key");
      continue;
    }
    if (!spec->supported) {
      error(key_node, key_path, "not supported yet by this version of fulcrum");
      continue;
    }
    if (entry.second.IsNull()) {
      error(key_node, key_path, "a value is required");
      continue;
    }
    handle(key, entry.second, key_path);
  }
}

std::optional<std::string> YamlReader::scalar(const YAML::Node& node, const std::string& path) {
  if (node.IsScalar() && !node.Scalar().empty()) return node.Scalar();
  error(node, path, node.IsNull() ? "a value is required" : "expected a single value");
  return std::nullopt;
}

std::optional<unsigned> YamlReader::integer(const YAML::Node& node, const std::string& path,
                                            unsigned min, unsigned max, const char* alternatives) {
  auto text = scalar(node, path);
  if (!text) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < min || value > max) {
    error(node, path,
          std::string("expected ") + alternatives + "a whole number from " + std::to_string(min) +
              " to " + std::to_string(max) + ", got '" + *text + "'");
    return std::nullopt;
  }
  return value;
}

std::optional<bool> YamlReader::boolean(const YAML::Node& node, const std::string& path) {
  auto text = scalar(node, path);
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  error(node, path, "expected true or false, got '" + *text + "'");
  return std::nullopt;
}

std::optional<Duration> YamlReader::duration(const YAML::Node& node, const std::string& path,
                                             Duration min) {
  auto text = scalar(node, path);
  if (!text) return std::nullopt;
  std::string why;
  auto value = parseDuration(*text, why);
  if (!value) {
    error(node, path, why + ", got '" + *text + "'");
  } else if (*value < min) {
    error(node, path, "must be at least " + formatDuration(min) + ", got '" + *text + "'");
    return std::nullopt;
  }
  return value;
}

bool YamlReader::address(const YAML::Node& node, const std::string& path, std::string& text,
                         SocketAddress& out) {
  auto value = scalar(node, path);
  if (!value) return false;
  std::string why;
  if (!parseSocketAddress(*value, out, why)) {
    error(node, path, "bad address '" + *value + "': " + why);
    return false;
  }
  text = *value;
  return true;
}

std::optional<std::string> YamlReader::name(const YAML::Node& node, const std::string& path) {
  auto value = scalar(node, path);
  if (value && !validName(*value)) {
    error(node, path,
          "'" + *value + "' is not a valid name (1-64 of letters, digits, '_', '-', '.')");
    return std::nullopt;
  }
  return value;
}

std::optional<uint64_t> YamlReader::size(const YAML::Node& node, const std::string& path,
                                         uint64_t min, uint64_t max) {
  auto text = scalar(node, path);
  if (!text) return std::nullopt;
  std::string why;
  auto value = parseSize(*text, why);
  if (!value) {
    error(node, path, why + ", got '" + *text + "'");
  } else if (*value < min || *value > max) {
    error(node, path,
          "must be from " + std::to_string(min) + " to " + std::to_string(max) + " bytes, got '" +
              *text + "'");
    return std::nullopt;
  }
  return value;
}

}  // namespace fulcrum::config
