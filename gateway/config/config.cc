#include "gateway/config/config.h"

#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "gateway/config/flag_spelling.h"
#include "gateway/config/options.h"
#include "gateway/credentials/files.h"
#include "gateway/route/api_names.h"
#include "yaml-cpp/yaml.h"

namespace envelope {
namespace {

using config_internal::FindOption;
using config_internal::Option;
using config_internal::Options;

// Settings as text, by key, in the order given.
using Settings = std::map<std::string, std::vector<std::string>>;

// The environment variables the gateway reads, for --help: the credential
// chain's (gateway/credentials/chain.cc, docs/credentials.md) and libcurl's
// proxy settings.
constexpr std::pair<const char*, const char*> kEnvironment[] = {
    {"TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY, "
     "TENCENTCLOUD_SESSION_TOKEN",
     "the env credential source"},
    {"TENCENTCLOUD_CREDENTIALS_FILE, TENCENTCLOUD_PROFILE",
     "the profile file and profile, when --credentials-file and "
     "--credentials-profile are not set"},
    {"HOME", "where ~/.tencentcloud/credentials is"},
    {"TKE_REGION, TKE_PROVIDER_ID, TKE_WEB_IDENTITY_TOKEN_FILE, TKE_ROLE_ARN",
     "the tke-oidc credential source (set by TKE's pod identity webhook)"},
    {"HTTPS_PROXY, https_proxy, http_proxy, ALL_PROXY, NO_PROXY, no_proxy",
     "the upstream proxy, when --proxy and --no-proxy are not set (read by "
     "libcurl)"},
};

// A config file over this is no config file.
constexpr size_t kMaxConfigBytes = 1 << 20;
// Descriptor sets of many products run to megabytes; protobuf refuses 2 GiB.
constexpr size_t kMaxDescriptorSetBytes = size_t{256} << 20;

// What a typo is compared with: every key, and for a flag also the flags
// that are no keys.
std::vector<std::string> KnownNames(bool flags) {
  std::vector<std::string> names;
  if (flags) names = {"config", "check_config", "help", "version"};
  for (const Option& option : Options()) names.push_back(option.name);
  return names;
}

// yaml-cpp keeps both entries of a key given twice, and lookups see only the
// first: a second value the reader would never notice is refused instead
// (docs/configuration.md). `where`: "" for the top level, else "key: ".
absl::Status NoDuplicateKeys(const YAML::Node& map, absl::string_view where) {
  std::map<std::string, int> first_line;
  for (const auto& entry : map) {
    if (!entry.first.IsScalar()) continue;  // refused elsewhere
    const int line = entry.first.Mark().line + 1;
    auto [it, inserted] = first_line.emplace(entry.first.Scalar(), line);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line, ": ", where, "duplicate key \"", entry.first.Scalar(),
          "\" (first at line ", it->second, ")"));
    }
  }
  return absl::OkStatus();
}

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
  absl::Status unique = NoDuplicateKeys(node, absl::StrCat(key, ": "));
  if (!unique.ok()) return unique;
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
  // Read here rather than by YAML::LoadFile, which says neither why a file
  // cannot be read nor that a directory is none (it reads as empty).
  absl::StatusOr<std::string> text =
      credentials_internal::ReadFileUpTo(path, kMaxConfigBytes);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config ", path, ": cannot read: ",
        absl::StripPrefix(text.status().message(), absl::StrCat(path, ": "))));
  }
  YAML::Node root;
  try {  // yaml-cpp reports by exception; none may leave this function
    root = YAML::Load(*text);
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
  absl::Status unique = NoDuplicateKeys(root, "");
  if (!unique.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config ", path, ": ", unique.message()));
  }
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    if (FindOption(key) == nullptr) {
      const std::string nearest = NearestName(key, KnownNames(false));
      return absl::InvalidArgumentError(absl::StrCat(
          "config ", path, ": line ", entry.first.Mark().line + 1,
          ": unknown key \"", key, "\"",
          nearest.empty() ? ""
                          : absl::StrCat(" (did you mean ", nearest, "?)")));
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
      return absl::InvalidArgumentError(
          UnknownFlagMessage(name, KnownNames(true)));
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
            absl::StrCat(FlagSpelling(name), " needs a file"));
      }
      line.config_file = *value;
      if (name == "check_config") line.mode = Invocation::Mode::kCheckConfig;
      continue;
    }
    line.flags[name].push_back(value.value_or(""));
  }
  return line;
}

// `label` names the setting as the user wrote it: "--max-attempts" or
// "config FILE: max_attempts".
absl::Status Apply(const Option& option, const std::vector<std::string>& texts,
                   absl::string_view label, GatewayConfig& config) {
  for (const std::string& text : texts) {
    absl::Status status = option.set(text, config);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, ": ", status.message()));
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
            ? Apply(option, flag->second, FlagSpelling(option.name),
                    invocation.config)
            : (file.count(option.name)
                   ? Apply(option, file[option.name],
                           absl::StrCat(file_prefix, option.name),
                           invocation.config)
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

absl::StatusOr<std::string> ReadConfiguredFile(const std::string& path) {
  absl::StatusOr<std::string> bytes =
      credentials_internal::ReadFileUpTo(path, kMaxDescriptorSetBytes);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", bytes.status().message()));
  }
  return bytes;
}

std::string Usage() {
  GatewayConfig defaults;
  std::string text =
      "envelope-gateway: gRPC sidecar for envelope-style JSON APIs\n"
      "usage: envelope-gateway [--config FILE] [--key=value ...]\n"
      "       envelope-gateway --check-config FILE\n"
      "       envelope-gateway --help | --version\n"
      "Every flag below is also a key of the YAML config file, written with\n"
      "underscores (--admin-listen is admin_listen:); flags win over the\n"
      "file. Flags may be written with underscores too.\n\n";
  for (const Option& option : Options()) {
    std::string shown = option.show(defaults);
    absl::StrAppend(&text, "  ", FlagSpelling(option.name), "=",
                    option.value_doc, option.list ? " (repeatable)" : "",
                    "\n      ", option.help, "\n");
    if (!shown.empty()) absl::StrAppend(&text, "      default: ", shown, "\n");
  }
  absl::StrAppend(&text, "\nEnvironment:\n");
  for (const auto& [names, meaning] : kEnvironment) {
    absl::StrAppend(&text, "  ", names, "\n      ", meaning, "\n");
  }
  return text;
}

}  // namespace envelope
