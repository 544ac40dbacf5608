#include "gateway/config/config.h"

#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "gateway/config/options.h"
#include "gateway/route/api_names.h"
#include "yaml-cpp/yaml.h"

namespace envelope {
namespace {

using config_internal::FindOption;
using config_internal::Option;
using config_internal::Options;

// Settings as text, by key, in the order given.
using Settings = std::map<std::string, std::vector<std::string>>;

absl::StatusOr<std::string> ScalarText(const std::string& key,
                                       const YAML::Node& node) {
  if (node.IsNull()) return std::string();
  if (node.IsScalar()) return node.Scalar();
  if (node.IsSequence()) {
    std::vector<std::string> items;
    for (const YAML::Node& item : node) {
      if (!item.IsScalar()) {
        return absl::InvalidArgumentError(
            absl::StrCat(key, ": list items must be plain values"));
      }
      items.push_back(item.Scalar());
    }
    return absl::StrJoin(items, ",");
  }
  std::vector<std::string> pairs;  // a map: KEY: VALUE entries
  for (const auto& entry : node) {
    if (!entry.first.IsScalar() || !entry.second.IsScalar()) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": map entries must be plain KEY: VALUE"));
    }
    pairs.push_back(
        absl::StrCat(entry.first.Scalar(), "=", entry.second.Scalar()));
  }
  return absl::StrJoin(pairs, ",");
}

absl::StatusOr<Settings> ReadYaml(const std::string& path) {
  YAML::Node root;
  try {  // yaml-cpp reports by exception; none may leave this function
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return absl::InvalidArgumentError(
        absl::StrCat("config ", path, ": cannot read"));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config ", path, ": not YAML at line ", e.mark.line + 1, ": ", e.msg));
  }
  Settings settings;
  if (root.IsNull()) return settings;  // empty file: all defaults
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config ", path, ": expected a map of keys"));
  }
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    if (FindOption(key) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("config ", path, ": unknown key \"", key, "\""));
    }
    if (entry.second.IsNull()) continue;  // "key:" alone: not given
    absl::StatusOr<std::string> text = ScalarText(key, entry.second);
    if (!text.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config ", path, ": ", text.status().message()));
    }
    settings[key].push_back(*std::move(text));
  }
  return settings;
}

struct CommandLine {
  Invocation::Mode mode = Invocation::Mode::kRun;
  std::string config_file;
  Settings flags;
};

absl::StatusOr<CommandLine> ReadArgs(int argc, char** argv) {
  CommandLine line;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      line.mode = Invocation::Mode::kHelp;
      continue;
    }
    if (arg == "--version") {
      line.mode = Invocation::Mode::kVersion;
      continue;
    }
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected argument \"", arg, "\" (flags are --key=value)"));
    }
    size_t eq = arg.find('=');
    std::string name = arg.substr(2, eq == std::string::npos ? eq : eq - 2);
    absl::StrReplaceAll({{"-", "_"}}, &name);
    std::optional<std::string> value;
    if (eq != std::string::npos) value = arg.substr(eq + 1);
    const bool takes_file = name == "config" || name == "check_config";
    const Option* option = takes_file ? nullptr : FindOption(name);
    if (!takes_file && option == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    // "--key value", except for a bare boolean.
    if (!value.has_value() && i + 1 < argc &&
        !absl::StartsWith(argv[i + 1], "--") &&
        (takes_file || option->value_doc != std::string("BOOL"))) {
      value = argv[++i];
    }
    if (takes_file) {
      if (!value.has_value() || value->empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a file"));
      }
      line.config_file = *value;
      if (name == "check_config") line.mode = Invocation::Mode::kCheckConfig;
      continue;
    }
    line.flags[name].push_back(value.value_or(""));
  }
  return line;
}

absl::Status Apply(const Option& option, const std::vector<std::string>& texts,
                   absl::string_view where, GatewayConfig& config) {
  for (const std::string& text : texts) {
    absl::Status status = option.set(text, config);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, option.name, ": ", status.message()));
    }
  }
  return absl::OkStatus();
}

// Control characters of an error message (a YAML key may hold a line break;
// yaml-cpp's messages quote the input) written as \xNN: the message is one
// line (config.h).
absl::Status OneLine(absl::Status status) {
  if (status.ok()) return status;
  std::string message;
  for (char c : status.message()) {
    if ((c >= 0 && c < 0x20) || c == 0x7F) {
      absl::StrAppend(&message, "\\x", absl::Hex(c, absl::kZeroPad2));
    } else {
      message.push_back(c);
    }
  }
  return absl::Status(status.code(), message);
}

absl::StatusOr<Invocation> ParseInvocationAsGiven(int argc, char** argv) {
  absl::StatusOr<CommandLine> line = ReadArgs(argc, argv);
  if (!line.ok()) return line.status();
  Settings file;
  if (!line->config_file.empty()) {
    absl::StatusOr<Settings> read = ReadYaml(line->config_file);
    if (!read.ok()) return read.status();
    file = *std::move(read);
  }
  Invocation invocation;
  invocation.mode = line->mode;
  const std::string file_prefix =
      absl::StrCat("config ", line->config_file, ": ");
  for (const Option& option : Options()) {
    // A key given as a flag replaces what the file says about it.
    auto flag = line->flags.find(option.name);
    absl::Status status =
        flag != line->flags.end()
            ? Apply(option, flag->second, "--", invocation.config)
            : (file.count(option.name) ? Apply(option, file[option.name],
                                               file_prefix, invocation.config)
                                       : absl::OkStatus());
    if (!status.ok()) return status;
  }
  const GatewayConfig& c = invocation.config;
  if (c.listen.empty()) {
    return absl::InvalidArgumentError("listen: at least one address is needed");
  }
  std::vector<std::pair<std::string, std::string>> endpoints = {
      {"endpoint", c.upstream.endpoint_template}};
  for (const auto& [service, url] : c.upstream.service_endpoints) {
    endpoints.push_back({"service_endpoint", url});
  }
  for (const auto& [key, url] : endpoints) {
    absl::Status status = ValidateEndpoint(url);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": \"", url, "\" ", status.message()));
    }
  }
  if (!ValidateRegion(c.dispatcher.default_region).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "region: \"", c.dispatcher.default_region, "\" is not a region name"));
  }
  return invocation;
}

}  // namespace

absl::StatusOr<Invocation> ParseInvocation(int argc, char** argv) {
  absl::StatusOr<Invocation> invocation = ParseInvocationAsGiven(argc, argv);
  if (!invocation.ok()) return OneLine(invocation.status());
  return invocation;
}

std::string Usage() {
  GatewayConfig defaults;
  std::string text =
      "envelope-gateway: gRPC sidecar for envelope-style JSON APIs\n"
      "usage: envelope-gateway [--config FILE] [--key=value ...]\n"
      "       envelope-gateway --check-config FILE\n"
      "Every key below is a flag (--key or --key-with-dashes) and a key of\n"
      "the YAML config file; flags win over the file.\n\n";
  for (const Option& option : Options()) {
    std::string shown = option.show(defaults);
    absl::StrAppend(&text, "  --", option.name, "=", option.value_doc,
                    option.list ? " (repeatable)" : "", "\n      ", option.help,
                    "\n");
    if (!shown.empty()) absl::StrAppend(&text, "      default: ", shown, "\n");
  }
  return text;
}

}  // namespace envelope
