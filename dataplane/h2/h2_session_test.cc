// h2::Session against a real nghttp2 client session, wired back to back in memory: streams,
// flow-control backpressure in both directions, limits and floods, graceful GOAWAY.
#include "dataplane/h2/h2_session.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace edgerouter::h2 {
namespace {

// Serves: /echo (the request body back, after the request ends), /big/N (N bytes of a
// pattern, written until the stream is full, resumed on OnResponseWritable), /hold (never
// acknowledges the request body nor answers until told).
class TestHandler : public Handler {
 public:
  Session* session = nullptr;
  std::map<int32_t, std::string> bodies;
  std::map<int32_t, Stream*> streams;  // open ones
  std::map<int32_t, size_t> big_left;
  std::vector<int32_t> closed;
  std::vector<int32_t> heads;  // streams that reached OnRequestHeaders
  int full_count = 0;
  bool hold_consume = false;

  void OnRequestHeaders(Stream& s) override {
    streams[s.id] = &s;
    heads.push_back(s.id);
    if (absl::StartsWith(s.path, "/big/")) {
      size_t n = 0;
      ASSERT_TRUE(absl::SimpleAtoi(s.path.substr(5), &n));
      big_left[s.id] = n;
      ASSERT_TRUE(session->SubmitResponse(s, 200, {{"content-type", "application/octet-stream"}}, false).ok());
      WriteBig(s);
    }
  }
  void OnRequestData(Stream& s, absl::string_view data) override {
    bodies[s.id].append(data.data(), data.size());
    if (!hold_consume && s.path != "/hold") session->ConsumeRequestData(s, data.size());
  }
  void OnRequestEnd(Stream& s) override {
    if (s.path == "/echo") {
      ASSERT_TRUE(session->SubmitResponse(s, 200, {{"x-method", s.method}, {"x-authority", s.authority}}, false).ok());
      session->WriteResponseData(s, bodies[s.id]);
      session->EndResponse(s);
    }
  }
  void OnStreamClosed(Stream& s, uint32_t) override {
    closed.push_back(s.id);
    streams.erase(s.id);
  }
  void OnResponseWritable(Stream& s) override { WriteBig(s); }

  void WriteBig(Stream& s) {
    size_t& left = big_left[s.id];
    while (left > 0) {
      const size_t n = std::min<size_t>(left, 16384);
      left -= n;
      if (!session->WriteResponseData(s, std::string(n, static_cast<char>('a' + left % 26)))) {
        ++full_count;
        if (left == 0) session->EndResponse(s);
        return;
      }
    }
    session->EndResponse(s);
  }
};

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  bool closed = false;
  uint32_t error = 0;
};

// A real nghttp2 client with its own callbacks; it can withhold WINDOW_UPDATEs.
class Client {
 public:
  explicit Client(bool manual_window = false) {
    nghttp2_session_callbacks* cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl, const uint8_t* v, size_t vl,
               uint8_t, void* u) {
          Response& r = static_cast<Client*>(u)->responses[f->hd.stream_id];
          std::string name(reinterpret_cast<const char*>(n), nl), value(reinterpret_cast<const char*>(v), vl);
          if (name == ":status") r.status = std::stoi(value);
          r.headers[name] = value;
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cb, [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* d, size_t len, void* u) {
          static_cast<Client*>(u)->responses[id].body.append(reinterpret_cast<const char*>(d), len);
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, [](nghttp2_session*, int32_t id, uint32_t e, void* u) {
      Response& r = static_cast<Client*>(u)->responses[id];
      r.closed = true;
      r.error = e;
      return 0;
    });
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, [](nghttp2_session*, const nghttp2_frame* f, void* u) {
      Client* c = static_cast<Client*>(u);
      if (f->hd.type == NGHTTP2_GOAWAY) {
        c->goaway = true;
        c->goaway_error = f->goaway.error_code;
        c->goaway_last_stream = f->goaway.last_stream_id;
      }
      return 0;
    });
    nghttp2_option* opt;
    nghttp2_option_new(&opt);
    if (manual_window) nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_session_client_new2(&session, cb, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~Client() { nghttp2_session_del(session); }

  int32_t Request(const std::string& method, const std::string& path, std::vector<Header> extra = {},
                  const std::string* body = nullptr) {
    std::vector<Header> all = {{":method", method}, {":scheme", "https"}, {":authority", "site.test"}, {":path", path}};
    all.insert(all.end(), extra.begin(), extra.end());
    std::vector<nghttp2_nv> nva;
    for (Header& h : all) {
      nva.push_back({reinterpret_cast<uint8_t*>(h.first.data()), reinterpret_cast<uint8_t*>(h.second.data()),
                     h.first.size(), h.second.size(), NGHTTP2_NV_FLAG_NONE});
    }
    nghttp2_data_provider provider{};
    if (body != nullptr) {
      provider.read_callback = [](nghttp2_session*, int32_t id, uint8_t* buf, size_t len, uint32_t* flags,
                                  nghttp2_data_source*, void* u) -> ssize_t {
        std::string& up = static_cast<Client*>(u)->uploads_[id];
        const size_t n = std::min(len, up.size());
        memcpy(buf, up.data(), n);
        up.erase(0, n);
        if (up.empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
        return static_cast<ssize_t>(n);
      };
    }
    const int32_t id =
        nghttp2_submit_request(session, nullptr, nva.data(), nva.size(), body ? &provider : nullptr, nullptr);
    if (body != nullptr) uploads_[id] = *body;  // read only once frames are produced
    return id;
  }

  // HEADERS with exactly `fields` (names sent as given: nghttp2 would lower-case a copy) on a
  // new stream (stream_id -1) or an open one (trailers).
  int32_t Headers(std::vector<Header> fields, bool end_stream, int32_t stream_id = -1) {
    kept_.push_back(std::make_unique<std::vector<Header>>(std::move(fields)));
    std::vector<nghttp2_nv> nva;
    for (Header& h : *kept_.back()) {
      nva.push_back({reinterpret_cast<uint8_t*>(h.first.data()), reinterpret_cast<uint8_t*>(h.second.data()),
                     h.first.size(), h.second.size(), NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE});
    }
    return nghttp2_submit_headers(session, end_stream ? NGHTTP2_FLAG_END_STREAM : NGHTTP2_FLAG_NONE, stream_id,
                                  nullptr, nva.data(), nva.size(), nullptr);
  }

  std::string Output() {
    std::string out;
    const uint8_t* data;
    for (ssize_t n; (n = nghttp2_session_mem_send(session, &data)) > 0;) out.append(reinterpret_cast<const char*>(data), n);
    return out;
  }

  nghttp2_session* session;
  std::map<int32_t, Response> responses;
  bool goaway = false;
  uint32_t goaway_error = 0;
  int32_t goaway_last_stream = -1;

 private:
  std::map<int32_t, std::string> uploads_;
  std::vector<std::unique_ptr<std::vector<Header>>> kept_;  // Headers()' fields, until sent
};

class H2SessionTest : public ::testing::Test {
 protected:
  // Header lists over 64 KiB are refused by the nghttp2 *client* before sending, so the 431
  // path is tested with a smaller server limit.
  static Limits TestLimits() {
    Limits l;
    l.max_header_list_bytes = 16 * 1024;
    return l;
  }
  H2SessionTest() : server_(&handler_, TestLimits()) {
    handler_.session = &server_;
    EXPECT_TRUE(server_.Start().ok());
  }

  // Moves bytes both ways until neither side has anything to say; the last server error wins.
  absl::Status Pump(Client& client) {
    absl::Status last = absl::OkStatus();
    for (int rounds = 0; rounds < 10000; ++rounds) {
      const std::string to_server = client.Output();
      if (!to_server.empty()) {
        absl::Status s = server_.Receive(to_server);
        if (!s.ok()) last = s;
      }
      proxy::IoBuffer out;
      server_.Send(&out, 1 << 20);
      if (!out.empty()) {
        EXPECT_GE(nghttp2_session_mem_recv(client.session, reinterpret_cast<const uint8_t*>(out.view().data()),
                                           out.size()),
                  0);
      }
      if (to_server.empty() && out.empty()) break;
    }
    return last;
  }

  TestHandler handler_;
  Session server_;
};

// The views a FieldList hands out stay valid while later fields fill more blocks (one field
// larger than a block included), and a cleared list serves the next request from its blocks.
TEST(FieldList, ViewsSurviveGrowthAndTheListIsReusedAfterClear) {
  FieldList list;
  for (int round = 0; round < 3; ++round) {
    const absl::string_view method = list.Keep("POST");
    std::vector<std::pair<std::string, std::string>> expected;
    for (int i = 0; i < 60; ++i) {
      std::string name = absl::StrCat("x-field-", i, "-r", round);
      std::string value(i == 30 ? 3000 : static_cast<size_t>(i * 7 % 50), static_cast<char>('a' + i % 26));
      list.Add(name, value);
      expected.emplace_back(std::move(name), std::move(value));
    }
    list.Add("", "");
    expected.emplace_back("", "");
    ASSERT_EQ(list.size(), expected.size());
    size_t i = 0;
    for (const FieldView& f : list) {
      EXPECT_EQ(f.first, expected[i].first) << round << " " << i;
      EXPECT_EQ(f.second, expected[i].second) << round << " " << i;
      ++i;
    }
    EXPECT_EQ(method, "POST");
    if (round == 1) {
      list.Release();
    } else {
      list.clear();
    }
    EXPECT_TRUE(list.empty());
  }
}

TEST_F(H2SessionTest, ConcurrentStreamsEachGetTheirResponse) {
  Client client;
  std::vector<int32_t> ids;
  for (int i = 0; i < 10; ++i) {
    const std::string body = absl::StrCat("body-", i);
    ids.push_back(client.Request("POST", "/echo", {{"content-length", std::to_string(body.size())}}, &body));
  }
  ASSERT_TRUE(Pump(client).ok());
  for (int i = 0; i < 10; ++i) {
    const Response& r = client.responses[ids[i]];
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, absl::StrCat("body-", i));
    EXPECT_EQ(r.headers.at("x-method"), "POST");
    EXPECT_EQ(r.headers.at("x-authority"), "site.test");
    EXPECT_TRUE(r.closed);
  }
  EXPECT_EQ(handler_.closed.size(), 10u);
  EXPECT_EQ(server_.active_streams(), 0u);
}

TEST_F(H2SessionTest, RequestBodyWaitsForTheHandlerToForwardIt) {
  handler_.hold_consume = true;
  Client client;
  const std::string body(1 << 20, 'x');
  const int32_t id = client.Request("POST", "/upload", {}, &body);
  ASSERT_TRUE(Pump(client).ok());
  // Only the advertised stream window arrived: the client is blocked, not buffered by us.
  EXPECT_EQ(handler_.bodies[id].size(), Limits{}.stream_window);
  handler_.hold_consume = false;
  // Acknowledge what was forwarded; the rest follows.
  server_.ConsumeRequestData(*handler_.streams.at(id), handler_.bodies[id].size());
  ASSERT_TRUE(Pump(client).ok());
  EXPECT_EQ(handler_.bodies[id].size(), body.size());
}

TEST_F(H2SessionTest, StalledUploadsDoNotBlockOtherStreams) {
  Client client;
  const std::string big(1 << 20, 'h');
  // Six uploads whose bytes are never forwarded: more than the connection window in total.
  for (int i = 0; i < 6; ++i) client.Request("POST", "/hold", {}, &big);
  const std::string small(100000, 'e');
  const int32_t id = client.Request("POST", "/echo", {}, &small);
  ASSERT_TRUE(Pump(client).ok());
  EXPECT_EQ(client.responses[id].status, 200);
  EXPECT_EQ(client.responses[id].body.size(), small.size());
  for (const auto& [sid, body] : handler_.bodies) {
    if (sid != id) EXPECT_EQ(body.size(), Limits{}.stream_window);  // each held one: its window only
  }
}

TEST_F(H2SessionTest, ResponseStopsAtTheClientWindowAndResumes) {
  Client client(/*manual_window=*/true);
  const int32_t id = client.Request("GET", "/big/1000000");
  ASSERT_TRUE(Pump(client).ok());
  // The client's default 65535-byte window caps what was sent; the handler saw "full".
  EXPECT_EQ(client.responses[id].body.size(), 65535u);
  EXPECT_GE(handler_.full_count, 1);
  size_t received = client.responses[id].body.size();
  while (!client.responses[id].closed) {
    nghttp2_session_consume(client.session, id, received);
    ASSERT_TRUE(Pump(client).ok());
    const size_t now = client.responses[id].body.size();
    ASSERT_GT(now, received) << "no progress";
    received = now;
  }
  ASSERT_EQ(client.responses[id].body.size(), 1000000u);
  EXPECT_EQ(client.responses[id].error, 0u);
}

TEST_F(H2SessionTest, OversizedHeaderListGets431AndTheConnectionLives) {
  Client client;
  std::vector<Header> many;
  for (int i = 0; i < 20; ++i) many.emplace_back(absl::StrCat("x-big-", i), std::string(1000, 'a'));
  const int32_t big = client.Request("GET", "/echo", many);
  ASSERT_TRUE(Pump(client).ok());
  EXPECT_EQ(client.responses[big].status, 431);
  EXPECT_TRUE(handler_.closed.empty());  // never reached the handler
  const int32_t ok = client.Request("GET", "/echo");
  ASSERT_TRUE(Pump(client).ok());
  EXPECT_EQ(client.responses[ok].status, 200);
}

TEST_F(H2SessionTest, RapidResetEndsTheConnectionWithEnhanceYourCalm) {
  Client client;
  absl::Status last;
  for (int i = 0; i < 300 && !client.goaway; ++i) {
    const int32_t id = client.Request("GET", "/hold");
    absl::Status s = Pump(client);  // the server has the request before it is cancelled
    if (s.ok()) {
      nghttp2_submit_rst_stream(client.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      s = Pump(client);
    }
    if (!s.ok()) last = s;
  }
  EXPECT_TRUE(absl::IsResourceExhausted(last)) << last;
  EXPECT_EQ(server_.abuse(), "rapid reset");
  EXPECT_TRUE(client.goaway);
  EXPECT_EQ(client.goaway_error, static_cast<uint32_t>(NGHTTP2_ENHANCE_YOUR_CALM));
}

// "MadeYouReset" (CVE-2025-8671): a request the handler has started on, then a frame that
// makes nghttp2 reset the stream itself (here DATA beyond the declared content-length): it
// counts like the client's own reset.
TEST_F(H2SessionTest, ProvokedResetsEndTheConnectionWithEnhanceYourCalm) {
  Client client;
  absl::Status last;
  const std::string body(10, 'b');
  for (int i = 0; i < 300 && !client.goaway && last.ok(); ++i) {
    client.Request("POST", "/hold", {{"content-length", "5"}}, &body);
    last = Pump(client);
  }
  // The resets surface while the server sends (RST_STREAM closes the stream), so the GOAWAY
  // goes out from Send() and nothing more is read.
  EXPECT_EQ(server_.abuse(), "provoked stream resets");
  EXPECT_TRUE(absl::IsResourceExhausted(server_.Receive(std::string(9, '\0')))) << last;
  EXPECT_TRUE(client.goaway);
  EXPECT_EQ(client.goaway_error, static_cast<uint32_t>(NGHTTP2_ENHANCE_YOUR_CALM));
  EXPECT_GE(handler_.closed.size(), 100u);  // they did reach the handler before the resets
}

// Streams we reset ourselves (e.g. an origin's untranslatable response) are not the client's
// doing and never count.
TEST_F(H2SessionTest, OurOwnResetsDoNotCountAsAbuse) {
  Client client;
  for (int i = 0; i < 300; ++i) {
    const int32_t id = client.Request("GET", "/hold");
    ASSERT_TRUE(Pump(client).ok());
    ASSERT_EQ(handler_.streams.count(id), 1u) << id;
    server_.ResetStream(*handler_.streams[id], NGHTTP2_INTERNAL_ERROR);
    ASSERT_TRUE(Pump(client).ok()) << i;
  }
  EXPECT_EQ(server_.abuse(), "");
  EXPECT_FALSE(client.goaway);
}

// The codec's half of the desync defences (RFC 9113 §8.1.1, §8.2): malformed fields never
// reach the handler, and a body that disagrees with its content-length is never answered.
TEST_F(H2SessionTest, MalformedRequestsAreStreamErrors) {
  Client client;
  std::vector<int32_t> bad_heads;
  for (const std::vector<Header>& fields : std::vector<std::vector<Header>>{
           {{"x-a", "b\x01"}}, {{"x-a", "b\x7f"}}, {{"x-a", "a\r\nb"}}, {{"x-a", " lead"}},
           {{"connection", "close"}}, {{"te", "gzip"}}, {{"transfer-encoding", "chunked"}}, {{"upgrade", "h2c"}},
           {{"content-length", "5"}, {"content-length", "5"}}, {{"content-length", "-1"}}}) {
    bad_heads.push_back(client.Request("GET", "/echo", fields));
  }
  const std::string long_body(10, 'b'), short_body(3, 'b');
  const int32_t too_long = client.Request("POST", "/echo", {{"content-length", "5"}}, &long_body);
  const int32_t too_short = client.Request("POST", "/echo", {{"content-length", "5"}}, &short_body);
  const int32_t fine = client.Request("POST", "/echo", {{"content-length", "3"}}, &short_body);
  Pump(client);
  for (int32_t id : bad_heads) {
    EXPECT_TRUE(client.responses[id].closed) << id;
    EXPECT_EQ(client.responses[id].error, static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR)) << id;
    EXPECT_EQ(std::count(handler_.heads.begin(), handler_.heads.end(), id), 0) << id;
  }
  for (int32_t id : {too_long, too_short}) {
    EXPECT_EQ(client.responses[id].status, 0) << id;
    EXPECT_EQ(client.responses[id].error, static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR)) << id;
  }
  EXPECT_EQ(handler_.bodies[too_long], "");  // refused before any byte reached the handler
  EXPECT_EQ(client.responses[fine].status, 200);
  EXPECT_EQ(client.responses[fine].body, short_body);
}

// The rest of RFC 9113 §8.2-8.3, checked by the session (nghttp2's HTTP messaging is off):
// field-name case and characters, pseudo-header fields (known, once, first, complete, origin
// form), authority characters, content-length against END_STREAM, and trailers.
TEST_F(H2SessionTest, RequestFieldRulesAreTheSessionsOwn) {
  Client client;
  const std::vector<Header> base = {
      {":method", "GET"}, {":scheme", "https"}, {":authority", "site.test"}, {":path", "/echo"}};
  auto with = [&](std::vector<Header> extra) {
    std::vector<Header> all = base;
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  };
  std::vector<int32_t> bad;
  for (const std::vector<Header>& fields : std::vector<std::vector<Header>>{
           with({{"X-Upper", "1"}}),
           with({{"x a", "1"}}),
           with({{"x-a", "trailing "}}),
           with({{":path", "/again"}}),
           with({{":protocol", "websocket"}}),
           with({{":status", "200"}}),
           with({{"keep-alive", "5"}}),
           with({{"proxy-connection", "x"}}),
           with({{"host", "a b"}}),
           with({{"content-length", "+5"}}),
           with({{"content-length", "5"}}),  // and END_STREAM: no body follows
           {{":method", "GET"}, {":scheme", "https"}, {"x-a", "1"}, {":authority", "site.test"}, {":path", "/echo"}},
           {{":method", "GET"}, {":scheme", "https"}, {":authority", "site.test"}},
           {{":method", "GET"}, {":authority", "site.test"}, {":path", "/echo"}},
           {{":scheme", "https"}, {":authority", "site.test"}, {":path", "/echo"}},
           {{":method", "GET"}, {":scheme", "https"}, {":path", "/echo"}},
           {{":method", "GET"}, {":scheme", "https"}, {":authority", "site.test"}, {":path", "echo"}},
           {{":method", "GET"}, {":scheme", "https"}, {":authority", "site.test"}, {":path", "http://a/echo"}},
           {{":method", "GET"}, {":scheme", "https"}, {":authority", "site.test"}, {":path", "*"}},
           {{":method", "G T"}, {":scheme", "https"}, {":authority", "site.test"}, {":path", "/echo"}},
           {{":method", "GET"}, {":scheme", "https"}, {":authority", "site test"}, {":path", "/echo"}},
       }) {
    bad.push_back(client.Headers(fields, /*end_stream=*/true));
  }
  const int32_t host_only =
      client.Headers({{":method", "GET"}, {":scheme", "https"}, {":path", "/echo"}, {"host", "site.test"}}, true);
  const int32_t te_trailers = client.Headers(with({{"te", "Trailers"}, {"x-b", ""}}), true);
  // Trailers (once their streams are open): no pseudo-header fields, and they end the stream.
  const int32_t pseudo_trailer = client.Headers(base, false);
  const int32_t open_trailer = client.Headers(base, false);
  const int32_t good_trailer = client.Headers(base, false);
  Pump(client).IgnoreError();
  client.Headers({{":path", "/x"}}, true, pseudo_trailer);
  client.Headers({{"x-t", "1"}}, false, open_trailer);
  client.Headers({{"x-t", "1"}}, true, good_trailer);
  Pump(client).IgnoreError();
  for (int32_t id : bad) {
    EXPECT_TRUE(client.responses[id].closed) << id;
    EXPECT_EQ(client.responses[id].error, static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR)) << id;
    EXPECT_EQ(std::count(handler_.heads.begin(), handler_.heads.end(), id), 0) << id;
  }
  for (int32_t id : {pseudo_trailer, open_trailer}) {
    EXPECT_EQ(client.responses[id].status, 0) << id;
    EXPECT_EQ(client.responses[id].error, static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR)) << id;
  }
  for (int32_t id : {host_only, te_trailers, good_trailer}) {
    EXPECT_EQ(client.responses[id].status, 200) << id;
    EXPECT_EQ(client.responses[id].headers["x-authority"], "site.test") << id;
  }
  EXPECT_EQ(server_.abuse(), "");
}

TEST_F(H2SessionTest, PingFloodEndsTheConnection) {
  Client client;
  const uint8_t opaque[8] = {};
  for (int i = 0; i < 500; ++i) nghttp2_submit_ping(client.session, NGHTTP2_FLAG_NONE, opaque);
  EXPECT_TRUE(absl::IsResourceExhausted(Pump(client)));
  EXPECT_EQ(server_.abuse(), "control frame flood");
  EXPECT_EQ(client.goaway_error, static_cast<uint32_t>(NGHTTP2_ENHANCE_YOUR_CALM));
}

TEST_F(H2SessionTest, GracefulShutdownFinishesStreamsInFlight) {
  Client client;
  const int32_t id = client.Request("GET", "/big/100000");
  ASSERT_TRUE(Pump(client).ok());
  server_.StartGracefulShutdown();
  ASSERT_TRUE(Pump(client).ok());
  EXPECT_TRUE(client.goaway);
  EXPECT_EQ(client.goaway_error, 0u);
  EXPECT_EQ(client.goaway_last_stream, id);
  EXPECT_EQ(client.responses[id].body.size(), 100000u);
  EXPECT_TRUE(server_.Finished());
}

TEST_F(H2SessionTest, GarbageIsAProtocolError) {
  EXPECT_FALSE(server_.Receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n").ok());
}

}  // namespace
}  // namespace edgerouter::h2
