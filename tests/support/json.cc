#include "support/json.h"

#include <cstring>
#include <stdexcept>
#include <string_view>

namespace fulcrum::test {
namespace {

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}
  Json parseDocument() {
    Json json = parseValue();
    skipSpace();
    if (pos_ != text_.size()) fail("trailing bytes");
    return json;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + " at " + std::to_string(pos_));
  }
  void skipSpace() {
    while (pos_ < text_.size() && std::strchr(" \t\r\n", text_[pos_]) != nullptr) ++pos_;
  }
  char peek() {
    skipSpace();
    if (pos_ >= text_.size()) fail("unexpected end");
    return text_[pos_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected ") + c);
    ++pos_;
  }
  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  Json parseValue() {
    const char c = peek();
    if (c == '{') return parseObject();
    if (c == '[') return parseArray();
    if (c == '"') return Json{parseString()};
    if (literal("true")) return Json{true};
    if (literal("false")) return Json{false};
    if (literal("null")) return Json{nullptr};
    return parseNumber();
  }
  Json parseObject() {
    expect('{');
    std::map<std::string, Json> members;
    if (peek() == '}') {
      ++pos_;
      return Json{members};
    }
    for (;;) {
      if (peek() != '"') fail("expected a key");
      std::string key = parseString();
      expect(':');
      members[key] = parseValue();
      if (peek() == '}') {
        ++pos_;
        return Json{members};
      }
      expect(',');
    }
  }
  Json parseArray() {
    expect('[');
    std::vector<Json> items;
    if (peek() == ']') {
      ++pos_;
      return Json{items};
    }
    for (;;) {
      items.push_back(parseValue());
      if (peek() == ']') {
        ++pos_;
        return Json{items};
      }
      expect(',');
    }
  }
  std::string parseString() {
    expect('"');
    std::string out;
    for (;;) {
      if (pos_ >= text_.size()) fail("unterminated string");
      const auto c = static_cast<unsigned char>(text_[pos_++]);
      if (c == '"') return out;
      if (c < 0x20) fail("raw control character in a string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (pos_ >= text_.size()) fail("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          if (pos_ + 4 > text_.size()) fail("short \\u escape");
          const unsigned code = std::stoul(std::string(text_.substr(pos_, 4)), nullptr, 16);
          pos_ += 4;
          appendUtf8(out, code);
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }
  static void appendUtf8(std::string& out, unsigned code) {  // BMP only: all we emit
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xc0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else {
      out += static_cast<char>(0xe0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    }
  }
  Json parseNumber() {
    const size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    while (pos_ < text_.size() && std::strchr("0123456789.eE+-", text_[pos_]) != nullptr) ++pos_;
    if (pos_ == start) fail("unexpected character");
    return Json{std::stod(std::string(text_.substr(start, pos_ - start)))};
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

Json parseJson(const std::string& text) {
  return JsonParser(text).parseDocument();
}

}  // namespace fulcrum::test
