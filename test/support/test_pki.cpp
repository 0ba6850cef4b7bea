// SPDX-License-Identifier: BSL-1.0
#include "test_pki.hpp"

#include <memory>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace asio_echo::test {
namespace {

struct key_free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct cert_free {
    void operator()(X509* c) const { X509_free(c); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_free>;
using cert_ptr = std::unique_ptr<X509, cert_free>;

[[noreturn]] void fail(const std::string& what) {
    char reason[256] = "unknown";
    ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
    throw std::runtime_error("test_pki: " + what + ": " + reason);
}

key_ptr new_key() {
    key_ptr key(EVP_EC_gen("P-256"));
    if (!key) {
        fail("EC key generation");
    }
    return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX context;
    X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_nconf_nid(nullptr, &context, nid, value);
    if (!extension || !X509_add_ext(cert, extension, -1)) {
        fail(std::string("extension ") + value);
    }
    X509_EXTENSION_free(extension);
}

/// A certificate for key with common name cn, signed by issuer_key (self-signed when issuer
/// is null). role: "ca", "server" or "client".
cert_ptr make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                   const std::string& role) {
    static long serial = 1;
    cert_ptr cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509* signer = issuer ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
    if (role == "ca") {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(cert.get(), signer, NID_basic_constraints, "CA:FALSE");
        add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid");
        add_extension(cert.get(), signer, NID_ext_key_usage,
                      role == "server" ? "serverAuth" : "clientAuth");
        if (role == "server") {
            add_extension(cert.get(), signer, NID_subject_alt_name,
                          "IP:127.0.0.1,IP:::1,DNS:localhost");
        }
    }
    if (!X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256())) {
        fail("signing " + cn);
    }
    return cert;
}

void write_cert(const std::string& path, X509* cert) {
    BIO* out = BIO_new_file(path.c_str(), "w");
    if (!out || !PEM_write_bio_X509(out, cert)) {
        fail("writing " + path);
    }
    BIO_free(out);
}

void write_key(const std::string& path, EVP_PKEY* key) {
    BIO* out = BIO_new_file(path.c_str(), "w");
    if (!out || !PEM_write_bio_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr)) {
        fail("writing " + path);
    }
    BIO_free(out);
}

/// Reads back a certificate or key this class wrote.
cert_ptr read_cert(const std::string& path) {
    BIO* in = BIO_new_file(path.c_str(), "r");
    cert_ptr cert(in ? PEM_read_bio_X509(in, nullptr, nullptr, nullptr) : nullptr);
    BIO_free(in);
    if (!cert) {
        fail("reading " + path);
    }
    return cert;
}

key_ptr read_key(const std::string& path) {
    BIO* in = BIO_new_file(path.c_str(), "r");
    key_ptr key(in ? PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr) : nullptr);
    BIO_free(in);
    if (!key) {
        fail("reading " + path);
    }
    return key;
}

} // namespace

test_pki::test_pki(std::string dir) : dir_(std::move(dir)) {
    ca_cert = dir_ + "/ca.pem";
    server_cert = dir_ + "/server.pem";
    server_key = dir_ + "/server.key";
    client_cert = dir_ + "/client.pem";
    client_key = dir_ + "/client.key";
    wrong_key = dir_ + "/wrong.key";
    other_ca_cert = dir_ + "/other-ca.pem";

    auto ca_key = new_key();
    auto ca = make_cert(ca_key.get(), "asio-echo test CA", nullptr, nullptr, "ca");
    write_cert(ca_cert, ca.get());
    write_key(dir_ + "/ca.key", ca_key.get());
    issue_server(server_cert, server_key, "echo-server");
    auto client = new_key();
    write_cert(client_cert,
               make_cert(client.get(), "echo-client", ca.get(), ca_key.get(), "client").get());
    write_key(client_key, client.get());
    write_key(wrong_key, new_key().get());
    auto other_key = new_key();
    write_cert(other_ca_cert,
               make_cert(other_key.get(), "another test CA", nullptr, nullptr, "ca").get());
}

void test_pki::issue_server(const std::string& cert, const std::string& key,
                            const std::string& cn) const {
    auto ca = read_cert(ca_cert);
    auto ca_key = read_key(dir_ + "/ca.key");
    auto server = new_key();
    write_cert(cert, make_cert(server.get(), cn, ca.get(), ca_key.get(), "server").get());
    write_key(key, server.get());
}

void test_pki::self_signed(const std::string& cert, const std::string& key,
                           const std::string& cn) const {
    auto own = new_key();
    write_cert(cert, make_cert(own.get(), cn, nullptr, nullptr, "server").get());
    write_key(key, own.get());
}

} // namespace asio_echo::test
