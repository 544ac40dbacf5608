#ifndef GATEWAY_TRANSCODE_JSON_INTERNAL_H_
#define GATEWAY_TRANSCODE_JSON_INTERNAL_H_

// Shared by the writer and the well-known-type writer; not part of the
// module's interface.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace envelope::json_internal {

// What `Build` makes of a message type, built once per type and kept for the
// life of the process (descriptors live as long). Lookups after the first go
// through a per-thread map: no lock on the hot path.
template <typename T, std::unique_ptr<const T> (*Build)(
                          const google::protobuf::Descriptor*)>
const T& CachedPerDescriptor(const google::protobuf::Descriptor* descriptor) {
  thread_local absl::flat_hash_map<const google::protobuf::Descriptor*,
                                   const T*>
      local;
  if (auto it = local.find(descriptor); it != local.end()) return *it->second;
  static absl::Mutex mu(absl::kConstInit);
  static auto* shared =
      new absl::flat_hash_map<const google::protobuf::Descriptor*,
                              std::unique_ptr<const T>>;
  absl::MutexLock lock(&mu);
  auto& slot = (*shared)[descriptor];
  if (slot == nullptr) slot = Build(descriptor);
  local[descriptor] = slot.get();
  return *slot;
}

void AppendString(absl::string_view s, std::string* out);
void AppendDouble(double value, std::string* out);
void AppendMessage(const google::protobuf::Message& message, std::string* out);
// A singular field's value.
void AppendFieldValue(const google::protobuf::Message& message,
                      const google::protobuf::FieldDescriptor* field,
                      std::string* out);
// The entries of map field `field` to write, by index: each key's last
// entry. A map read from the wire can hold a key twice, and reflection
// lists both; the last is the key's value (protobuf's map semantics), and a
// JSON object names each member once.
std::vector<int> MapEntriesToWrite(
    const google::protobuf::Message& message,
    const google::protobuf::FieldDescriptor* field);

// Writes a well-known type in its proto3 JSON form (Timestamp as RFC 3339,
// Duration as "1.5s", wrappers as their value, Struct/Value/ListValue as
// plain JSON, FieldMask as "a.b,cD", Any with "@type"). False when
// `message` is not one.
bool AppendWellKnown(const google::protobuf::Message& message,
                     std::string* out);

bool IsWellKnown(const google::protobuf::Descriptor* descriptor);

// The ranges proto3 JSON defines for Duration and Timestamp, for the reader
// and the writer alike.
inline constexpr int64_t kMaxDurationSeconds = 315576000000;
inline constexpr int64_t kMinTimestampSeconds = -62135596800;  // 0001-01-01
inline constexpr int64_t kMaxTimestampSeconds = 253402300799;  // 9999-12-31
inline constexpr int32_t kMaxNanos = 999999999;

// google.protobuf.Any values nested inside each other that are written out;
// a deeper one is written as {"@type"} alone and TakeWriteError() says so.
inline constexpr int kMaxAnyNesting = 8;
// Why a value written on this thread since the last call had no JSON form
// (an Any past kMaxAnyNesting, a Duration or Timestamp out of range), or
// null; clears it.
const char* TakeWriteError();

// "foo_bar.baz" <-> "fooBar.baz", for FieldMask paths.
std::string SnakeToCamel(absl::string_view path);
std::string CamelToSnake(absl::string_view path);

}  // namespace envelope::json_internal

#endif  // GATEWAY_TRANSCODE_JSON_INTERNAL_H_
