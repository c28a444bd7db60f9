// Upstream ids: UUID v4 request ids, never repeated; session ids matching the reference regex.
#include "gateway/pool/ids.hpp"

#include "codecs/op.hpp"

#include <boost/test/unit_test.hpp>

#include <set>

using namespace exai::gateway::pool;

BOOST_AUTO_TEST_SUITE(ids)

BOOST_AUTO_TEST_CASE(uuid_v4_shape_and_uniqueness) {
  id_source s;
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) {
    auto u = s.uuid_v4();
    BOOST_TEST_REQUIRE(is_uuid_v4(u), u);
    BOOST_TEST_REQUIRE(seen.insert(u).second);
  }
}

BOOST_AUTO_TEST_CASE(two_sources_do_not_collide) {
  id_source a, b;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    BOOST_TEST_REQUIRE(seen.insert(a.uuid_v4()).second);
    BOOST_TEST_REQUIRE(seen.insert(b.uuid_v4()).second);
  }
}

BOOST_AUTO_TEST_CASE(uuid_checker_rejects_near_misses) {
  BOOST_TEST(is_uuid_v4("123e4567-e89b-42d3-a456-426614174000"));
  BOOST_TEST(!is_uuid_v4("123e4567-e89b-12d3-a456-426614174000"));   // version 1
  BOOST_TEST(!is_uuid_v4("123e4567-e89b-42d3-c456-426614174000"));   // variant
  BOOST_TEST(!is_uuid_v4("123E4567-e89b-42d3-a456-426614174000"));   // upper case
  BOOST_TEST(!is_uuid_v4("123e4567e89b-42d3-a456-426614174000-"));
  BOOST_TEST(!is_uuid_v4(""));
}

BOOST_AUTO_TEST_CASE(session_ids_match_reference_regex_and_differ) {
  id_source s;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = s.session_id();
    BOOST_TEST_REQUIRE(exai::codecs::op::valid_session_id(id), id);
    BOOST_TEST_REQUIRE(seen.insert(id).second);
  }
}

BOOST_AUTO_TEST_CASE(seeded_source_is_deterministic) {
  id_source a(42), b(42);
  BOOST_TEST(a.uuid_v4() == b.uuid_v4());
  BOOST_TEST(a.session_id() == b.session_id());
}

BOOST_AUTO_TEST_SUITE_END()
