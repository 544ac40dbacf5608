#include "gateway/trace/trace_context.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace envelope::trace {
namespace {

constexpr char kValid[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(ParseTraceparent, ReadsTheW3cExample) {
  std::optional<TraceParent> parent = ParseTraceparent(kValid);
  ASSERT_TRUE(parent.has_value());
  EXPECT_EQ(parent->trace_id.high, 0x4bf92f3577b34da6u);
  EXPECT_EQ(parent->trace_id.low, 0xa3ce929d0e0e4736u);
  EXPECT_EQ(parent->parent_id, 0x00f067aa0ba902b7u);
  EXPECT_EQ(parent->flags, 0x01);
}

TEST(ParseTraceparent, KeepsOtherFlags) {
  std::optional<TraceParent> parent = ParseTraceparent(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff");
  ASSERT_TRUE(parent.has_value());
  EXPECT_EQ(parent->flags, 0xff);
}

TEST(ParseTraceparent, RefusesWhatLevel1DoesNotAllow) {
  const std::string valid = kValid;
  const char* bad[] = {
      "",
      "00",
      // Uppercase hex, anywhere.
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
      // All-zero ids.
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      // Other versions, including the forbidden ff.
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      // Wrong lengths and separators.
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
      "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
      " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0 ",
      // Not hex.
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
      "00-xbf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  };
  for (const char* value : bad) {
    EXPECT_FALSE(ParseTraceparent(value).has_value()) << value;
  }
  // A NUL inside is not hex either.
  std::string with_nul = valid;
  with_nul[10] = '\0';
  EXPECT_FALSE(ParseTraceparent(with_nul).has_value());
}

TEST(FormatTraceparent, RoundTrips) {
  std::optional<TraceParent> parent = ParseTraceparent(kValid);
  ASSERT_TRUE(parent.has_value());
  char out[kTraceparentSize];
  FormatTraceparent(parent->trace_id, parent->parent_id, parent->flags, out);
  EXPECT_EQ(std::string(out, kTraceparentSize), kValid);
}

TEST(Hex, WritesLeadingZeros) {
  EXPECT_EQ(TraceIdHex({.high = 1, .low = 0xab}),
            "000000000000000100000000000000ab");
  EXPECT_EQ(SpanIdHex(0x00f067aa0ba902b7u), "00f067aa0ba902b7");
}

TEST(NewIds, AreNonZeroAndDistinct) {
  std::set<uint64_t> spans;
  std::set<std::string> traces;
  for (int i = 0; i < 10000; ++i) {
    const uint64_t span = NewSpanId();
    const TraceId trace = NewTraceId();
    EXPECT_NE(span, 0u);
    EXPECT_TRUE(trace.valid());
    spans.insert(span);
    traces.insert(TraceIdHex(trace));
  }
  EXPECT_EQ(spans.size(), 10000u);
  EXPECT_EQ(traces.size(), 10000u);
}

TEST(BoundedTracestate, PassesAValidListOn) {
  EXPECT_EQ(BoundedTracestate("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  EXPECT_EQ(BoundedTracestate("a=1,b=2, "), "a=1,b=2");
}

TEST(BoundedTracestate, DropsMembersFromTheEndToFit) {
  std::string value = "first=" + std::string(300, 'x');
  value += ",second=" + std::string(300, 'y');
  std::string bounded = BoundedTracestate(value);
  EXPECT_EQ(bounded, "first=" + std::string(300, 'x'));
  // One member too long for the bound: nothing is passed on.
  EXPECT_EQ(BoundedTracestate("k=" + std::string(600, 'v')), "");
  EXPECT_LE(BoundedTracestate(std::string(5000, ',')).size(),
            kMaxTracestateSize);
}

TEST(BoundedTracestate, RefusesControlCharacters) {
  EXPECT_EQ(BoundedTracestate("a=1\r\nInjected: yes"), "");
  EXPECT_EQ(BoundedTracestate(std::string("a=\x80", 3)), "");
}

TEST(StartCallTrace, ContinuesTheCallersTrace) {
  CallTrace trace = StartCallTrace(kValid, "a=1", /*sample_new=*/false);
  EXPECT_EQ(TraceIdHex(trace.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(trace.parent_id, 0x00f067aa0ba902b7u);
  EXPECT_NE(trace.span_id, 0u);
  EXPECT_NE(trace.span_id, trace.parent_id);
  EXPECT_TRUE(trace.sampled());
  EXPECT_EQ(trace.tracestate, "a=1");
}

TEST(StartCallTrace, StartsANewTraceAndDropsItsTracestate) {
  for (const char* value : {"", "garbage", "00-0-0-0"}) {
    CallTrace trace = StartCallTrace(value, "a=1", /*sample_new=*/true);
    EXPECT_TRUE(trace.trace_id.valid());
    EXPECT_EQ(trace.parent_id, 0u);
    EXPECT_NE(trace.span_id, 0u);
    EXPECT_TRUE(trace.sampled());
    EXPECT_EQ(trace.tracestate, "");
  }
  EXPECT_FALSE(StartCallTrace("", "", /*sample_new=*/false).sampled());
}

}  // namespace
}  // namespace envelope::trace
