#include "cli/ctl_format.h"

#include "gtest/gtest.h"

namespace edgerouter::ctl {
namespace {

TEST(FormatTableTest, PadsColumnsToTheWidestCellWithoutTrailingSpaces) {
  EXPECT_EQ(FormatTable({{"ID", "X", "LAST"}, {"longer-id", "", "z"}, {"a", "wide cell", ""}}),
            "ID         X          LAST\n"
            "longer-id             z\n"
            "a          wide cell\n");
}

TEST(FormatTableTest, HeaderOnly) { EXPECT_EQ(FormatTable({{"A", "B"}}), "A  B\n"); }

TEST(FormatAppListTest, EdgerouterColumnsFrontendsJoinedBySpace) {
  admin::v1::ListAppsResponse response;
  admin::v1::AppSummary* app = response.add_apps();
  app->set_id("example.com");
  app->add_frontends("hostname:example.com/");
  app->add_frontends("hostname:www.example.com/");
  app->set_backend("s3_static_website:mycompany-staticwebsites/v1");
  app = response.add_apps();
  app->set_id("x");
  app->add_frontends("path_prefix:/m");
  app->set_backend("prom_metrics");
  EXPECT_EQ(FormatAppList(response),
            "ID           Frontends                                        Backend\n"
            "example.com  hostname:example.com/ hostname:www.example.com/  "
            "s3_static_website:mycompany-staticwebsites/v1\n"
            "x            path_prefix:/m                                   prom_metrics\n");
}

TEST(FormatAppListTest, RejectedAfterABlankLine) {
  admin::v1::ListAppsResponse response;
  admin::v1::AppSummary* app = response.add_apps();
  app->set_id("a");
  app->add_frontends("f");
  app->set_backend("b");
  snapshot::v1::RejectedItem* item = response.add_rejected();
  item->set_source("loadbalancer@17");
  item->set_id("bad");
  item->set_reason("app bad: id is required\napp bad: backend.kind is required");
  EXPECT_EQ(FormatAppList(response),
            "ID  Frontends  Backend\n"
            "a   f          b\n"
            "\n"
            "rejected:\n"
            "  loadbalancer@17 bad: app bad: id is required; app bad: backend.kind is required\n");
}

TEST(FormatDiscoveryErrorsTest, TableOfSourceSubjectError) {
  google::protobuf::RepeatedPtrField<snapshot::v1::RejectedItem> rejected;
  EXPECT_EQ(FormatDiscoveryErrors(rejected), "no discovery errors\n");
  snapshot::v1::RejectedItem* item = rejected.Add();
  item->set_source("docker");
  item->set_id("bad");
  item->set_reason("unsupported auth mode: nope");
  item = rejected.Add();
  item->set_source("loadbalancer@7");
  item->set_id("shop");
  item->set_reason("frontends[0].hostname: empty\nsecond line");
  EXPECT_EQ(FormatDiscoveryErrors(rejected),
            "SOURCE          SUBJECT  ERROR\n"
            "docker          bad      unsupported auth mode: nope\n"
            "loadbalancer@7  shop     frontends[0].hostname: empty; second line\n");
}

TEST(FormatAppListTest, NoAppsGivesTheHeaderOnly) {
  EXPECT_EQ(FormatAppList(admin::v1::ListAppsResponse()), "ID  Frontends  Backend\n");
}

TEST(FormatNodesTest, TableThenCurrentVersion) {
  admin::v1::ListNodesResponse response;
  response.set_current_version("v2");
  admin::v1::NodeStatus* node = response.add_nodes();
  node->set_node_id("edge-1");
  node->set_peer("ipv4:10.0.0.5:40312");
  node->set_connected(true);
  node->set_connected_since_unix_ms(1772704800123);  // 2026-03-05T10:00:00.123Z
  node->set_last_acked_version("v2");
  node = response.add_nodes();
  node->set_node_id("edge-2");
  node->set_peer("ipv4:10.0.0.6:5000");
  node->set_connected(false);
  node->set_connected_since_unix_ms(1772704800000);  // stale: not shown when disconnected
  node->set_last_acked_version("v1");
  node->set_pending_version("v2");
  node->set_last_nack_version("v2");
  node->set_last_nack_message("bad cert\nsecond line");
  EXPECT_EQ(FormatNodes(response),
            "NODE    PEER                 CONNECTED             ACKED  PENDING  LAST NACK\n"
            "edge-1  ipv4:10.0.0.5:40312  2026-03-05T10:00:00Z  v2     -        -\n"
            "edge-2  ipv4:10.0.0.6:5000   -                     v1     v2       "
            "v2: bad cert; second line\n"
            "current version v2\n");
}

TEST(FormatNodesTest, NoNodes) {
  EXPECT_EQ(FormatNodes(admin::v1::ListNodesResponse()),
            "NODE  PEER  CONNECTED  ACKED  PENDING  LAST NACK\n"
            "current version -\n");
}

admin::v1::GetSnapshotResponse SampleSnapshot() {
  admin::v1::GetSnapshotResponse response;
  snapshot::v1::Snapshot* snap = response.mutable_snapshot();
  snap->set_version("9f3a");
  snapshot::v1::Resource* resource = snap->add_resources();
  resource->set_name("app/example.com");
  resource->set_version("c0ffee");
  resource->mutable_app()->set_id("example.com");
  resource = snap->add_resources();
  resource->set_name("cert/example.com");
  resource->set_version("beef");
  resource->mutable_certificate()->set_id("example.com");
  return response;
}

TEST(FormatSnapshotSummaryTest, VersionCountResourcesThenRejected) {
  admin::v1::GetSnapshotResponse response = SampleSnapshot();
  snapshot::v1::RejectedItem* item = response.add_rejected();
  item->set_source("docker");
  item->set_id("web-1");
  item->set_reason("no network attachment");
  EXPECT_EQ(FormatSnapshotSummary(response),
            "version 9f3a\n"
            "resources 2\n"
            "app/example.com c0ffee\n"
            "cert/example.com beef\n"
            "\n"
            "rejected:\n"
            "  docker web-1: no network attachment\n");
}

TEST(FormatSnapshotSummaryTest, EmptySnapshot) {
  EXPECT_EQ(FormatSnapshotSummary(admin::v1::GetSnapshotResponse()), "version -\nresources 0\n");
}

TEST(FormatSnapshotJsonTest, IndentedProtoJsonOfTheSnapshot) {
  absl::StatusOr<std::string> json = FormatSnapshotJson(SampleSnapshot());
  ASSERT_TRUE(json.ok()) << json.status();
  // add_whitespace indents by one space per level.
  EXPECT_NE(json->find("\n \"version\": \"9f3a\""), std::string::npos) << *json;
  EXPECT_NE(json->find("\"name\": \"cert/example.com\""), std::string::npos) << *json;
  EXPECT_EQ(json->back(), '\n');
}

TEST(FormatStreamEntriesTest, LinesAndOptionalVersionComments) {
  admin::v1::ReadStreamResponse response;
  admin::v1::StreamEntry* entry = response.add_entries();
  entry->set_version(3);
  entry->add_lines("2026-03-05T10:00:00.000Z AppDeleted    {\"Id\":\"a\"}");
  entry->add_lines("2026-03-05T10:00:00.000Z AppDeleted    {\"Id\":\"b\"}");
  entry = response.add_entries();
  entry->set_version(4);  // an entry without events (e.g. a meta event) prints nothing
  EXPECT_EQ(FormatStreamEntries(response, false),
            "2026-03-05T10:00:00.000Z AppDeleted    {\"Id\":\"a\"}\n"
            "2026-03-05T10:00:00.000Z AppDeleted    {\"Id\":\"b\"}\n");
  EXPECT_EQ(FormatStreamEntries(response, true),
            "# version 3\n"
            "2026-03-05T10:00:00.000Z AppDeleted    {\"Id\":\"a\"}\n"
            "2026-03-05T10:00:00.000Z AppDeleted    {\"Id\":\"b\"}\n"
            "# version 4\n");
}

TEST(FormatUnixMsTest, Rfc3339UtcOrDash) {
  EXPECT_EQ(FormatUnixMs(0), "-");
  EXPECT_EQ(FormatUnixMs(86400000), "1970-01-02T00:00:00Z");
}

TEST(OneLineTest, FoldsLinesAndDropsBlankOnes) {
  EXPECT_EQ(OneLine("a\nb\r\n\nc\n"), "a; b; c");
  EXPECT_EQ(OneLine("single"), "single");
  EXPECT_EQ(OneLine(""), "");
}

}  // namespace
}  // namespace edgerouter::ctl
