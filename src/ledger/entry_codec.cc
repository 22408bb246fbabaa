#include "ledger/entry_codec.h"

#include <algorithm>
#include <charconv>

namespace fulcrum::ledger {
namespace {

// "fl1 STATE CLAIM STATUS FINGERPRINT\n", then each of reason, the header
// count, every header's name and value, and the body as "LENGTH:" bytes.
constexpr std::string_view kMagic = "fl1 ";

// Writes after the first `used` bytes of `out`, through a pointer into
// room made beforehand: an entry is encoded at every keyed request, and a
// checked append per character or number was most of its cost. `out` is
// sized ahead (to an upper bound where one is known, so it is allocated
// once) and grows only when a write would pass its end.
class Writer {
 public:
  Writer(std::string& out, size_t& used) : out_(out), used_(used) {}

  void number(uint64_t value) {
    char* at = room(20);
    used_ += static_cast<size_t>(std::to_chars(at, at + 20, value).ptr - at);
  }
  void byte(char value) {
    *room(1) = value;
    ++used_;
  }
  void text(std::string_view bytes) {
    bytes.copy(room(bytes.size()), bytes.size());
    used_ += bytes.size();
  }
  // "LENGTH:" then the bytes.
  void counted(std::string_view bytes) {
    number(bytes.size());
    byte(':');
    text(bytes);
  }
  // `width` zeros, for a number filled in later (fill()); where they start.
  size_t placeholder(size_t width) {
    std::fill_n(room(width), width, '0');
    used_ += width;
    return used_ - width;
  }
  // Writes `value` zero-padded into the `width` bytes at `at`.
  void fill(size_t at, size_t width, uint64_t value) {
    for (size_t i = at + width; i > at; --i) {
      out_[i - 1] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  }

 private:
  char* room(size_t bytes) {
    if (out_.size() - used_ < bytes) out_.resize(std::max(2 * out_.size(), used_ + bytes));
    return out_.data() + used_;
  }

  std::string& out_;
  size_t& used_;
};

// An upper bound of the encoded size, so the string is allocated once.
size_t encodedSizeBound(const Entry& entry) {
  constexpr size_t kNumber = 21;  // digits and the separator
  size_t size = kMagic.size() + 3 * kNumber + entry.fingerprint.size() + 1;
  if (entry.state != EntryState::Done) return size;
  size += kNumber + entry.answer.reason.size() + kNumber;
  for (const auto& [name, value] : entry.answer.headers)
    size += 2 * kNumber + name.size() + value.size();
  return size + kNumber + entry.answer.body.size();
}

class Reader {
 public:
  explicit Reader(std::string_view text) : rest_(text) {}

  bool number(uint64_t& value, char end) {
    const char* last = rest_.data() + rest_.size();
    auto [ptr, error] = std::from_chars(rest_.data(), last, value);
    if (error != std::errc() || ptr == last || *ptr != end) return false;
    rest_.remove_prefix(static_cast<size_t>(ptr - rest_.data()) + 1);
    return true;
  }
  bool word(std::string& out, char end) {
    const size_t at = rest_.find(end);
    if (at == std::string_view::npos) return false;
    out.assign(rest_.substr(0, at));
    rest_.remove_prefix(at + 1);
    return true;
  }
  bool bytes(std::string& out) {
    uint64_t length = 0;
    if (!number(length, ':') || length > rest_.size()) return false;
    out.assign(rest_.substr(0, length));
    rest_.remove_prefix(length);
    return true;
  }
  bool prefix(std::string_view expected) {
    if (rest_.substr(0, expected.size()) != expected) return false;
    rest_.remove_prefix(expected.size());
    return true;
  }
  bool empty() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

// The line every entry starts with: "fl1 STATE CLAIM STATUS FINGERPRINT".
void writeFirstLine(Writer& write, EntryState state, uint64_t claim, int status,
                    std::string_view fingerprint) {
  write.text(kMagic);
  write.number(static_cast<uint64_t>(state));
  write.byte(' ');
  write.number(claim);
  write.byte(' ');
  write.number(static_cast<uint64_t>(status));
  write.byte(' ');
  write.text(fingerprint);
  write.byte('\n');
}

void writeEntry(Writer& write, const Entry& entry) {
  writeFirstLine(write, entry.state, entry.claim, entry.answer.status, entry.fingerprint);
  if (entry.state != EntryState::Done) return;
  write.counted(entry.answer.reason);
  write.number(entry.answer.headers.size());
  write.byte(';');
  for (const auto& [name, value] : entry.answer.headers) {
    write.counted(name);
    write.counted(value);
  }
  write.counted(entry.answer.body);
}

// Widths of AnswerEncoder's numbers known only at the end: a head has far
// fewer fields, a body is shorter than 10 GB.
constexpr size_t kCountWidth = 5;
constexpr size_t kLengthWidth = 10;

}  // namespace

void AnswerEncoder::start(uint64_t claim, std::string_view fingerprint, int status,
                          std::string_view reason) {
  // Room for a typical head at once; the body grows it.
  constexpr size_t kTypicalHead = 512;
  out_.resize(kTypicalHead);
  used_ = 0;
  Writer write(out_, used_);
  writeFirstLine(write, EntryState::Done, claim, status, fingerprint);
  write.counted(reason);
  count_at_ = write.placeholder(kCountWidth);
  write.byte(';');
  fields_ = 0;
}

void AnswerEncoder::field(std::string_view name, std::string_view value) {
  Writer write(out_, used_);
  write.counted(name);
  write.counted(value);
  ++fields_;
}

void AnswerEncoder::startBody() {
  Writer write(out_, used_);
  body_at_ = write.placeholder(kLengthWidth);
  write.byte(':');
}

void AnswerEncoder::body(std::string_view bytes) {
  Writer(out_, used_).text(bytes);
}

size_t AnswerEncoder::bodySize() const {
  const size_t body_from = body_at_ + kLengthWidth + 1;
  return used_ > body_from ? used_ - body_from : 0;
}

std::string AnswerEncoder::finish() {
  Writer write(out_, used_);
  write.fill(count_at_, kCountWidth, fields_);
  write.fill(body_at_, kLengthWidth, bodySize());
  out_.resize(used_);
  return std::move(out_);
}

Settlement settlementOf(const Entry& entry) {
  return Settlement{entry.claim, entry.state, encodeEntry(entry)};
}

std::string encodeEntry(const Entry& entry) {
  std::string out(encodedSizeBound(entry), '\0');
  size_t used = 0;
  Writer write(out, used);
  writeEntry(write, entry);
  out.resize(used);
  return out;
}

bool decodeEntry(std::string_view text, Entry& out) {
  Reader in(text);
  uint64_t state = 0;
  uint64_t status = 0;
  if (!in.prefix(kMagic) || !in.number(state, ' ') || state > 3 || !in.number(out.claim, ' ') ||
      !in.number(status, ' ') || !in.word(out.fingerprint, '\n'))
    return false;
  out.state = static_cast<EntryState>(state);
  out.answer = Answer{};
  out.answer.status = static_cast<int>(status);
  if (out.state != EntryState::Done) return in.empty();
  uint64_t headers = 0;
  if (!in.bytes(out.answer.reason) || !in.number(headers, ';')) return false;
  for (uint64_t i = 0; i < headers; ++i) {
    std::string name;
    std::string value;
    if (!in.bytes(name) || !in.bytes(value)) return false;
    out.answer.headers.emplace_back(std::move(name), std::move(value));
  }
  return in.bytes(out.answer.body) && in.empty();
}

}  // namespace fulcrum::ledger
