// The wire side of exai-bench without I/O: builds handshakes and requests for each dialect (MCP
// JSON-RPC, op, raw frames) and checks every answer against the request it names. Boost.JSON only.
#pragma once

#include "bench/options.hpp"

#include <boost/json/parser.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace exai::bench {

enum class dialect { mcp, op, raw };

enum class error_kind {
  none,
  bad_json,     // not JSON / not an object where one is required
  unknown_id,   // an answer naming no request in flight on this connection
  error_reply,  // JSON-RPC error, isError:true, op error
  mismatch,     // the echoed text differs from the one sent
  unexpected,   // a message that is neither an answer nor a known notification
  missing,      // no answer before the end (counted by the load loop)
  connection,   // connect, handshake or a dropped connection
  answered_cancelled,  // cancel mode: an answer arrived for a cancelled call
  not_settled,  // cancel mode: the in-flight count did not return to 0 (or could not be read)
  count_
};
const char* error_kind_name(error_kind k);

struct verdict {
  enum kind_t { answer, ignore, failure } kind = ignore;
  error_kind error = error_kind::none;
  bool has_id = false;  // an error that names a request frees its slot
  std::uint64_t id = 0;
};

class codec {
 public:
  codec(dialect d, const options& o);

  bench::dialect wire() const { return dialect_; }

  // First handshake message (initialize / hello); empty for raw. A reply is expected.
  std::string handshake_request(unsigned conn) const;
  // Sent after the handshake reply (notifications/initialized); may be empty.
  std::string handshake_followup() const;
  // Empty when the reply is the expected one; otherwise what was wrong.
  std::string check_handshake_reply(std::string_view msg, bool* multiplex_granted = nullptr);

  // The request with this id on connection `conn`, into out (cleared first; capacity reused).
  void encode_call(unsigned conn, std::uint64_t id, std::string& out);
  // MCP notifications/cancelled for that id.
  void encode_cancel(std::uint64_t id, std::string& out) const;
  // tools/call of the `status` tool (MCP), for reading the in-flight count.
  void encode_status_call(std::uint64_t id, std::string& out) const;

  // Classifies one message received on connection `conn`; for an answer, verifies it against
  // the request the id names (the echo text is regenerated from conn and id, not stored).
  verdict check(unsigned conn, std::string_view msg);

  // The generated echo text / raw frame for (conn, id): unique per request, at least
  // payload_bytes long.
  void make_text(unsigned conn, std::uint64_t id, std::string& out) const;

  // MCP echo answers confirmed by the learned shape (below) rather than by a parse.
  std::uint64_t shape_matches() const noexcept { return shape_matches_; }

 private:
  verdict check_mcp(unsigned conn, const boost::json::object& o);
  verdict check_op(unsigned conn, const boost::json::object& o);
  verdict check_raw(unsigned conn, std::string_view msg);
  bool text_ok(unsigned conn, std::uint64_t id, const boost::json::value* content);

  // The answer shape, learned from the first MCP echo answer that passed the full check: its
  // bytes with the id number and the echo text cut out. A later answer equal to the shape with
  // its own id and the text expected for it is the same valid JSON with the same fields, so it
  // needs no parse (the generator shares the cores with what it measures: issue 7). Anything
  // else, including an answer of another shape, takes the full check.
  struct answer_shape {
    bool learned = false;
    bool id_first = true;    // the id number comes before the text
    std::string head, middle, tail;  // head <first> middle <second> tail
  };
  void learn_shape(unsigned conn, std::uint64_t id, std::string_view msg);
  std::optional<std::uint64_t> match_shape(unsigned conn, std::string_view msg);
  answer_shape shape_;
  std::uint64_t shape_matches_ = 0;

  bench::dialect dialect_;
  std::size_t payload_bytes_;
  bool check_text_;            // echo with a generated text
  std::string fixed_text_;     // echo with --args text: the same text every time
  bool check_fixed_ = false;
  std::string tool_json_;      // "echo" as a JSON string
  std::string args_head_;      // arguments up to (and including) `"text":"`, or all of them
  std::string token_json_;     // hello token / Bearer (JSON string)
  std::string scratch_;
  std::string alphabet_run_;   // "abc..zabc.." of payload_bytes + 26 characters
  unsigned char parse_tmp_[4096];
  unsigned char value_buf_[16384];
  boost::json::parser parser_;
};

// Sum of all series of a gauge/counter in Prometheus text format; nullopt when absent.
std::optional<double> prometheus_value(std::string_view body, std::string_view name);
// The in-flight count from a `status` tool answer (MCP tools/call result whose text is JSON):
// the first number found under a key named "in_flight" or "inflight" at any depth.
std::optional<std::int64_t> status_in_flight(std::string_view msg);

}  // namespace exai::bench
