// The HTTP/2 session fed raw client bytes (the connection preface, then arbitrary frames), with
// a handler that answers every request, streams bodies back and consumes request data, so the
// response and flow-control paths run too. Invariants: the session never hands the handler a
// stream it already closed, never reports a stream closed twice, and every stream handed over
// is closed by the end (when the session finishes or is destroyed).
#include <cstdint>
#include <cstdlib>
#include <set>

#include "dataplane/h2/h2_session.h"

namespace {

using edgerouter::h2::Stream;

constexpr absl::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

class Answering : public edgerouter::h2::Handler {
 public:
  edgerouter::h2::Session* session = nullptr;
  std::set<int32_t> open;

  void OnRequestHeaders(Stream& s) override {
    if (!open.insert(s.id).second) abort();  // handed over twice
    const std::vector<edgerouter::h2::HeaderRef> fields = {{"content-type", "text/plain"}};
    session->SubmitResponse(s, 200, fields, /*end_stream=*/false);
    session->WriteResponseData(s, "hello ");
    if (s.request_ended) session->EndResponse(s);
  }
  void OnRequestData(Stream& s, absl::string_view data) override {
    if (!open.count(s.id)) abort();
    session->ConsumeRequestData(s, data.size());
  }
  void OnRequestEnd(Stream& s) override {
    if (!open.count(s.id)) abort();
    session->EndResponse(s);
  }
  void OnStreamClosed(Stream& s, uint32_t) override {
    if (open.erase(s.id) != 1) abort();  // closed twice, or never handed over
  }
  void OnResponseWritable(Stream& s) override {
    if (!open.count(s.id)) abort();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Answering handler;
  {
    edgerouter::h2::Session session(&handler, edgerouter::h2::Limits{});
    handler.session = &session;
    if (!session.Start().ok()) abort();
    edgerouter::proxy::IoBuffer out;
    absl::Status status = session.Receive(kPreface);
    // The input in pieces of up to 256 bytes, draining our output between them as a socket would.
    size_t at = 0;
    while (status.ok() && at < size) {
      const size_t n = std::min<size_t>(size - at, 1 + data[at] % 256);
      status = session.Receive(absl::string_view(reinterpret_cast<const char*>(data) + at, n));
      at += n;
      session.Send(&out, 1 << 20);
      out.Clear();
    }
    session.Send(&out, 1 << 20);
  }
  if (!handler.open.empty()) abort();  // the session ended with a stream still open
  return 0;
}
