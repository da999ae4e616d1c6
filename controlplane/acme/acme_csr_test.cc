#include "controlplane/acme/acme_csr.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <set>

#include "controlplane/acme/acme_jws.h"
#include "gtest/gtest.h"

namespace edgerouter::acme {
namespace {

TEST(AcmeCsrTest, SignedRequestWithEveryName) {
  absl::StatusOr<EvpPkeyPtr> key = GenerateP256Key();
  ASSERT_TRUE(key.ok());
  absl::StatusOr<std::string> der = MakeCsrDer(key->get(), {"a.example.test", "b.example.test"});
  ASSERT_TRUE(der.ok()) << der.status();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der->size()));
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(X509_REQ_verify(req, key->get()), 1);
  EXPECT_EQ(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key->get()), 1);
  char cn[256] = {0};
  X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn, sizeof(cn));
  EXPECT_STREQ(cn, "a.example.test");
  std::set<std::string> sans;
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    auto* names = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext));
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      GENERAL_NAME* n = sk_GENERAL_NAME_value(names, j);
      if (n->type == GEN_DNS) {
        sans.insert(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                                ASN1_STRING_length(n->d.dNSName)));
      }
    }
    GENERAL_NAMES_free(names);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_free(req);
  EXPECT_EQ(sans, (std::set<std::string>{"a.example.test", "b.example.test"}));
}

TEST(AcmeCsrTest, RejectsNamesThatWouldBreakTheSan) {
  absl::StatusOr<EvpPkeyPtr> key = GenerateP256Key();
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(MakeCsrDer(key->get(), {}).ok());
  absl::Status s = MakeCsrDer(key->get(), {"a.test,DNS:evil.test"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("a.test,DNS:evil.test"), std::string::npos);
}

}  // namespace
}  // namespace edgerouter::acme
