#ifndef GATEWAY_CONFIG_OPTIONS_H_
#define GATEWAY_CONFIG_OPTIONS_H_

// The table of keys behind GatewayConfig: one entry per key, shared by the
// flag parser, the YAML reader and --help, so no key can be one but not the
// other. Internal to the config module.
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gateway/config/config.h"

namespace envelope::config_internal {

struct Option {
  const char* name;       // "max_attempts"; the flag is --max-attempts too
  const char* value_doc;  // "N", "DURATION", "LIST", ...
  const char* help;
  bool list = false;  // repeated flags and YAML sequences append
  std::function<absl::Status(absl::string_view text, GatewayConfig&)> set;
  // The default, as text for --help (read off a default GatewayConfig).
  std::function<std::string(const GatewayConfig&)> show;
};

const std::vector<Option>& Options();
const Option* FindOption(absl::string_view name);

}  // namespace envelope::config_internal

#endif  // GATEWAY_CONFIG_OPTIONS_H_
