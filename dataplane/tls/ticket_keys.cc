#include "dataplane/tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace edgerouter::tls {
namespace {

struct ThreadView {
  uint64_t generation = ~uint64_t{0};
  std::shared_ptr<const TicketKeyRing::Keys> keys;
};
thread_local ThreadView tls_view;

bool SetMacKey(EVP_MAC_CTX* hctx, const TicketKey& key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key.hmac_key),
                                        sizeof(key.hmac_key)),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  return EVP_MAC_CTX_set_params(hctx, params) == 1;
}

// OpenSSL's ticket hook: enc=1 names the key and sets up encryption (1 = ok); enc=0 finds the
// named key (0 = unknown: full handshake; 1 = ok; 2 = ok but an older key: issue a new ticket).
int TicketCallback(SSL*, unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cctx,
                   EVP_MAC_CTX* hctx, int enc) {
  const TicketKeyRing::Keys& keys = TicketKeyRing::Global().CurrentForThisThread();
  if (keys.empty()) return enc ? -1 : 0;
  if (enc) {
    const TicketKey& key = keys.front();
    std::memcpy(key_name, key.name, sizeof(key.name));
    if (RAND_bytes(iv, 16) != 1) return -1;
    if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, key.aes_key, iv) != 1) return -1;
    return SetMacKey(hctx, key) ? 1 : -1;
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    const TicketKey& key = keys[i];
    if (std::memcmp(key_name, key.name, sizeof(key.name)) != 0) continue;
    if (!SetMacKey(hctx, key)) return -1;
    if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, key.aes_key, iv) != 1) return -1;
    return i == 0 ? 1 : 2;
  }
  return 0;
}

}  // namespace

TicketKeyRing& TicketKeyRing::Global() {
  static TicketKeyRing* ring = new TicketKeyRing();
  return *ring;
}

void TicketKeyRing::Set(Keys keys) {
  auto next = std::make_shared<const Keys>(std::move(keys));
  absl::MutexLock lock(&mu_);
  keys_ = std::move(next);
  generation_.fetch_add(1, std::memory_order_release);
}

void TicketKeyRing::RotateRandom(size_t keep) {
  TicketKey fresh;
  RAND_bytes(reinterpret_cast<unsigned char*>(&fresh), sizeof(fresh));
  Keys keys{fresh};
  {
    absl::MutexLock lock(&mu_);
    if (keys_ != nullptr) {
      for (const TicketKey& k : *keys_) {
        if (keys.size() >= keep) break;
        keys.push_back(k);
      }
    }
  }
  Set(std::move(keys));
}

absl::Status TicketKeyRing::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ticket key file ", path));
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string data = buf.str();
  if (data.empty() || data.size() % kTicketKeyFileRecord != 0) {
    return absl::InvalidArgumentError(absl::StrCat("ticket key file ", path, " has ", data.size(),
                                                   " bytes; want a multiple of 80 (name 16, hmac 32, aes 32)"));
  }
  Keys keys(data.size() / kTicketKeyFileRecord);
  for (size_t i = 0; i < keys.size(); ++i) {
    const char* rec = data.data() + i * kTicketKeyFileRecord;
    std::memcpy(keys[i].name, rec, 16);
    std::memcpy(keys[i].hmac_key, rec + 16, 32);
    std::memcpy(keys[i].aes_key, rec + 48, 32);
  }
  {
    absl::MutexLock lock(&mu_);
    if (keys_ != nullptr && keys_->size() == keys.size() &&
        std::memcmp(keys_->data(), keys.data(), keys.size() * sizeof(TicketKey)) == 0) {
      return absl::OkStatus();
    }
  }
  Set(std::move(keys));
  return absl::OkStatus();
}

const TicketKeyRing::Keys& TicketKeyRing::CurrentForThisThread() {
  static const Keys* const empty = new Keys();
  const uint64_t gen = generation();
  if (tls_view.generation != gen) {
    absl::MutexLock lock(&mu_);
    tls_view.keys = keys_;
    tls_view.generation = gen;
  }
  return tls_view.keys != nullptr ? *tls_view.keys : *empty;
}

void TicketKeyRing::Install(SSL_CTX* ctx) { SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, TicketCallback); }

}  // namespace edgerouter::tls
