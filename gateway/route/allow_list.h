#ifndef GATEWAY_ROUTE_ALLOW_LIST_H_
#define GATEWAY_ROUTE_ALLOW_LIST_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace envelope {

// Which actions the gateway forwards (docs/configuration.md: an optional
// allow-list). Entries: "DescribeInstances", "Describe*", "cvm:RunInstances",
// "cvm:*".
class AllowList {
 public:
  explicit AllowList(std::vector<std::string> entries);

  // True when the list is empty or an entry matches.
  bool Allows(absl::string_view service, absl::string_view action) const;

 private:
  struct Entry {
    std::string service;  // empty: any
    std::string action_glob;
  };
  std::vector<Entry> entries_;
};

// '*' matches any run of characters, everything else itself.
bool GlobMatch(absl::string_view glob, absl::string_view text);

}  // namespace envelope

#endif  // GATEWAY_ROUTE_ALLOW_LIST_H_
