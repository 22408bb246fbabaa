// libFuzzer target for the HTTP/1 head parser, the head scanner, the
// chunked scanner and the body forwarder's re-framing (`make fuzz`). Each
// input is parsed as a request, as a response to GET and to HEAD, and
// scanned as a chunked body, whole, split in two at a position taken from
// its first byte, and byte by byte; every result is checked against the
// contracts in parser.h, head_scanner.h and chunked.h. Heads fed to a
// HeadScanner in pieces must get the answer of one parse of the same
// bytes, for at most three times the bytes fed. A chunked body re-framed by
// BodyForwarder must end where the scanner says, fail where it fails, and
// come out as bare chunks carrying the same data. Defaults and tight limits
// both run, so the limit paths are reached by small inputs.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <event2/buffer.h>

#include <string>

#include "http/codec/body_forwarder.h"
#include "http/codec/chunked.h"
#include "http/codec/head_scanner.h"
#include "http/codec/parser.h"
#include "http/codec/path_normalizer.h"

using namespace fulcrum::http;

namespace {

#define FUZZ_CHECK(condition)                                                                \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

bool inside(std::string_view part, std::string_view whole) {
  const auto begin = reinterpret_cast<uintptr_t>(whole.data());
  const auto at = reinterpret_cast<uintptr_t>(part.data());
  return part.empty() || (at >= begin && at + part.size() <= begin + whole.size());
}

bool hasSpaceAtEdge(std::string_view s) {
  return !s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.back() == ' ' || s.back() == '\t');
}

void checkHead(const Head& head, std::string_view data, const Limits& limits) {
  FUZZ_CHECK(head.length >= 4 && head.length <= data.size());
  FUZZ_CHECK(head.length <= limits.max_head_bytes);
  FUZZ_CHECK(head.fields.size() <= limits.max_fields);
  FUZZ_CHECK(data.substr(head.length - 4, 4) == "\r\n\r\n");
  FUZZ_CHECK(head.minor_version == 0 || head.minor_version == 1);
  const std::string_view bytes = data.substr(0, head.length);
  for (const Field& field : head.fields) {
    FUZZ_CHECK(!field.name.empty() && inside(field.name, bytes) && inside(field.value, bytes));
    FUZZ_CHECK(!hasSpaceAtEdge(field.value));
    FUZZ_CHECK(field.value.find_first_of("\r\n", 0) == std::string_view::npos);
  }
  for (std::string_view token : head.connection_tokens) {
    FUZZ_CHECK(!token.empty() && inside(token, bytes) && !hasSpaceAtEdge(token));
  }
  if (head.framing == Framing::UntilClose) FUZZ_CHECK(head.close);
}

// A head that parsed must still be incomplete one byte short, and must
// parse the same when the bytes after it are dropped.
template <typename ParseFn, typename HeadT>
void checkRestart(std::string_view data, const HeadT& head, ParseFn&& parse) {
  HeadT again;
  ParseError error;
  FUZZ_CHECK(parse(data.substr(0, head.length - 1), again, error) == ParseResult::Incomplete);
  FUZZ_CHECK(parse(data.substr(0, head.length), again, error) == ParseResult::Complete);
  FUZZ_CHECK(again.length == head.length && again.framing == head.framing &&
             again.content_length == head.content_length && again.close == head.close &&
             again.fields.size() == head.fields.size());
}

// Feeds `data` to a HeadScanner `piece` more bytes per call until it
// answers. The answer must be one parse's answer on the bytes fed; while
// it is Incomplete, the parse may only refuse a byte of the line still
// arriving (such bytes are judged when their line ends).
template <typename HeadT, typename ScanFn, typename ParseFn>
void checkScanner(std::string_view data, const Limits& limits, size_t piece, ScanFn&& scan,
                  ParseFn&& parse) {
  HeadScanner scanner;
  HeadT head;
  ParseError error;
  ParseResult result = ParseResult::Incomplete;
  size_t fed = 0;
  while (result == ParseResult::Incomplete && fed < data.size()) {
    fed = std::min(data.size(), fed + piece);
    result = scan(scanner, data.substr(0, fed), head, error);
  }
  FUZZ_CHECK(scanner.bytesExamined() <= 3 * fed);
  const std::string_view bytes = data.substr(0, fed);
  HeadT whole;
  ParseError whole_error;
  const ParseResult expected = parse(bytes, whole, whole_error);
  if (result == ParseResult::Incomplete) {
    FUZZ_CHECK(fed <= limits.max_head_bytes);
    if (expected == ParseResult::Incomplete) return;
    FUZZ_CHECK(expected == ParseResult::Error);
    // Limits, line endings, folding and control characters are judged at once.
    FUZZ_CHECK(whole_error.status != 414 && whole_error.status != 431);
    for (const char* at_once :
         {"head too large", "bare LF", "CR not followed by LF", "obsolete line folding",
          "control character in field value", "too many fields", "request line too long"}) {
      FUZZ_CHECK(std::strcmp(whole_error.reason, at_once) != 0);
    }
    const size_t last_lf = bytes.rfind('\n');
    const size_t ended = last_lf == std::string_view::npos ? 0 : last_lf + 1;
    FUZZ_CHECK(parse(bytes.substr(0, ended), whole, whole_error) == ParseResult::Incomplete);
    return;
  }
  FUZZ_CHECK(result == expected);
  if (result == ParseResult::Error) {
    FUZZ_CHECK(error.status == whole_error.status);
    FUZZ_CHECK(std::strcmp(error.reason, whole_error.reason) == 0);
    return;
  }
  checkHead(head, bytes, limits);
  FUZZ_CHECK(head.length == whole.length && head.framing == whole.framing &&
             head.content_length == whole.content_length && head.close == whole.close &&
             head.fields.size() == whole.fields.size());
}

void fuzzRequest(std::string_view data, const Limits& limits) {
  RequestHead head;
  ParseError error;
  const ParseResult result = parseRequest(data, limits, head, error);
  if (result == ParseResult::Error) {
    FUZZ_CHECK(error.status == 400 || error.status == 414 || error.status == 431 ||
               error.status == 501);
    FUZZ_CHECK(error.reason != nullptr && error.reason[0] != '\0');
    return;
  }
  if (result != ParseResult::Complete) return;
  checkHead(head, data, limits);
  const std::string_view bytes = data.substr(0, head.length);
  FUZZ_CHECK(!head.method.empty() && inside(head.method, bytes));
  FUZZ_CHECK(!head.target.empty() && inside(head.target, bytes));
  FUZZ_CHECK(head.path == "/" || (inside(head.path, bytes) && !head.path.empty()));
  FUZZ_CHECK(head.path[0] == '/' || head.path == "*");
  FUZZ_CHECK(inside(head.host, bytes));
  FUZZ_CHECK(head.minor_version == 0 || !head.host.empty());
  FUZZ_CHECK(head.framing != Framing::UntilClose);
  FUZZ_CHECK(head.is_head == (head.method == "HEAD"));
  checkRestart(data, head, [&](std::string_view part, RequestHead& out, ParseError& err) {
    return parseRequest(part, limits, out, err);
  });
}

void fuzzRequestScanner(std::string_view data, const Limits& limits, size_t piece) {
  auto scan = [&](HeadScanner& scanner, std::string_view part, RequestHead& out, ParseError& err) {
    return scanner.parseRequest(part, limits, out, err);
  };
  auto parse = [&](std::string_view part, RequestHead& out, ParseError& err) {
    return parseRequest(part, limits, out, err);
  };
  checkScanner<RequestHead>(data, limits, 1, scan, parse);
  checkScanner<RequestHead>(data, limits, piece, scan, parse);
}

void fuzzResponse(std::string_view data, const Limits& limits, bool request_was_head) {
  ResponseHead head;
  ParseError error;
  const ParseResult result = parseResponse(data, limits, request_was_head, head, error);
  if (result == ParseResult::Error) {
    FUZZ_CHECK(error.status == 502);
    FUZZ_CHECK(error.reason != nullptr && error.reason[0] != '\0');
    return;
  }
  if (result != ParseResult::Complete) return;
  checkHead(head, data, limits);
  FUZZ_CHECK(head.status >= 100 && head.status <= 599);
  FUZZ_CHECK(inside(head.reason, data.substr(0, head.length)));
  if (request_was_head || head.status < 200 || head.status == 204 || head.status == 304) {
    FUZZ_CHECK(head.framing == Framing::None);
  }
  checkRestart(data, head, [&](std::string_view part, ResponseHead& out, ParseError& err) {
    return parseResponse(part, limits, request_was_head, out, err);
  });
}

void fuzzResponseScanner(std::string_view data, const Limits& limits, bool request_was_head,
                         size_t piece) {
  auto scan = [&](HeadScanner& scanner, std::string_view part, ResponseHead& out, ParseError& err) {
    return scanner.parseResponse(part, limits, request_was_head, out, err);
  };
  auto parse = [&](std::string_view part, ResponseHead& out, ParseError& err) {
    return parseResponse(part, limits, request_was_head, out, err);
  };
  checkScanner<ResponseHead>(data, limits, 1, scan, parse);
  checkScanner<ResponseHead>(data, limits, piece, scan, parse);
}

struct ScanOutcome {
  size_t consumed = 0;
  bool done = false;
  bool failed = false;
  uint64_t payload = 0;
};

// Scans `data` fed as the pieces that end at each of `cuts`, then the rest.
template <size_t N>
ScanOutcome scanPieces(std::string_view data, const Limits& limits, const size_t (&cuts)[N]) {
  ChunkedScanner scanner(limits);
  ScanOutcome outcome;
  size_t from = 0;
  auto feed = [&](size_t to) {
    if (scanner.done() || scanner.failed()) return;
    const std::string_view piece = data.substr(from, to - from);
    const size_t used = scanner.scan(piece);
    FUZZ_CHECK(used <= piece.size());
    if (!scanner.done() && !scanner.failed()) FUZZ_CHECK(used == piece.size());
    FUZZ_CHECK(!(scanner.done() && scanner.failed()));
    outcome.consumed += used;
    from = to;
  };
  for (size_t cut : cuts) feed(cut);
  feed(data.size());
  outcome.done = scanner.done();
  outcome.failed = scanner.failed();
  outcome.payload = scanner.payloadBytes();
  if (!outcome.failed) FUZZ_CHECK(outcome.payload <= outcome.consumed);
  if (outcome.failed || outcome.done) FUZZ_CHECK(scanner.scan(data) == 0);
  return outcome;
}

void fuzzChunked(std::string_view data, const Limits& limits, size_t split) {
  const size_t none[] = {0};
  const ScanOutcome whole = scanPieces(data, limits, none);
  const size_t halves[] = {split};
  const ScanOutcome split_in_two = scanPieces(data, limits, halves);
  FUZZ_CHECK(whole.done == split_in_two.done && whole.failed == split_in_two.failed);
  FUZZ_CHECK(whole.payload == split_in_two.payload || whole.failed);
  if (whole.done) FUZZ_CHECK(whole.consumed == split_in_two.consumed);

  ChunkedScanner bytewise(limits);
  size_t consumed = 0;
  for (size_t i = 0; i < data.size() && !bytewise.done() && !bytewise.failed(); ++i) {
    consumed += bytewise.scan(data.substr(i, 1));
  }
  FUZZ_CHECK(bytewise.done() == whole.done && bytewise.failed() == whole.failed);
  if (whole.done) FUZZ_CHECK(consumed == whole.consumed);
}

// The chunk data of a whole chunked body, read with scanFraming/skipData;
// its end (`consumed`) and verdict must be scan()'s.
std::string chunkData(std::string_view data, ChunkedScanner& scanner, size_t& consumed) {
  std::string out;
  consumed = 0;
  while (consumed < data.size() && !scanner.done() && !scanner.failed()) {
    if (scanner.inData()) {
      const size_t take =
          static_cast<size_t>(std::min<uint64_t>(scanner.dataLeft(), data.size() - consumed));
      out.append(data.substr(consumed, take));
      scanner.skipData(take);
      consumed += take;
    } else {
      consumed += scanner.scanFraming(data.substr(consumed));
    }
  }
  return out;
}

// True when `body` has nothing but hexadecimal sizes on its size lines and
// an empty trailer section: what fulcrum writes.
bool bareChunks(std::string_view body) {
  size_t at = 0;
  for (;;) {
    const size_t end = body.find("\r\n", at);
    if (end == std::string_view::npos || end == at || end - at > 16) return false;
    uint64_t size = 0;
    for (size_t i = at; i < end; ++i) {
      const char c = body[i];
      const bool digit = c >= '0' && c <= '9';
      if (!digit && !(c >= 'a' && c <= 'f')) return false;
      size = size * 16 + static_cast<uint64_t>(digit ? c - '0' : c - 'a' + 10);
    }
    at = end + 2;
    if (size == 0) return body.substr(at) == "\r\n";
    if (size > body.size() - at) return false;
    at += static_cast<size_t>(size) + 2;
  }
}

std::string take(evbuffer* buffer) {
  std::string out(evbuffer_get_length(buffer), '\0');
  evbuffer_remove(buffer, out.data(), out.size());
  return out;
}

void fuzzReframe(std::string_view data, const Limits& limits, size_t split) {
  ChunkedScanner reference(limits);
  size_t consumed = 0;
  const std::string payload = chunkData(data, reference, consumed);
  ChunkedScanner whole(limits);
  const size_t scanned = whole.scan(data);
  FUZZ_CHECK(whole.done() == reference.done() && whole.failed() == reference.failed());
  if (whole.done()) FUZZ_CHECK(scanned == consumed);

  for (const BodyOut out : {BodyOut::Chunked, BodyOut::UntilClose}) {
    evbuffer* in = evbuffer_new();
    evbuffer* to = evbuffer_new();
    BodyForwarder forwarder(Framing::Chunked, out, 0, limits);
    size_t written = 0;
    evbuffer_add(in, data.data(), split);
    written += forwarder.forward(in, to);
    evbuffer_add(in, data.data() + split, data.size() - split);
    written += forwarder.forward(in, to);
    FUZZ_CHECK(forwarder.done() == reference.done() && forwarder.failed() == reference.failed());
    FUZZ_CHECK(written == evbuffer_get_length(to));
    const std::string left = take(in);
    const std::string sent = take(to);
    if (forwarder.done()) {
      FUZZ_CHECK(left == data.substr(consumed));
      if (out == BodyOut::UntilClose) {
        FUZZ_CHECK(sent == payload);
      } else {
        // What fulcrum wrote is a chunked body a strict reader takes whole,
        // with nothing but hex digits on its size lines and no trailer.
        ChunkedScanner again(limits);
        size_t again_consumed = 0;
        FUZZ_CHECK(chunkData(sent, again, again_consumed) == payload);
        FUZZ_CHECK(again.done() && again_consumed == sent.size());
        FUZZ_CHECK(bareChunks(sent));
      }
    }
    evbuffer_free(in);
    evbuffer_free(to);
  }
}

}  // namespace

// A canonical path is a fixed point, has no empty or dot segment, and its
// percent-encodings are upper-case and never of an unreserved character.
void checkCanonicalPath(std::string_view target) {
  std::string again;
  FUZZ_CHECK(normalizePath(target, again) == PathVerdict::Canonical);
  const std::string_view path = target.substr(0, target.find('?'));
  FUZZ_CHECK(path.find("//") == std::string_view::npos);
  FUZZ_CHECK(path.find("/./") == std::string_view::npos &&
             path.find("/../") == std::string_view::npos);
  FUZZ_CHECK(!(path.size() >= 2 && path.substr(path.size() - 2) == "/.") &&
             !(path.size() >= 3 && path.substr(path.size() - 3) == "/.."));
  for (size_t i = path.find('%'); i != std::string_view::npos; i = path.find('%', i + 1)) {
    FUZZ_CHECK(i + 2 < path.size());
    for (char c : path.substr(i + 1, 2))
      FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'));
    const int value = std::stoi(std::string(path.substr(i + 1, 2)), nullptr, 16);
    const bool unreserved =
        std::isalnum(value) || value == '-' || value == '.' || value == '_' || value == '~';
    FUZZ_CHECK(!unreserved);
  }
}

// The route-matching path of every input that starts like one, and of
// every request target that parses.
void fuzzPath(std::string_view data) {
  std::string path = "/";
  path.append(data.substr(0, std::min<size_t>(data.size(), 256)));
  for (std::string_view target : {std::string_view(path), data}) {
    if (target.empty() || target.front() != '/') continue;
    std::string out;
    const PathVerdict verdict = normalizePath(target, out);
    if (verdict == PathVerdict::Canonical) checkCanonicalPath(target);
    if (verdict == PathVerdict::Normalized) {
      FUZZ_CHECK(!out.empty() && out.front() == '/');
      checkCanonicalPath(out);
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);
  Limits tight;
  tight.max_request_line = 48;
  tight.max_head_bytes = 160;
  tight.max_fields = 4;
  tight.max_chunk_extension = 12;
  fuzzPath(data);
  for (const Limits& limits : {Limits{}, tight}) {
    fuzzRequest(data, limits);
    fuzzResponse(data, limits, false);
    fuzzResponse(data, limits, true);
    const size_t split = size == 0 ? 0 : bytes[0] % (size + 1);
    fuzzChunked(data, limits, split);
    fuzzReframe(data, limits, std::min(split, data.size()));
    const size_t piece = split == 0 ? 1 : split;
    fuzzRequestScanner(data, limits, piece);
    fuzzResponseScanner(data, limits, false, piece);
  }
  return 0;
}
