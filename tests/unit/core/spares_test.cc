#include "core/spares.h"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

using fulcrum::core::kAddressSanitizer;
using fulcrum::core::Spares;

namespace {

using Strings = Spares<std::string, 4, 256>;
using Numbers = Spares<std::vector<int>, 4, 256>;

template <typename S>
void empty() {
  while (S::here() > 0) (void)S::take();
}

}  // namespace

TEST_CASE("spares: a string given back lends its buffer to the next one taken") {
  if (kAddressSanitizer) return;  // nothing is kept under AddressSanitizer
  empty<Strings>();
  std::string text(100, 'x');
  const char* buffer = text.data();
  const size_t capacity = text.capacity();
  Strings::give(std::move(text));
  CHECK(Strings::here() == 1);
  std::string again = Strings::take();
  CHECK(Strings::here() == 0);
  CHECK(again.empty());
  CHECK(again.data() == buffer);
  CHECK(again.capacity() == capacity);
  again.assign(80, 'y');  // fits: no new buffer
  CHECK(again.data() == buffer);
  CHECK(Strings::take().capacity() == std::string().capacity());  // none left: a plain one
}

TEST_CASE("spares: a vector keeps its buffer too, each type has its own") {
  if (kAddressSanitizer) return;
  empty<Strings>();
  empty<Numbers>();
  std::vector<int> numbers{1, 2, 3, 4, 5};
  const int* buffer = numbers.data();
  Numbers::give(std::move(numbers));
  CHECK(Numbers::here() == 1);
  CHECK(Strings::here() == 0);
  std::vector<int> again = Numbers::take();
  CHECK(again.empty());
  CHECK(again.data() == buffer);
  CHECK(again.capacity() >= 5);
}

TEST_CASE("spares: short, large and surplus buffers are not kept, and threads keep their own") {
  if (kAddressSanitizer) return;
  empty<Strings>();
  Strings::give(std::string("short"));   // held in the object: no buffer
  Strings::give(std::string(300, 'x'));  // over 256 bytes
  Numbers::give(std::vector<int>());     // no buffer at all
  CHECK(Strings::here() == 0);
  CHECK(Numbers::here() == 0);
  for (int i = 0; i < 10; ++i) Strings::give(std::string(64, 'x'));
  CHECK(Strings::here() == 4);
  size_t elsewhere = 1;
  std::thread other([&] { elsewhere = Strings::here(); });
  other.join();
  CHECK(elsewhere == 0);
  empty<Strings>();
}
