#include <string>

#include "dataplane/proxy/http_session.h"
#include "gtest/gtest.h"

namespace edgerouter::proxy {
namespace {

TEST(RequestState, ResetRestoresEveryDefaultAndKeepsTheStringsCapacity) {
  RequestState r;
  r.method = "POST";
  r.host.assign(200, 'h');
  r.upstream_headers.assign(4000, 'x');
  r.client.forwarded_for.assign(100, '1');
  r.forwarded_response_fields.resize(30);
  r.status = 502;
  r.keep_alive = false;
  r.body_done = false;
  r.origin_index = 3;
  r.body_framing = http::BodyFraming::kUntilStreamEnd;
  r.upstream_write_failed = true;
  const char* headers_storage = r.upstream_headers.data();

  r.Reset();
  EXPECT_TRUE(r.method.empty());
  EXPECT_TRUE(r.host.empty());
  EXPECT_TRUE(r.upstream_headers.empty());
  EXPECT_TRUE(r.client.forwarded_for.empty());
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(r.keep_alive);
  EXPECT_TRUE(r.body_done);
  EXPECT_EQ(r.origin_index, -1);
  EXPECT_EQ(r.body_framing, http::BodyFraming::kNone);
  EXPECT_FALSE(r.upstream_write_failed);
  // No allocation for the next request: the buffers are the same ones, emptied.
  EXPECT_GE(r.host.capacity(), 200u);
  EXPECT_GE(r.client.forwarded_for.capacity(), 100u);
  EXPECT_GE(r.forwarded_response_fields.size(), 30u);  // scratch, grown once and kept
  EXPECT_EQ(r.upstream_headers.data(), headers_storage);
}

}  // namespace
}  // namespace edgerouter::proxy
