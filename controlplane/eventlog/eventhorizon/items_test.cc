#include "controlplane/eventlog/eventhorizon/items.h"

#include <cstdlib>

#include "common/event_line.h"
#include "controlplane/eventlog/eventhorizon/config.h"
#include "gtest/gtest.h"

namespace edgerouter::eventhorizon {
namespace {

using nlohmann::json;

TEST(Items, EncodesAsAwsSdkGoMarshalsLogEntry) {
  Item item;
  item.stream = "/t-1/loadbalancer";
  item.version = 5;
  item.events.push_back(*ParseEventLine("2026-03-05T10:05:00.000Z AppDeleted    {\"Id\":\"example.com\"}"));
  const json encoded = EncodeItem(item);
  EXPECT_EQ(encoded, json::parse(R"({"s":{"S":"/t-1/loadbalancer"},"v":{"N":"5"},"meta_event":{"NULL":true},
      "e":{"L":[{"S":"2026-03-05T10:05:00.000Z AppDeleted    {\"Id\":\"example.com\"}"}]}})"));
  absl::StatusOr<Item> back = DecodeItem(encoded);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->version, 5);
  ASSERT_EQ(back->events.size(), 1u);
  EXPECT_EQ(back->events[0].type(), "AppDeleted");
  EXPECT_FALSE(back->meta_event.has_value());
}

TEST(Items, MetaItemsHaveNullEvents) {
  Item started{"/t-1", 0, StreamStartedEvent("/"), {}};
  const json encoded = EncodeItem(started);
  EXPECT_EQ(encoded["e"], json::parse(R"({"NULL":true})"));
  const std::string line = encoded["meta_event"]["S"];
  EXPECT_NE(line.find(" StreamStarted    {\"Parent\":\"/\"}"), std::string::npos) << line;
  absl::StatusOr<Item> link = DecodeItem(EncodeItem(Item{"/", 3, ChildStreamCreatedEvent("/t-1"), {}}));
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(ChildStreamOf(*link->meta_event), "/t-1");
  // Missing attributes read as null, as aws-sdk-go reads them.
  EXPECT_TRUE(DecodeItem(json::parse(R"({"s":{"S":"/x"},"v":{"N":"2"}})")).ok());
}

TEST(Items, MalformedItemsNameTheProblem) {
  auto bad = [](const char* text) { return std::string(DecodeItem(json::parse(text)).status().message()); };
  EXPECT_EQ(bad(R"({"s":{"S":"/x"},"v":{"N":"2"},"e":{"S":"nope"}})"), "e is neither a list nor null");
  EXPECT_EQ(bad(R"({"s":{"S":"/x"},"v":{"N":"2"},"e":{"L":[{"N":"1"}]}})"), "e[0] is not a string");
  EXPECT_NE(bad(R"({"s":{"S":"/x"},"v":{"N":"2"},"e":{"L":[{"S":"garbage"}]}})").find("e[0]: event line"),
            std::string::npos);
  EXPECT_EQ(bad(R"({"s":{"S":"/x"},"v":{"S":"2"}})"), "item has no non-negative integer attribute v");
}

TEST(Items, Parents) {
  EXPECT_EQ(ParentOf("/t-1/loadbalancer"), "/t-1");
  EXPECT_EQ(ParentOf("/t-1"), "/");
  EXPECT_EQ(ParentOf("/"), "");
}

TEST(Config, ParsesEdgerouterStrings) {
  unsetenv("AWS_ENDPOINT_URL");
  unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
  absl::StatusOr<Config> c = ParseConfig("prod:1:AKID:SECRET:eu-central-1");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->events_table(), "prod_eh_events");
  EXPECT_EQ(c->tenant_root(), "/t-1");
  EXPECT_EQ(c->credentials.secret_access_key, "SECRET");
  EXPECT_EQ(c->Describe().find("SECRET"), std::string::npos);
  EXPECT_NE(c->Describe().find("https://dynamodb.eu-central-1.amazonaws.com"), std::string::npos);

  setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
  setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8", 1);
  c = ParseConfig("dev:7:::us-east-1");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->events_table(), "dev_eh_events");
  EXPECT_EQ(c->credentials.access_key_id, "ENVKEY");
  EXPECT_EQ(c->endpoints.dynamodb, "http://127.0.0.1:8");
  unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
  EXPECT_EQ(ParseConfig("dev:7:::us-east-1")->endpoints.dynamodb, "http://127.0.0.1:9");

  EXPECT_FALSE(ParseConfig("prod:1:AKID::eu-central-1").ok());  // one key part empty
  EXPECT_EQ(ParseConfig("prod:1::TOPSECRET:eu-central-1").status().message().find("TOPSECRET"), std::string::npos);
  EXPECT_FALSE(ParseConfig("staging:1:::eu-central-1").ok());
  EXPECT_FALSE(ParseConfig("prod:1").ok());
  EXPECT_FALSE(ParseConfig("prod::a:b:eu-central-1").ok());
  EXPECT_FALSE(ParseConfig("prod:1:a:b:").ok());
}

}  // namespace
}  // namespace edgerouter::eventhorizon
