#include <doctest/doctest.h>

#include "http/exchange.h"

using fulcrum::http::ExchangeEnd;
using fulcrum::http::ExchangeResult;

TEST_CASE("exchange result: a failure before any response byte is the proxy's to answer") {
  ExchangeResult result;
  result.error = true;
  result.status = 503;
  CHECK(result.end() == ExchangeEnd::ProxyAnswers);
  // A client that went away first leaves nobody to answer.
  result.status = 0;
  CHECK(result.end() == ExchangeEnd::ClientLost);
}

TEST_CASE("exchange result: a response that started was the answer, whole or cut short") {
  ExchangeResult result;
  result.response_started = true;
  result.status = 200;
  CHECK(result.end() == ExchangeEnd::Responded);
  result.error = true;
  CHECK(result.end() == ExchangeEnd::Responded);
  // ...unless the client's connection failed: nothing more can be sent.
  result.client_gone = true;
  CHECK(result.end() == ExchangeEnd::ClientLost);
}
