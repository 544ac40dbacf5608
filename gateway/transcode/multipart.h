// File: multipart.h
//
// The form an action with `binary` members is sent as. The API takes such
// actions (cii UploadMedicalFile's File) as multipart/form-data, not JSON:
// its documented example sends the file as a form part, and the official
// SDKs send it so (tencentcloud-sdk-python marks the action IsMultipart
// with BinaryParams; docs/protogen.md, "Types"). The generator maps a
// `binary` member to protobuf `bytes`; a request message with a top-level
// bytes field is sent as this form, in the SDK's layout:
//
//   --<boundary>\r\n
//   Content-Disposition: form-data; name="File"; filename="File"\r\n
//   \r\n
//   <the bytes as they are>\r\n
//   --<boundary>\r\n
//   Content-Disposition: form-data; name="FileURL"\r\n
//   \r\n
//   <a string as it is>\r\n
//   --<boundary>--\r\n
//
// A message or repeated member is its JSON, with a `Content-Type:
// application/json` line; another scalar is its JSON text (5, true). Only
// members that are set are sent; no member at all gives an empty body, as
// the SDK sends.
#ifndef GATEWAY_TRANSCODE_MULTIPART_H_
#define GATEWAY_TRANSCODE_MULTIPART_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace envelope {

// Whether requests of this type are sent as multipart/form-data: it has a
// top-level bytes field.
// Example: route.multipart = TakesMultipart(*request_descriptor);
bool TakesMultipart(const google::protobuf::Descriptor& request);

// "multipart/form-data; boundary=<32 random hex digits>": a boundary no
// body is likely to hold (128 random bits, as the SDK's uuid4().hex).
// Example: std::string content_type = MultipartContentType(&boundary);
std::string MultipartContentType(std::string* boundary);

// Appends the form of `message` to `out`. An error when a string member is
// not UTF-8 (the JSON body refuses the same).
// Example:
//   std::string boundary, body;
//   std::string content_type = MultipartContentType(&boundary);
//   absl::Status s = MessageToMultipart(request, boundary, &body);
absl::Status MessageToMultipart(const google::protobuf::Message& message,
                                absl::string_view boundary, std::string* out);

}  // namespace envelope

#endif  // GATEWAY_TRANSCODE_MULTIPART_H_
