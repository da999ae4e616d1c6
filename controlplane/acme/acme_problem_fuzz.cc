// What an ACME server sends back: any JSON either is a problem document or is not (never a
// crash), and a problem's text form never loses its type; Retry-After values never crash and
// never give a negative delay.
#include <cstdint>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "controlplane/acme/acme_problem.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json json = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!json.is_discarded()) {
    if (std::optional<edgerouter::acme::AcmeProblem> p = edgerouter::acme::ParseProblem(json)) {
      if (!absl::StrContains(p->ToString(), p->type)) abort();
    }
  }
  const absl::Time now = absl::FromUnixSeconds(1796500000);
  if (std::optional<absl::Duration> d = edgerouter::acme::ParseRetryAfter(text, now)) {
    if (*d < absl::ZeroDuration()) abort();
  }
  return 0;
}
