#include "gateway/route/bundled_descriptors.h"

#include <cstdlib>
#include <iostream>

// The descriptor set and its index are pulled in by the assembler so that a
// large set costs no compile time. BUNDLED_DESCRIPTOR_SET_PATH and
// BUNDLED_DESCRIPTOR_INDEX_PATH are set by the build.
#define ENVELOPE_INCBIN(name, path) \
  ".section .rodata\n"              \
  ".balign 16\n"                    \
  ".globl " name                    \
  "_begin\n"                        \
  ".hidden " name "_begin\n" name   \
  "_begin:\n"                       \
  ".incbin \"" path                 \
  "\"\n"                            \
  ".globl " name                    \
  "_end\n"                          \
  ".hidden " name "_end\n" name     \
  "_end:\n"                         \
  ".previous\n"

__asm__(ENVELOPE_INCBIN("envelope_bundled_descriptors",
                        BUNDLED_DESCRIPTOR_SET_PATH));
__asm__(ENVELOPE_INCBIN("envelope_bundled_index",
                        BUNDLED_DESCRIPTOR_INDEX_PATH));

extern "C" const char envelope_bundled_descriptors_begin[];
extern "C" const char envelope_bundled_descriptors_end[];
extern "C" const char envelope_bundled_index_begin[];
extern "C" const char envelope_bundled_index_end[];

namespace envelope {

absl::string_view BundledDescriptorSet() {
  return {envelope_bundled_descriptors_begin,
          static_cast<size_t>(envelope_bundled_descriptors_end -
                              envelope_bundled_descriptors_begin)};
}

absl::string_view BundledIndex() {
  return {envelope_bundled_index_begin,
          static_cast<size_t>(envelope_bundled_index_end -
                              envelope_bundled_index_begin)};
}

const EncodedFiles& BundledFiles() {
  static const EncodedFiles* const files = [] {
    absl::StatusOr<EncodedFiles> parsed =
        EncodedFiles::FromIndex(BundledDescriptorSet(), BundledIndex());
    if (!parsed.ok()) {  // the build made both: a broken build
      std::cerr << "bundled descriptors: " << parsed.status() << std::endl;
      std::abort();
    }
    return new EncodedFiles(*std::move(parsed));
  }();
  return *files;
}

}  // namespace envelope
