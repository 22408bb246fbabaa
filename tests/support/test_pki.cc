#include "support/test_pki.h"

#include <arpa/inet.h>

#include <stdexcept>

#include "support/process.h"

namespace fulcrum::test {
namespace {

bool isIpLiteral(const std::string& name) {
  unsigned char address[sizeof(in6_addr)];
  return inet_pton(AF_INET, name.c_str(), address) == 1 ||
         inet_pton(AF_INET6, name.c_str(), address) == 1;
}

}  // namespace

void runOrThrow(const std::vector<std::string>& argv) {
  ChildProcess child(argv);
  const auto status = child.waitExit();
  child.joinOutput();
  if (status && *status == 0) return;
  std::string text = argv[0] + " failed:";
  for (const std::string& line : child.lines()) text += "\n" + line;
  throw std::runtime_error(text);
}

std::string tlsMapping(const IssuedCertificate& issued, const std::string& extra) {
  return "{ certificate: " + issued.certificate + ", key: " + issued.key + extra + " }";
}

std::string notAfter(const std::string& certificate) {
  const CommandResult printed = runCommand({"/usr/bin/openssl", "x509", "-in", certificate,
                                            "-noout", "-enddate", "-dateopt", "iso_8601"});
  // "notAfter=2027-01-05 13:22:51Z\n"
  const size_t start = printed.output.find('=');
  const size_t space = printed.output.find(' ', start);
  if (printed.status != 0 || start == std::string::npos || space == std::string::npos)
    throw std::runtime_error("openssl cannot read " + certificate + ": " + printed.output);
  std::string text = printed.output.substr(start + 1, printed.output.find('\n') - start - 1);
  text[space - start - 1] = 'T';
  return text;
}

TestPki::TestPki(const std::string& ca_name) {
  ca_certificate_ = dir() + "/ca.pem";
  ca_key_ = dir() + "/ca.key";
  runOrThrow({"/usr/bin/openssl",
              "req",
              "-x509",
              "-newkey",
              "ec",
              "-pkeyopt",
              "ec_paramgen_curve:P-256",
              "-nodes",
              "-keyout",
              ca_key_,
              "-out",
              ca_certificate_,
              "-days",
              "30",
              "-subj",
              "/CN=" + ca_name,
              "-addext",
              "basicConstraints=critical,CA:TRUE",
              "-addext",
              "keyUsage=critical,keyCertSign,cRLSign"});
}

IssuedCertificate TestPki::issue(const std::string& file_stem,
                                 const std::vector<std::string>& names, int days, bool client,
                                 KeyType key) {
  IssuedCertificate issued{dir() + "/" + file_stem + ".pem", dir() + "/" + file_stem + ".key"};
  const std::string request = dir() + "/" + file_stem + ".csr";
  const std::string leaf = dir() + "/" + file_stem + ".leaf.pem";
  const std::string extensions = dir() + "/" + file_stem + ".ext";
  std::string san = "subjectAltName=";
  for (size_t i = 0; i < names.size(); ++i)
    san += std::string(i ? "," : "") + (isIpLiteral(names[i]) ? "IP:" : "DNS:") + names[i];
  dir_.write(file_stem + ".ext", san + "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=" +
                                     (client ? "clientAuth" : "serverAuth") + "\n");
  std::vector<std::string> request_argv = {"/usr/bin/openssl", "req", "-newkey"};
  if (key == KeyType::Rsa2048)
    request_argv.push_back("rsa:2048");
  else
    request_argv.insert(request_argv.end(), {"ec", "-pkeyopt", "ec_paramgen_curve:P-256"});
  request_argv.insert(request_argv.end(), {"-nodes", "-keyout", issued.key, "-out", request,
                                           "-subj", "/CN=" + names.at(0)});
  runOrThrow(request_argv);
  if (days > 0) {
    runOrThrow({"/usr/bin/openssl", "x509", "-req", "-in", request, "-CA", ca_certificate_,
                "-CAkey", ca_key_, "-out", leaf, "-extfile", extensions, "-set_serial",
                std::to_string(++serial_), "-days", std::to_string(days)});
  } else {
    // `x509 -req` in OpenSSL 3.0 cannot backdate; `ca` takes explicit dates.
    const std::string config =
        dir_.write(file_stem + ".ca.cnf", "[ca]\ndefault_ca = test\n[test]\ndatabase = " + dir() +
                                              "/" + file_stem + ".index\nserial = " + dir() + "/" +
                                              file_stem + ".serial\nnew_certs_dir = " + dir() +
                                              "\ndefault_md = sha256\npolicy = any\n[any]\n"
                                              "commonName = supplied\n");
    dir_.write(file_stem + ".index", "");
    dir_.write(file_stem + ".serial", std::to_string(1000 + ++serial_) + "\n");
    runOrThrow({"/usr/bin/openssl",
                "ca",
                "-batch",
                "-notext",
                "-config",
                config,
                "-cert",
                ca_certificate_,
                "-keyfile",
                ca_key_,
                "-in",
                request,
                "-out",
                leaf,
                "-extfile",
                extensions,
                "-startdate",
                "20200101000000Z",
                "-enddate",
                "20200201000000Z"});
  }
  runOrThrow({"/bin/sh", "-c",
              "cat '" + leaf + "' '" + ca_certificate_ + "' > '" + issued.certificate + "'"});
  return issued;
}

std::string TestPki::strayKey(const std::string& file_stem) {
  const std::string key = dir() + "/" + file_stem + ".key";
  runOrThrow({"/usr/bin/openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
              "ec_paramgen_curve:P-256", "-out", key});
  return key;
}

}  // namespace fulcrum::test
