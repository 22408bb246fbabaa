#include "tls/certificate_info.h"

#include <openssl/asn1.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace fulcrum::tls {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string commonName(X509_NAME* name) {
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return "";
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return "";
  std::string text(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return text;
}

std::string oneLine(X509_NAME* name) {
  char buffer[512];
  X509_NAME_oneline(name, buffer, sizeof(buffer));
  return buffer;
}

int64_t unixSeconds(const ASN1_TIME* time) {
  tm parts{};
  if (ASN1_TIME_to_tm(time, &parts) != 1) return 0;
  return static_cast<int64_t>(timegm(&parts));
}

}  // namespace

CertificateInfo describeCertificate(X509* certificate, const std::string& file) {
  CertificateInfo info;
  info.file = file;
  X509_NAME* subject = X509_get_subject_name(certificate);
  const std::string cn = commonName(subject);
  info.subject = cn.empty() ? oneLine(subject) : cn;
  info.not_after = unixSeconds(X509_get0_notAfter(certificate));
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_DNS) continue;
    const ASN1_IA5STRING* dns = name->d.dNSName;
    info.names.push_back(
        lower(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                          static_cast<size_t>(ASN1_STRING_length(dns)))));
  }
  GENERAL_NAMES_free(names);
  if (info.names.empty() && !cn.empty()) info.names.push_back(lower(cn));
  return info;
}

bool nameMatches(const std::string& pattern, const std::string& host) {
  const std::string wanted = lower(host);
  if (pattern.rfind("*.", 0) != 0) return pattern == wanted;
  const std::string suffix = pattern.substr(1);  // ".example.com"
  if (wanted.size() <= suffix.size()) return false;
  const size_t label_end = wanted.size() - suffix.size();
  return wanted.compare(label_end, suffix.size(), suffix) == 0 &&
         wanted.find('.') == label_end;  // one label only
}

}  // namespace fulcrum::tls
