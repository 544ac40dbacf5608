// File: wire_table.h
// -----------------------------------------------------------------------------
//
// What the JSON reader needs to know of a message type to write its protobuf
// wire format directly, without a DynamicMessage or reflection: each field's
// member names, wire tag, encoding and presence, and its message type's own
// table. A table is built once per type, the first time the type is read,
// and kept for the life of the process (descriptors live as long); later
// lookups take no lock. Internal to gateway/transcode.

#ifndef GATEWAY_TRANSCODE_WIRE_TABLE_H_
#define GATEWAY_TRANSCODE_WIRE_TABLE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gateway/json/json.h"
#include "google/protobuf/descriptor.h"

namespace envelope::transcode_internal {

// How a field's value is encoded on the wire.
enum class Encoding : uint8_t {
  kVarint,    // int32, int64, uint32, uint64, bool, enum
  kZigZag32,  // sint32
  kZigZag64,  // sint64
  kFixed32,   // fixed32, sfixed32, float
  kFixed64,   // fixed64, sfixed64, double
  kBytes,     // string, bytes, message
};

// The well-known types that have a JSON form of their own.
enum class WellKnown : uint8_t {
  kNone,
  kTimestamp,
  kDuration,
  kAny,
  kValue,
  kStruct,
  kListValue,
  kFieldMask,
  kWrapper,
};

struct MessageTable;

struct FieldTable {
  const google::protobuf::FieldDescriptor* field = nullptr;
  absl::string_view json_name;  // the descriptor's own string
  Encoding encoding = Encoding::kVarint;
  // The tag written before each value; for a packed field the tag of the
  // one length-delimited record that holds them all.
  char tag[5] = {0};
  uint8_t tag_size = 0;
  bool repeated = false;
  bool packed = false;
  bool map = false;
  // A default value is written only when the field tracks presence (proto3
  // `optional`, a oneof member, proto2): otherwise it is the same as unset.
  bool has_presence = false;
  // google.protobuf.Value: JSON null is a value, not "unset".
  bool holds_json_value = false;
  // Index among the message's oneofs, or -1.
  int oneof = -1;
  // The message (or map entry) type's table; built on first use.
  const MessageTable* Child() const;

 private:
  friend struct MessageTable;
  mutable std::atomic<const MessageTable*> child_{nullptr};
};

struct MessageTable {
  const google::protobuf::Descriptor* descriptor = nullptr;
  WellKnown well_known = WellKnown::kNone;
  // In the descriptor's field order (FieldTable::field->index()).
  std::vector<FieldTable> fields;
  int oneof_count = 0;

  // The field a JSON member names (json_name, or the proto field name as
  // proto3 JSON allows), or null.
  const FieldTable* Find(absl::string_view name) const;
  // As above, trying `*next` first: the API writes members in the order of
  // its schema, which is the fields' order, so most lookups are one
  // comparison. Sets `*next` to the field after the one found.
  const FieldTable* Find(absl::string_view name, size_t* next) const {
    if (*next < fields.size() &&
        json::SameName(json::StdView(fields[*next].json_name),
                       json::StdView(name))) {
      return &fields[(*next)++];
    }
    const FieldTable* field = Find(name);
    if (field != nullptr) *next = field->field->index() + 1;
    return field;
  }
  // The field of this name (for the well-known types' own fields).
  const FieldTable& Named(absl::string_view name) const { return *Find(name); }

  // The table of `descriptor`'s type, built on first use.
  static const MessageTable& Of(const google::protobuf::Descriptor* descriptor);

 private:
  explicit MessageTable(const google::protobuf::Descriptor* descriptor);
  static std::unique_ptr<const MessageTable> Build(
      const google::protobuf::Descriptor* descriptor);
  friend struct FieldTable;
  // Open addressing over json::NameHash: each slot holds a name (a view of
  // the descriptor's own string) and its field's index, or -1; at most half
  // full.
  struct NameSlot {
    uint64_t hash = 0;
    absl::string_view name;
    int field = -1;
  };
  void AddName(absl::string_view name, int field);
  std::vector<NameSlot> names_;
};

}  // namespace envelope::transcode_internal

#endif  // GATEWAY_TRANSCODE_WIRE_TABLE_H_
