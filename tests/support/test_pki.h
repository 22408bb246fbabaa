// Certificates for TLS tests, made at test time with the openssl CLI in a
// private temporary directory (never a key in the repository): a CA, leaf
// certificates it signs for given DNS names, an expired one, and a key that
// matches nothing. Each call runs openssl to completion (bounded by the
// process deadline) and throws when it fails.
#pragma once

#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace fulcrum::test {

// The key of a certificate issue() makes.
enum class KeyType { EcP256, Rsa2048 };

struct IssuedCertificate {
  std::string certificate;  // PEM file: the leaf, then the CA
  std::string key;          // PEM file
};

// "{ certificate: FILE, key: FILE<extra> }": a listener's tls mapping;
// `extra` adds keys (", min_version: \"1.3\"").
std::string tlsMapping(const IssuedCertificate& issued, const std::string& extra = "");

class TestPki {
 public:
  // A fresh CA named `ca_name` (its certificate is ca()).
  explicit TestPki(const std::string& ca_name = "fulcrum test CA");

  const std::string& ca() const { return ca_certificate_; }
  const std::string& dir() const { return dir_.path(); }

  // A leaf for `names` (the first is the CN; all are SANs, IP literals as
  // IP addresses, the others as DNS names), valid from an
  // hour ago for `days` days (0 or less: one that expired in 2020);
  // `client` makes a client certificate (extendedKeyUsage clientAuth);
  // `key` is the leaf's key (the CA's is P-256 either way).
  IssuedCertificate issue(const std::string& file_stem, const std::vector<std::string>& names,
                          int days = 30, bool client = false, KeyType key = KeyType::EcP256);
  // A private key that belongs to no certificate.
  std::string strayKey(const std::string& file_stem);

 private:
  TempDir dir_;
  std::string ca_certificate_;
  std::string ca_key_;
  int serial_ = 1;
};

// A certificate file's notAfter as the openssl CLI reads it, written the
// way fulcrum writes it: "2027-01-05T13:22:51Z" (UTC). Throws when openssl
// cannot read the file.
std::string notAfter(const std::string& certificate);

// Runs `argv` (argv[0] a full path) to completion; throws with its output
// when it fails.
void runOrThrow(const std::vector<std::string>& argv);

}  // namespace fulcrum::test
