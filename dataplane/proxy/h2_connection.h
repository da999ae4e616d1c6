// HTTP/2 on a client socket (TLS with ALPN h2, or prior-knowledge h2c when enabled). The
// DownstreamConnection that owns the socket hands it over; every stream then becomes an
// exchange served by its own port-mode DownstreamConnection: it gets the stream's request
// decoded (h2/request_decoder.h: the same http::RequestHead the HTTP/1.1 parser produces) and
// its DATA as received, so routing, auth, local responses, every backend, metrics and the access
// log are the same code for both protocols. Responses come back as a parsed head
// (TakeResponseHead) or as HTTP/1.1 bytes (h2/h1_bridge.h).
//
// Backpressure: request DATA is acknowledged to the client only when the exchange has taken it
// (which it does only while its upstream keeps up); response bytes are taken from the exchange
// only while the stream's send buffer has room, and the socket is written only as fast as the
// client reads.
#ifndef EDGEROUTER_DATAPLANE_PROXY_H2_CONNECTION_H_
#define EDGEROUTER_DATAPLANE_PROXY_H2_CONNECTION_H_

#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "dataplane/h2/h1_bridge.h"
#include "dataplane/h2/h2_session.h"
#include "dataplane/proxy/http_session.h"
#include "dataplane/proxy/io_buffer.h"

namespace edgerouter::proxy {

class H2Connection : public h2::Handler {
 public:
  explicit H2Connection(DownstreamConnection* owner);
  ~H2Connection() override;

  // Sends our SETTINGS and processes `initial` (bytes already read from the socket).
  void Start(absl::string_view initial);
  void OnIo(uint32_t events);
  void Drain();        // GOAWAY; in-flight streams finish
  void OnIdleTimer();  // no stream for the idle timeout: GOAWAY and close
  // No stream open and nothing left to send (the record buffers may go).
  bool quiet() const;
  // A header block still incomplete after the header timeout (HEADERS without END_HEADERS,
  // then silence): GOAWAY and close, as for an HTTP/1.1 head.
  void OnHeaderTimer();

  // h2::Handler
  void OnRequestHeaders(h2::Stream& stream) override;
  void OnRequestData(h2::Stream& stream, absl::string_view data) override;
  void OnRequestEnd(h2::Stream& stream) override;
  void OnStreamClosed(h2::Stream& stream, uint32_t error_code) override;
  void OnResponseWritable(h2::Stream& stream) override;

 private:
  class Exchange;
  friend class Exchange;

  // Session output to the socket; re-entrant calls (from inside session callbacks) only mark
  // that another round is due.
  void Flush();
  // Exchanges produce output one stream at a time: gathering it until the end of the loop
  // iteration sends many streams' frames in one TLS record and one write.
  void FlushSoon();
  void ReadSocket();
  void UpdateInterest();
  void ScheduleService(Exchange* exchange);
  void Service();
  void Forget(Exchange* exchange);
  void ArmIdleTimer();
  // After input: the header timer runs while a header block is open, the idle timer otherwise.
  void UpdateTimer();
  void ReportAbuse();  // once per connection: metric and log line

  DownstreamConnection* const owner_;
  std::unique_ptr<h2::Session> session_;
  IoBuffer out_;
  bool flushing_ = false;
  bool flush_again_ = false;
  bool flush_scheduled_ = false;
  bool finishing_ = false;  // closing: callbacks must not touch the session
  bool service_scheduled_ = false;
  bool idle_goaway_sent_ = false;
  bool abuse_reported_ = false;
  uint64_t timed_header_block_ = 0;  // the header block the header timer runs for (0: none)
  absl::flat_hash_set<Exchange*> exchanges_;
  std::vector<Exchange*> wanting_input_;
  std::vector<Exchange*> free_exchanges_;  // finished exchanges kept for reuse
  // Points at this connection while it lives: tasks queued for later hold a weak_ptr to it
  // (16 bytes, so std::function keeps the task inline instead of allocating it).
  std::shared_ptr<H2Connection*> alive_ = std::make_shared<H2Connection*>(this);
};

}  // namespace edgerouter::proxy

#endif  // EDGEROUTER_DATAPLANE_PROXY_H2_CONNECTION_H_
