#ifndef GATEWAY_METRICS_CALLBACK_FAMILY_H_
#define GATEWAY_METRICS_CALLBACK_FAMILY_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "gateway/metrics/family.h"
#include "gateway/metrics/spec.h"

namespace envelope::metrics::metrics_internal {

// A family whose series are computed at scrape time. Samples with the wrong
// number of label values are dropped; samples with the same label values
// (also after folding into "other") are added together. Which values a cap
// keeps is decided per scrape: the first ones in sorted order.
class CallbackFamily final : public FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, std::string type,
                 std::vector<std::string> label_names,
                 std::vector<LabelCap> caps, SampleCallback callback);

  absl::string_view type() const override { return type_; }
  void AppendSamples(std::string* out) const override;

 private:
  const std::string type_;
  const std::vector<LabelCap> caps_;
  // Concurrent scrapes take turns, so a callback need not be reentrant.
  mutable absl::Mutex mu_;
  const SampleCallback callback_ ABSL_GUARDED_BY(mu_);
};

}  // namespace envelope::metrics::metrics_internal

#endif  // GATEWAY_METRICS_CALLBACK_FAMILY_H_
