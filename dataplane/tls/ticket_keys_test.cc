#include "dataplane/tls/ticket_keys.h"

#include <unistd.h>

#include <cstring>
#include <fstream>
#include <thread>

#include "gtest/gtest.h"

namespace edgerouter::tls {
namespace {

std::string TempFile(const std::string& bytes) {
  char path[] = "/tmp/er-ticket-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fd);
  return path;
}

TEST(TicketKeyRing, RotationKeepsTheNewestKeys) {
  TicketKeyRing& ring = TicketKeyRing::Global();
  ring.Set({});
  ring.RotateRandom(3);
  const TicketKey first = ring.CurrentForThisThread().front();
  ring.RotateRandom(3);
  ring.RotateRandom(3);
  TicketKeyRing::Keys keys = ring.CurrentForThisThread();
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(std::memcmp(keys[2].name, first.name, 16), 0);  // oldest last, still decrypts
  ring.RotateRandom(3);
  keys = ring.CurrentForThisThread();
  ASSERT_EQ(keys.size(), 3u);
  for (const TicketKey& k : keys) EXPECT_NE(std::memcmp(k.name, first.name, 16), 0);  // dropped
}

TEST(TicketKeyRing, OtherThreadsSeeRotations) {
  TicketKeyRing& ring = TicketKeyRing::Global();
  ring.RotateRandom(2);
  unsigned char seen[16];
  std::thread([&] { std::memcpy(seen, ring.CurrentForThisThread().front().name, 16); }).join();
  EXPECT_EQ(std::memcmp(seen, ring.CurrentForThisThread().front().name, 16), 0);
  ring.RotateRandom(2);
  std::thread([&] { std::memcpy(seen, ring.CurrentForThisThread().front().name, 16); }).join();
  EXPECT_EQ(std::memcmp(seen, ring.CurrentForThisThread().front().name, 16), 0);
}

TEST(TicketKeyRing, KeyFile) {
  TicketKeyRing& ring = TicketKeyRing::Global();
  std::string bytes(160, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i);
  const std::string path = TempFile(bytes);
  ASSERT_TRUE(ring.LoadFile(path).ok());
  const uint64_t gen = ring.generation();
  TicketKeyRing::Keys keys = ring.CurrentForThisThread();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].name[0], 0);
  EXPECT_EQ(keys[0].hmac_key[0], 16);
  EXPECT_EQ(keys[0].aes_key[0], 48);
  EXPECT_EQ(keys[1].name[0], 80);
  ASSERT_TRUE(ring.LoadFile(path).ok());
  EXPECT_EQ(ring.generation(), gen);  // unchanged file: nothing to publish

  const std::string bad = TempFile(std::string(50, 'x'));
  absl::Status s = ring.LoadFile(bad);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("multiple of 80"), absl::string_view::npos) << s;
  EXPECT_EQ(ring.CurrentForThisThread().size(), 2u);  // the old keys stay
  EXPECT_FALSE(ring.LoadFile("/nonexistent/ticket.key").ok());
  unlink(path.c_str());
  unlink(bad.c_str());
}

}  // namespace
}  // namespace edgerouter::tls
