#include "http/idempotency_answers.h"

#include <string>

#include "core/access_log.h"
#include "http/codec/framing.h"
#include "http/codec/head_writer.h"

namespace fulcrum::http {
namespace {

struct ProblemText {
  int status;
  const char* code;  // the "code" member: stable, for programs
  const char* title;
  const char* detail;  // "%H" becomes the header's name
  int retry_after;     // seconds; 0: no Retry-After
};

// By LedgerProblem.
constexpr ProblemText kProblems[] = {
    {409, "idempotency_key_in_use", "A request with this idempotency key is being processed",
     "Another request with the same %H is in flight. Retry after it is answered to get its answer.",
     1},
    {409, "idempotency_answer_not_kept", "The answer to this idempotency key was not kept",
     "The request with this %H was answered, but its answer was too large to keep. Look the "
     "result up instead of repeating the request.",
     0},
    {409, "idempotency_outcome_unknown", "The outcome of the request with this key is unknown",
     "The request with this %H reached a server that never answered. Look the result up; the "
     "key stays held until it expires or an operator releases it.",
     0},
    {422, "idempotency_key_reused", "This idempotency key was used for a different request",
     "The %H was already used with a different method, target or body. Use a new key for a new "
     "request.",
     0},
    {400, "idempotency_key_missing", "An idempotency key is required",
     "Requests of this kind on this path must carry an %H header.", 0},
    {400, "idempotency_key_invalid", "The idempotency key is invalid",
     "The %H must be a token or a quoted string of 1 to 255 characters, sent once.", 0},
    {503, "idempotency_store_unavailable", "The idempotency ledger cannot answer",
     "The request was not forwarded because its %H could not be checked. Retry later with the "
     "same key.",
     1},
};

std::string fill(std::string_view text, std::string_view header) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 1 < text.size() && text[i + 1] == 'H') {
      out.append(header);
      ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

LocalAnswer problemAnswer(LedgerProblem problem, std::string_view header,
                          std::string_view request_id) {
  const ProblemText& text = kProblems[static_cast<size_t>(problem)];
  LocalAnswer answer;
  answer.status = text.status;
  answer.headers.emplace_back("Content-Type", "application/problem+json");
  if (text.retry_after > 0)
    answer.headers.emplace_back("Retry-After", std::to_string(text.retry_after));
  if (problem == LedgerProblem::UnknownOutcome)
    answer.headers.emplace_back("X-Fulcrum-Outcome", "unknown");
  std::string& body = answer.body;
  body = "{\"type\":\"about:blank\",\"title\":";
  appendJsonString(body, text.title);
  body += ",\"status\":" + std::to_string(text.status) + ",\"detail\":";
  appendJsonString(body, fill(text.detail, header));
  body += ",\"code\":";
  appendJsonString(body, text.code);
  if (!request_id.empty()) {
    body += ",\"request_id\":";
    appendJsonString(body, request_id);
  }
  body += "}\n";
  return answer;
}

LocalAnswer replayAnswer(const ledger::Answer& kept) {
  LocalAnswer answer;
  answer.status = kept.status;
  answer.reason = kept.reason;
  answer.headers = kept.headers;
  answer.headers.emplace_back("Idempotent-Replayed", "true");
  answer.body = kept.body;
  return answer;
}

void startKeptAnswer(const ResponseHead& head, uint64_t claim, std::string_view fingerprint,
                     ledger::AnswerEncoder& out) {
  out.start(claim, fingerprint, head.status, head.reason);
  for (const Field& field : head.fields) {
    if (isFramingField(field.name) || isHopByHopField(field.name, head) ||
        equalsIgnoreCase(field.name, "x-fulcrum-attempts") ||
        equalsIgnoreCase(field.name, "idempotent-replayed"))
      continue;
    out.field(field.name, field.value);
  }
  out.startBody();
}

}  // namespace fulcrum::http
