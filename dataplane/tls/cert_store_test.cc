#include "dataplane/tls/cert_store.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace edgerouter::tls {
namespace {

struct Pem {
  std::string cert, key;
};

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, len);
  BIO_free(bio);
  return out;
}

// A self-signed P-256 certificate for `names` (SANs), valid for `days` (negative: expired).
Pem MakeCert(const std::vector<std::string>& names, int days = 30) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), days < 0 ? (days - 1) * 86400L : 0);
  X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L);
  X509_set_pubkey(x, key);
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(names[0].c_str()), -1, -1, 0);
  X509_set_issuer_name(x, subject);
  std::vector<std::string> sans;
  for (const auto& n : names) sans.push_back("DNS:" + n);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, absl::StrJoin(sans, ",").c_str());
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(x, key, EVP_sha256());
  BIO* cb = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cb, x);
  BIO* kb = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr);
  X509_free(x);
  EVP_PKEY_free(key);
  return {BioText(cb), BioText(kb)};
}

// The fake "envelope": the test stores the plaintext key where the ciphertext would be.
absl::StatusOr<std::string> FakeUnwrap(const snapshot::v1::Certificate& c) {
  if (c.private_key_dek_fingerprint() == "wrong") return absl::PermissionDeniedError("KEK fingerprint mismatch");
  if (c.private_key_dek_fingerprint() == "garbage") return absl::InvalidArgumentError("bad ciphertext");
  return c.private_key_ciphertext();
}

void AddCert(snapshot::v1::Snapshot* s, const std::string& id, const Pem& pem, const std::vector<std::string>& domains,
             const std::string& fingerprint = "ok", const std::string& version = "v1") {
  snapshot::v1::Resource* r = s->add_resources();
  r->set_name("cert/" + id);
  r->set_version(version);
  snapshot::v1::Certificate* c = r->mutable_certificate();
  c->set_id(id);
  for (const auto& d : domains) c->add_domains(d);
  c->set_cert_pem_bundle(pem.cert);
  c->set_private_key_dek_fingerprint(fingerprint);
  c->set_private_key_ciphertext(pem.key);
}

// The leaf's CN of the context the store picks, or "" for none.
std::string Pick(const CertStore& store, absl::string_view sni) {
  SSL_CTX* ctx = store.Select(sni);
  if (ctx == nullptr) return "";
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  char cn[256] = "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof(cn));
  return cn;
}

TEST(CertStore, ExactThenOneLevelWildcardThenDefault) {
  snapshot::v1::Snapshot s;
  AddCert(&s, "exact", MakeCert({"www.example.com"}), {"www.example.com"});
  AddCert(&s, "wild", MakeCert({"*.b.example.com"}), {"*.b.example.com", "b.example.com"});
  CertStoreOptions opts;
  opts.unwrap = FakeUnwrap;
  auto store = BuildCertStore(s, opts);
  EXPECT_EQ(store->loaded(), 2u);
  EXPECT_EQ(Pick(*store, "www.example.com"), "www.example.com");
  EXPECT_EQ(Pick(*store, "WWW.Example.COM."), "www.example.com");  // case, trailing dot
  EXPECT_EQ(Pick(*store, "a.b.example.com"), "*.b.example.com");
  EXPECT_EQ(Pick(*store, "b.example.com"), "*.b.example.com");  // listed in Domains
  EXPECT_EQ(Pick(*store, "x.a.b.example.com"), "");             // one level only
  EXPECT_EQ(Pick(*store, "example.com"), "");
  EXPECT_EQ(Pick(*store, ""), "");  // no SNI, no default: the handshake fails

  Pem def = MakeCert({"default.test"});
  opts.default_cert = *NewCertificateContext(def.cert, def.key);
  store = BuildCertStore(s, opts);
  EXPECT_EQ(Pick(*store, ""), "default.test");
  EXPECT_EQ(Pick(*store, "x.a.b.example.com"), "default.test");
  EXPECT_EQ(Pick(*store, "a.b.example.com"), "*.b.example.com");
}

TEST(CertStore, DevCertAnswersEveryName) {
  snapshot::v1::Snapshot s;
  AddCert(&s, "exact", MakeCert({"www.example.com"}), {"www.example.com"});
  Pem dev = MakeCert({"dev.localhost"});
  CertStoreOptions opts;
  opts.unwrap = FakeUnwrap;
  opts.dev_cert = *NewCertificateContext(dev.cert, dev.key);
  auto store = BuildCertStore(s, opts);
  EXPECT_EQ(Pick(*store, "www.example.com"), "dev.localhost");
  EXPECT_EQ(Pick(*store, ""), "dev.localhost");
}

TEST(CertStore, LaterCertificateWinsASharedName) {
  snapshot::v1::Snapshot s;
  AddCert(&s, "a", MakeCert({"first.test"}), {"shared.test"});
  AddCert(&s, "b", MakeCert({"second.test"}), {"shared.test"});
  CertStoreOptions opts;
  opts.unwrap = FakeUnwrap;
  EXPECT_EQ(Pick(*BuildCertStore(s, opts), "shared.test"), "second.test");
}

TEST(CertStore, BadCertificatesAreSkippedAndCountedAlone) {
  CertErrorCounters& c = CertErrorCounters::Global();
  const uint64_t wrong0 = c.wrong_kek, decrypt0 = c.decrypt, mismatch0 = c.key_mismatch, nokek0 = c.no_kek;
  snapshot::v1::Snapshot s;
  Pem good = MakeCert({"good.test"});
  Pem other = MakeCert({"other.test"});
  AddCert(&s, "good", good, {"good.test"});
  AddCert(&s, "wrongkek", MakeCert({"w.test"}), {"w.test"}, "wrong");
  AddCert(&s, "tampered", MakeCert({"t.test"}), {"t.test"}, "garbage");
  Pem mismatched{good.cert, other.key};
  AddCert(&s, "mismatch", mismatched, {"m.test"});
  CertStoreOptions opts;
  opts.unwrap = FakeUnwrap;
  auto store = BuildCertStore(s, opts);
  EXPECT_EQ(store->loaded(), 1u);
  EXPECT_EQ(Pick(*store, "good.test"), "good.test");
  EXPECT_EQ(Pick(*store, "w.test"), "");
  EXPECT_EQ(Pick(*store, "t.test"), "");
  EXPECT_EQ(Pick(*store, "m.test"), "");
  EXPECT_EQ(c.wrong_kek - wrong0, 1u);
  EXPECT_EQ(c.decrypt - decrypt0, 1u);
  EXPECT_EQ(c.key_mismatch - mismatch0, 1u);
  EXPECT_NE(c.RenderPrometheus().find("edgerouter_certificate_errors_total{reason=\"key_mismatch\"}"),
            std::string::npos);

  // Without a KEK every snapshot certificate is skipped.
  auto none = BuildCertStore(s, CertStoreOptions());
  EXPECT_EQ(none->loaded(), 0u);
  EXPECT_EQ(c.no_kek - nokek0, 4u);
}

TEST(CertStore, UnchangedCertificatesKeepTheirContextAcrossSnapshots) {
  snapshot::v1::Snapshot s1;
  AddCert(&s1, "a", MakeCert({"a.test"}), {"a.test"});
  AddCert(&s1, "b", MakeCert({"b.test"}), {"b.test"});
  CertStoreOptions opts;
  opts.unwrap = FakeUnwrap;
  auto first = BuildCertStore(s1, opts);
  snapshot::v1::Snapshot s2;
  *s2.add_resources() = s1.resources(0);
  AddCert(&s2, "b", MakeCert({"b2.test"}), {"b.test"}, "ok", "v2");
  opts.previous = first.get();
  auto second = BuildCertStore(s2, opts);
  EXPECT_EQ(second->Select("a.test"), first->Select("a.test"));
  EXPECT_NE(second->Select("b.test"), first->Select("b.test"));
  EXPECT_EQ(Pick(*second, "b.test"), "b2.test");
}

TEST(CertStore, ExpiredCertificatesAreStillServed) {
  snapshot::v1::Snapshot s;
  AddCert(&s, "old", MakeCert({"old.test"}, -1), {"old.test"});
  CertStoreOptions opts;
  opts.unwrap = FakeUnwrap;
  auto store = BuildCertStore(s, opts);
  EXPECT_EQ(store->expired(), 1u);
  EXPECT_EQ(Pick(*store, "old.test"), "old.test");
}

TEST(CertStore, NormalizeName) {
  EXPECT_EQ(CertStore::NormalizeName("A.Example.COM."), "a.example.com");
  EXPECT_EQ(CertStore::NormalizeName(std::string(300, 'a')), "");
}

}  // namespace
}  // namespace edgerouter::tls
