#include "controlplane/eventlog/etcd/etcd_record.h"

#include "gtest/gtest.h"

namespace edgerouter::controlplane::etcd {
namespace {

TEST(EtcdRecord, VersionKeysSortAsVersionsAndParseBack) {
  EXPECT_EQ(VersionKey("/edgerouter", "/t-1/loadbalancer", 7),
            "/edgerouter/s/t-1/loadbalancer@00000000000000000007");
  EXPECT_LT(VersionKey("/p", "/s", 9), VersionKey("/p", "/s", 10));
  const std::string prefix = StreamKeyPrefix("/p", "/t-1");
  EXPECT_EQ(ParseVersionKey(prefix, VersionKey("/p", "/t-1", 18446744073709551615u)), 18446744073709551615u);
  EXPECT_EQ(ParseVersionKey(prefix, VersionKey("/p", "/t-1", 1)), 1u);
}

TEST(EtcdRecord, ForeignKeysAreRefused) {
  const std::string prefix = StreamKeyPrefix("/p", "/t-1");
  EXPECT_FALSE(ParseVersionKey(prefix, VersionKey("/p", "/t-1", 0)).has_value());  // versions start at 1
  EXPECT_FALSE(ParseVersionKey(prefix, VersionKey("/p", "/t-1/loadbalancer", 3)).has_value());
  EXPECT_FALSE(ParseVersionKey(prefix, "/p/s/t-1@1").has_value());                      // not padded
  EXPECT_FALSE(ParseVersionKey(prefix, "/p/s/t-1@+0000000000000000001").has_value());   // sign
  EXPECT_FALSE(ParseVersionKey(prefix, "/p/s/t-1@ 0000000000000000001").has_value());   // space
  EXPECT_FALSE(ParseVersionKey(prefix, "/p/s/t-1@99999999999999999999").has_value());   // > 2^64-1
  EXPECT_FALSE(ParseVersionKey(prefix, "/p/streams/t-1").has_value());
}

TEST(EtcdRecord, RecordMustNameItsOwnKey) {
  events::v1::LogRecord record;
  record.set_stream("/t-1/certbus");
  record.set_version(4);
  record.add_events()->set_type("CertificateObtained");
  const std::string value = record.SerializeAsString();

  absl::StatusOr<events::v1::LogRecord> ok = DecodeRecord("/t-1/certbus", 4, value);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->events(0).type(), "CertificateObtained");

  // Copied under another version or stream: refused, naming where it was found.
  absl::StatusOr<events::v1::LogRecord> moved = DecodeRecord("/t-1/certbus", 5, value);
  EXPECT_EQ(moved.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(moved.status().message().find("/t-1/certbus@5"), absl::string_view::npos) << moved.status();
  EXPECT_FALSE(DecodeRecord("/t-2/certbus", 4, value).ok());
  EXPECT_EQ(DecodeRecord("/t-1/certbus", 4, "\xff\xff\xff").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace edgerouter::controlplane::etcd
