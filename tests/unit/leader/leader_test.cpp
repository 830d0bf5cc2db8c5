#include <catch2/catch.hpp>

#include "actors/leader/leader.hpp"

using zkd::leader::core;

TEST_CASE("a quorum of one commits on the leader's own ack") {
  core c{1};
  c.propose(1);
  c.propose(2);
  CHECK(c.ack(1, 1) == 1);
  CHECK(c.outstanding() == 1);
  CHECK(c.ack(1, 2) == 2);
  CHECK(c.outstanding() == 0);
  c.check_invariants();
}

TEST_CASE("commits wait for a majority and stay in zxid order") {
  core c{2};
  c.propose(10);
  c.propose(11);
  c.propose(12);
  CHECK(c.ack(1, 12) == 0); // the leader alone is no majority of three
  CHECK(c.ack(2, 11) == 11);
  CHECK(c.outstanding() == 1);
  CHECK(c.ack(2, 11) == 11); // a duplicate ack changes nothing
  CHECK(c.ack(3, 12) == 12);
  c.check_invariants();
}

TEST_CASE("an ack for an old zxid does not commit later proposals") {
  core c{2};
  c.propose(5);
  c.propose(6);
  c.ack(1, 6);
  CHECK(c.ack(2, 5) == 5);
  CHECK(c.committed() == 5);
  CHECK(c.outstanding() == 1);
}
