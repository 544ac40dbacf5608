#include "gateway/transcode/wire_table.h"

#include <memory>

#include "gateway/json/json.h"
#include "gateway/transcode/json_internal.h"

namespace envelope::transcode_internal {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

Encoding EncodingOf(const FieldDescriptor* field) {
  switch (field->type()) {
    case FieldDescriptor::TYPE_SINT32:
      return Encoding::kZigZag32;
    case FieldDescriptor::TYPE_SINT64:
      return Encoding::kZigZag64;
    case FieldDescriptor::TYPE_FIXED32:
    case FieldDescriptor::TYPE_SFIXED32:
    case FieldDescriptor::TYPE_FLOAT:
      return Encoding::kFixed32;
    case FieldDescriptor::TYPE_FIXED64:
    case FieldDescriptor::TYPE_SFIXED64:
    case FieldDescriptor::TYPE_DOUBLE:
      return Encoding::kFixed64;
    case FieldDescriptor::TYPE_STRING:
    case FieldDescriptor::TYPE_BYTES:
    case FieldDescriptor::TYPE_MESSAGE:
    case FieldDescriptor::TYPE_GROUP:
      return Encoding::kBytes;
    default:
      return Encoding::kVarint;
  }
}

int WireType(Encoding encoding) {
  switch (encoding) {
    case Encoding::kFixed32:
      return 5;
    case Encoding::kFixed64:
      return 1;
    case Encoding::kBytes:
      return 2;
    default:
      return 0;
  }
}

WellKnown WellKnownOf(const Descriptor* descriptor) {
  if (!json_internal::IsWellKnown(descriptor)) return WellKnown::kNone;
  const std::string& name = descriptor->full_name();
  if (name == "google.protobuf.Timestamp") return WellKnown::kTimestamp;
  if (name == "google.protobuf.Duration") return WellKnown::kDuration;
  if (name == "google.protobuf.Any") return WellKnown::kAny;
  if (name == "google.protobuf.Value") return WellKnown::kValue;
  if (name == "google.protobuf.Struct") return WellKnown::kStruct;
  if (name == "google.protobuf.ListValue") return WellKnown::kListValue;
  if (name == "google.protobuf.FieldMask") return WellKnown::kFieldMask;
  return WellKnown::kWrapper;
}

}  // namespace

MessageTable::MessageTable(const Descriptor* descriptor)
    : descriptor(descriptor),
      well_known(WellKnownOf(descriptor)),
      fields(descriptor->field_count()),
      oneof_count(descriptor->oneof_decl_count()) {
  size_t slots = 4;
  while (slots < 4 * fields.size()) slots *= 2;  // two names per field
  names_.resize(slots);
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    FieldTable& f = fields[i];
    f.field = field;
    f.json_name = field->json_name();
    f.encoding = EncodingOf(field);
    f.repeated = field->is_repeated();
    f.packed = field->is_packed();
    f.map = field->is_map();
    f.has_presence = field->has_presence();
    f.holds_json_value =
        field->message_type() != nullptr &&
        field->message_type()->full_name() == "google.protobuf.Value";
    const auto* oneof = field->real_containing_oneof();
    f.oneof = oneof == nullptr ? -1 : oneof->index();
    const int wire_type = f.packed ? 2 : WireType(f.encoding);
    uint64_t tag = (static_cast<uint64_t>(field->number()) << 3) | wire_type;
    while (tag >= 0x80) {
      f.tag[f.tag_size++] = static_cast<char>(tag | 0x80);
      tag >>= 7;
    }
    f.tag[f.tag_size++] = static_cast<char>(tag);
    AddName(field->json_name(), i);
    if (field->name() != field->json_name()) AddName(field->name(), i);
  }
}

void MessageTable::AddName(absl::string_view name, int field) {
  const uint64_t hash = json::NameHash(json::StdView(name));
  const size_t mask = names_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    if (names_[i].field < 0) {
      names_[i] = {hash, name, field};
      return;
    }
    if (names_[i].name == name) return;  // a json_name that is a field name
  }
}

const FieldTable* MessageTable::Find(absl::string_view name) const {
  const uint64_t hash = json::NameHash(json::StdView(name));
  const size_t mask = names_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const NameSlot& slot = names_[i];
    if (slot.field < 0) return nullptr;
    if (slot.hash == hash &&
        json::SameName(json::StdView(slot.name), json::StdView(name))) {
      return &fields[slot.field];
    }
  }
}

std::unique_ptr<const MessageTable> MessageTable::Build(
    const Descriptor* descriptor) {
  return std::unique_ptr<const MessageTable>(new MessageTable(descriptor));
}

const MessageTable& MessageTable::Of(const Descriptor* descriptor) {
  return json_internal::CachedPerDescriptor<MessageTable, &MessageTable::Build>(
      descriptor);
}

const MessageTable* FieldTable::Child() const {
  const MessageTable* child = child_.load(std::memory_order_acquire);
  if (child == nullptr) {
    child = &MessageTable::Of(field->message_type());
    child_.store(child, std::memory_order_release);
  }
  return child;
}

}  // namespace envelope::transcode_internal
