// Fused broadcast expressions against scalar host loops: every operator and math function, every layout,
// ranks 1-4 with every extrusion pattern, Julia's shape rule (NumPy's on reversed shapes), one kernel per assign, unaliasing.
#include "test_util.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

using nabla_test::close;
using nabla_test::fill_random;
using nabla_test::host;
using nabla_test::kSizes;

namespace {

using Vec = nabla::Array<double, 1>;

struct UnaryCase {
  const char* name;
  std::function<Vec(const Vec&)> lazy;
  std::function<double(double)> ref;
  double lo, hi;
};

#define NABLA_UNARY_CASE(NAME, LO, HI) \
  UnaryCase { #NAME, [](const Vec& x) { return nabla::eval(nabla::NAME(x)); }, [](double v) { return std::NAME(v); }, LO, HI }

TEST(Broadcast, EveryUnaryFunctionMatchesTheHostLibrary) {
  const UnaryCase cases[] = {
      NABLA_UNARY_CASE(abs, -5, 5),    NABLA_UNARY_CASE(sqrt, 0, 10),   NABLA_UNARY_CASE(cbrt, -10, 10),
      NABLA_UNARY_CASE(exp, -20, 20),  NABLA_UNARY_CASE(expm1, -1, 1),  NABLA_UNARY_CASE(log, 1e-3, 1e3),
      NABLA_UNARY_CASE(log1p, -0.9, 5), NABLA_UNARY_CASE(sin, -10, 10), NABLA_UNARY_CASE(cos, -10, 10),
      NABLA_UNARY_CASE(tan, -1.5, 1.5), NABLA_UNARY_CASE(asin, -1, 1),  NABLA_UNARY_CASE(acos, -1, 1),
      NABLA_UNARY_CASE(atan, -10, 10), NABLA_UNARY_CASE(sinh, -5, 5),   NABLA_UNARY_CASE(cosh, -5, 5),
      NABLA_UNARY_CASE(tanh, -5, 5),   NABLA_UNARY_CASE(erf, -3, 3),    NABLA_UNARY_CASE(erfc, -3, 3),
      NABLA_UNARY_CASE(floor, -5, 5),  NABLA_UNARY_CASE(ceil, -5, 5),
      UnaryCase{"sign", [](const Vec& x) { return nabla::eval(nabla::sign(x)); },
                [](double v) { return double((v > 0) - (v < 0)); }, -2, 2},
      UnaryCase{"negate", [](const Vec& x) { return nabla::eval(-x); }, [](double v) { return -v; }, -2, 2},
  };
  for (const auto& c : cases) {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE(std::string(c.name) + " n=" + std::to_string(n));
      Vec x({n});
      fill_random(x.view(), c.lo, c.hi, 7 + unsigned(n));
      const auto y = host(c.lazy(x));
      const auto hx = host(x);
      ASSERT_EQ(y.extent(0), n);
      for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(close(y(i), c.ref(hx(i)), 1e-13, 1e-15)) << "at " << i;
    }
  }
}

TEST(Broadcast, EveryBinaryOperatorMatchesAHostLoop) {
  using F = std::function<double(double, double)>;
  struct Case {
    const char* name;
    std::function<Vec(const Vec&, const Vec&)> lazy;
    F ref;
  };
  const Case cases[] = {
      {"+", [](const Vec& a, const Vec& b) { return nabla::eval(a + b); }, [](double a, double b) { return a + b; }},
      {"-", [](const Vec& a, const Vec& b) { return nabla::eval(a - b); }, [](double a, double b) { return a - b; }},
      {"*", [](const Vec& a, const Vec& b) { return nabla::eval(a * b); }, [](double a, double b) { return a * b; }},
      {"/", [](const Vec& a, const Vec& b) { return nabla::eval(a / b); }, [](double a, double b) { return a / b; }},
      {"pow", [](const Vec& a, const Vec& b) { return nabla::eval(nabla::pow(a, b)); }, [](double a, double b) { return std::pow(a, b); }},
      {"atan2", [](const Vec& a, const Vec& b) { return nabla::eval(nabla::atan2(a, b)); }, [](double a, double b) { return std::atan2(a, b); }},
      {"hypot", [](const Vec& a, const Vec& b) { return nabla::eval(nabla::hypot(a, b)); }, [](double a, double b) { return std::hypot(a, b); }},
      {"min", [](const Vec& a, const Vec& b) { return nabla::eval(nabla::min(a, b)); }, [](double a, double b) { return std::min(a, b); }},
      {"max", [](const Vec& a, const Vec& b) { return nabla::eval(nabla::max(a, b)); }, [](double a, double b) { return std::max(a, b); }},
      {"<", [](const Vec& a, const Vec& b) { return nabla::eval(nabla::cast<double>(a < b)); }, [](double a, double b) { return double(a < b); }},
      {"<=", [](const Vec& a, const Vec& b) { return nabla::eval(nabla::cast<double>(a <= b)); }, [](double a, double b) { return double(a <= b); }},
      {">", [](const Vec& a, const Vec& b) { return nabla::eval(nabla::cast<double>(a > b)); }, [](double a, double b) { return double(a > b); }},
      {">=", [](const Vec& a, const Vec& b) { return nabla::eval(nabla::cast<double>(a >= b)); }, [](double a, double b) { return double(a >= b); }},
      {"==", [](const Vec& a, const Vec& b) { return nabla::eval(nabla::cast<double>(a == nabla::floor(b))); }, [](double a, double b) { return double(a == std::floor(b)); }},
      {"!=", [](const Vec& a, const Vec& b) { return nabla::eval(nabla::cast<double>(a != nabla::floor(b))); }, [](double a, double b) { return double(a != std::floor(b)); }},
      {"&&", [](const Vec& a, const Vec& b) { return nabla::eval(nabla::cast<double>((a > 1.0) && (b > 1.0))); }, [](double a, double b) { return double(a > 1 && b > 1); }},
      {"||", [](const Vec& a, const Vec& b) { return nabla::eval(nabla::cast<double>((a > 1.5) || !(b > 1.0))); }, [](double a, double b) { return double(a > 1.5 || !(b > 1)); }},
      {"where", [](const Vec& a, const Vec& b) { return nabla::eval(nabla::where(a > b, a * 2.0, b)); }, [](double a, double b) { return a > b ? 2 * a : b; }},
      {"clamp", [](const Vec& a, const Vec& b) { return nabla::eval(nabla::clamp(a, 0.5, b)); }, [](double a, double b) { return a < 0.5 ? 0.5 : (b < a ? b : a); }},
  };
  for (const auto& c : cases) {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE(std::string(c.name) + " n=" + std::to_string(n));
      Vec a({n}), b({n});
      fill_random(a.view(), 0.1, 2.0, 1 + unsigned(n));
      fill_random(b.view(), 0.1, 2.0, 2 + unsigned(n));
      const auto y = host(c.lazy(a, b));
      const auto ha = host(a), hb = host(b);
      for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(close(y(i), c.ref(ha(i), hb(i)), 1e-14)) << "at " << i;
    }
  }
}

// A fused 8-op expression over four operands in three layouts (column-major, row-major, strided subview).
TEST(Broadcast, MixesLayoutsAndStridedSubviews) {
  const std::size_t m = 37, n = 23;
  Kokkos::View<double**, Kokkos::LayoutLeft> a("a", m, n);
  Kokkos::View<double**, Kokkos::LayoutRight> b("b", m, n);
  Kokkos::View<double**, Kokkos::LayoutLeft> big("big", 2 * m, n + 3);
  auto c = Kokkos::subview(big, Kokkos::make_pair(std::size_t(5), 5 + m), Kokkos::make_pair(std::size_t(2), 2 + n));
  fill_random(a, -1, 1, 1);
  fill_random(b, -1, 1, 2);
  fill_random(big, -1, 1, 3);
  Kokkos::View<double**, Kokkos::LayoutRight> out("out", m, n);
  using nabla::wrap;
  nabla::assign(out, wrap(a) * wrap(b) + wrap(c) * 2.0 - wrap(a) / (wrap(c) + 3.0) + nabla::sin(wrap(b)));
  const auto ha = host(a);
  const auto hb = host(b);
  const auto hbig = host(big);
  const auto ho = host(out);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < m; ++i) {
      const double cv = hbig(5 + i, 2 + j);
      ASSERT_TRUE(close(ho(i, j), ha(i, j) * hb(i, j) + cv * 2.0 - ha(i, j) / (cv + 3.0) + std::sin(hb(i, j)), 1e-14));
    }
}

template <int R>
auto drop_trailing(const nabla::Array<double, R>& b) {
  if constexpr (R == 2) return nabla::slice(b, Kokkos::ALL, 0);
  else if constexpr (R == 3) return nabla::slice(b, Kokkos::ALL, Kokkos::ALL, 0);
  else return nabla::slice(b, Kokkos::ALL, Kokkos::ALL, Kokkos::ALL, 0);
}

// Ranks 1-4: every pattern of size-1 dimensions on either operand, and a lower-rank right operand.
template <int R>
void check_extrusion(const std::size_t (&full)[4] = {3, 4, 5, 2}) {
  for (int ma = 0; ma < (1 << R); ++ma) {
    for (int mb = 0; mb < (1 << R); ++mb) {
      for (int drop = 0; drop < 2; ++drop) {  // drop=1: b lacks the trailing dimension (rank R-1)
        if (drop && (R == 1 || (mb >> (R - 1) & 1))) continue;
        nabla::Shape<R> sa{}, sb{};
        for (int d = 0; d < R; ++d) {
          sa[d] = (ma >> d & 1) ? 1 : full[d];
          sb[d] = (mb >> d & 1) ? 1 : full[d];
        }
        nabla::Array<double, R> a(sa);
        fill_random(a.view(), -1, 1, unsigned(ma * 31 + mb));
        nabla::Array<double, R> b(sb);
        fill_random(b.view(), -1, 1, unsigned(mb * 17 + ma + 5));
        nabla::Array<double, R> out;
        if constexpr (R > 1) {
          out = drop ? nabla::eval(a * 2.0 - drop_trailing(b)) : nabla::eval(a * 2.0 - b);  // drop: rank R-1
        } else {
          out = nabla::eval(a * 2.0 - b);
        }
        // Expected shape: Julia's rule, and values by a host loop with explicit column-major offsets.
        const auto ha = host(a), hb = host(b), ho = host(out);
        std::size_t osz = 1;
        for (int d = 0; d < R; ++d) {
          const std::size_t want = std::max(sa[d], drop && d == R - 1 ? std::size_t(1) : sb[d]);
          ASSERT_EQ(ho.extent(d), want) << "rank " << R << " masks " << ma << "," << mb;
          osz *= want;
        }
        for (std::size_t lin = 0; lin < osz; ++lin) {
          std::size_t rem = lin, oa = 0, ob = 0, stra = 1, strb = 1, oo = 0, stro = 1;
          for (int d = 0; d < R; ++d) {
            const std::size_t i = rem % ho.extent(d);
            rem /= ho.extent(d);
            oa += (sa[d] == 1 ? 0 : i) * stra;
            ob += (sb[d] == 1 || (drop && d == R - 1) ? 0 : i) * strb;
            oo += i * stro;
            stra *= sa[d];
            strb *= sb[d];
            stro *= ho.extent(d);
          }
          ASSERT_EQ(ho.data()[oo], ha.data()[oa] * 2.0 - hb.data()[ob]) << "rank " << R << " at " << lin;
        }
      }
    }
  }
}

TEST(Broadcast, Rank1EveryExtrusionPattern) { check_extrusion<1>(); }
// Long enough rows (>= 8) for the host's row-wise kernel, into Left and Right destinations below.
TEST(Broadcast, Rank2And3ExtrusionPatternsWithLongRows) {
  check_extrusion<2>({17, 9, 1, 1});
  check_extrusion<3>({12, 9, 10, 1});
}
TEST(Broadcast, Rank2EveryExtrusionPattern) { check_extrusion<2>(); }
TEST(Broadcast, Rank3EveryExtrusionPattern) { check_extrusion<3>(); }
TEST(Broadcast, Rank4EveryExtrusionPattern) { check_extrusion<4>(); }

template <int RA, int RB>
void check_random_shapes(unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> ext(1, 3);
  for (int trial = 0; trial < 40; ++trial) {
    nabla::Shape<RA> sa{};
    nabla::Shape<RB> sb{};
    std::vector<std::size_t> va(RA), vb(RB), want;
    for (int d = 0; d < RA; ++d) va[d] = sa[d] = ext(gen);
    for (int d = 0; d < RB; ++d) vb[d] = sb[d] = ext(gen);
    nabla::Array<double, RA> a(sa);
    nabla::Array<double, RB> b(sb);
    // Julia's rule on column-major shapes is NumPy's on the reversed shapes (the same memory read row-major).
    std::reverse(va.begin(), va.end());
    std::reverse(vb.begin(), vb.end());
    if (nabla_test::numpy_broadcast(va, vb, want)) {
      std::reverse(want.begin(), want.end());
      auto c = nabla::eval(a + b);
      for (std::size_t d = 0; d < want.size(); ++d) ASSERT_EQ(c.extent(int(d)), want[d]);
    } else {
      EXPECT_THROW(nabla::eval(a + b), nabla::ShapeError)
          << nabla::to_string(sa) << " vs " << nabla::to_string(sb);
    }
  }
}

// Matrix + column and + row vector into a strided subview (Left) and a LayoutRight view: the row-wise path.
TEST(Broadcast, VectorBroadcastIntoStridedAndRowMajorDestinations) {
  const std::size_t m = 40, n = 19;
  nabla::Array<double, 2> a({m, n}), col({m, 1}), row({1, n});
  fill_random(a.view(), -1, 1, 7);
  fill_random(col.view(), -1, 1, 8);
  fill_random(row.view(), -1, 1, 9);
  Kokkos::View<double**, Kokkos::LayoutLeft> big("big", m + 7, n + 4);
  auto sub = Kokkos::subview(big, Kokkos::make_pair(std::size_t(3), 3 + m), Kokkos::make_pair(std::size_t(1), 1 + n));
  Kokkos::View<double**, Kokkos::LayoutRight> right("right", m, n);
  nabla::assign(sub, a * col - row);
  nabla::assign(right, a + row * col);
  const auto ha = host(a), hc = host(col), hr = host(row);
  const auto hb = host(big);
  const auto hR = host(right);
  for (std::size_t i = 0; i < m + 7; ++i)
    for (std::size_t j = 0; j < n + 4; ++j) {
      const bool inside = i >= 3 && i < 3 + m && j >= 1 && j < 1 + n;
      const double want = inside ? ha(i - 3, j - 1) * hc(i - 3, 0) - hr(0, j - 1) : 0.0;
      ASSERT_EQ(hb(i, j), want) << i << "," << j;  // and nothing outside the subview is touched
    }
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) ASSERT_EQ(hR(i, j), ha(i, j) + hr(0, j) * hc(i, 0)) << i << "," << j;
}

// Rows longer than the host row path's staging block (128 elements): two full blocks and a tail, with an
// operand of stride 0 along the row, one of another stride (row-major read into column-major rows and the
// reverse), a random stream (read element by element), into a strided and a row-major destination.
TEST(Broadcast, LongRowsThroughStagingBlocks) {
  const std::size_t m = 300, n = 5;
  nabla::Array<double, 2> a({m, n}), row({1, n});
  Kokkos::View<double**, Kokkos::LayoutRight> r("r", m, n);
  fill_random(a.view(), -1, 1, 21);
  fill_random(row.view(), -1, 1, 22);
  fill_random(r, -1, 1, 24);
  const auto key = nabla::random::key(25);
  const auto noise = nabla::eval(nabla::random::uniform_expr<double>(key, nabla::Shape<2>{m, n}));  // flat path
  Kokkos::View<double**, Kokkos::LayoutLeft> big("big", m + 2, n);
  auto sub = Kokkos::subview(big, Kokkos::make_pair(std::size_t(1), 1 + m), Kokkos::ALL);
  nabla::assign(sub, a * row + nabla::wrap(r) - nabla::random::uniform_expr<double>(key, nabla::Shape<2>{m, n}));
  // Row-major destination: rows run along dimension 1 (length m), where the reshaped row has stride 0.
  nabla::Array<double, 2> c({n, m});  // column-major: stride n along the row
  fill_random(c.view(), -1, 1, 26);
  Kokkos::View<double**, Kokkos::LayoutRight> t("t", n, m);
  nabla::assign(t, nabla::reshape(row, nabla::Shape<2>{n, 1}) * 3.0 - c);
  const auto ha = host(a), hrow = host(row), hn = host(noise), hc = host(c);
  const auto hr = host(r);
  const auto hb = host(big);
  const auto ht = host(t);
  for (std::size_t j = 0; j < n; ++j) {
    ASSERT_EQ(hb(0, j), 0.0);
    ASSERT_EQ(hb(m + 1, j), 0.0);
    for (std::size_t i = 0; i < m; ++i) {
      ASSERT_EQ(hb(i + 1, j), ha(i, j) * hrow(0, j) + hr(i, j) - hn(i, j)) << i << "," << j;
      ASSERT_EQ(ht(j, i), hrow(0, j) * 3.0 - hc(j, i)) << j << "," << i;
    }
  }
}

TEST(Broadcast, ShapesFollowJuliasRule) {
  check_random_shapes<1, 2>(1);
  check_random_shapes<2, 2>(2);
  check_random_shapes<3, 1>(3);
  check_random_shapes<2, 3>(4);
  check_random_shapes<3, 3>(5);
  check_random_shapes<4, 2>(6);
}

TEST(Broadcast, MismatchNamesBothShapesAndTheDimension) {
  nabla::Array<double, 2> a({3, 4});
  nabla::Array<double, 1> b({5});
  try {
    nabla::eval(a * b);
    FAIL() << "expected a ShapeError";
  } catch (const nabla::ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("(3, 4)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(5,)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("dimension 0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("`*`"), std::string::npos) << msg;
  }
  nabla::Array<double, 2> dst({3, 5});
  EXPECT_THROW(nabla::assign(dst, a + 1.0), nabla::ShapeError);
}

// A vector is a column: it meets a matrix's first dimension and extrudes along the second, as in Julia.
TEST(Broadcast, MatrixPlusVectorAddsTheVectorToEveryColumn) {
  nabla::Array<double, 2> m({3, 5});
  nabla::Array<double, 1> v({3});
  fill_random(m.view(), -1, 1, 11);
  fill_random(v.view(), -1, 1, 12);
  auto r = host(nabla::eval(m + v));
  const auto hm = host(m);
  const auto hv = host(v);
  ASSERT_EQ(r.extent(0), 3u);
  ASSERT_EQ(r.extent(1), 5u);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) EXPECT_EQ(r(i, j), hm(i, j) + hv(i));
  // Square: NumPy's rule would add v along the rows (row 0 = 1 2 3); Julia's gives row 0 = 1 1 1.
  nabla::Array<double, 2> s({3, 3});
  auto b = nabla::eval(1.0 + nabla::iota(3));
  auto hs = host(nabla::eval(s + b));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_EQ(hs(i, j), double(i + 1)) << i << "," << j;
  // A row is (1, n): the vector's transpose by shape, no copy.
  nabla::Array<double, 1> w({5});
  fill_random(w.view(), -1, 1, 13);
  auto hw = host(w);
  auto rr = host(nabla::eval(m * nabla::reshape(w, nabla::Shape<2>{1, 5})));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) EXPECT_EQ(rr(i, j), hm(i, j) * hw(j));
  EXPECT_THROW(nabla::eval(m + w), nabla::ShapeError);
}

TEST(Broadcast, EachAssignAndEvalIsOneKernel) {
  const std::size_t n = 1000;
  Vec a({n}), b({n}), c({n}), out({n});
  nabla::Array<double, 2> m({n, 10}), mo({n, 10});
  {
    nabla::tools::KernelCounter k;
    nabla::assign(out, a * b + c * 2.0 - nabla::exp(a) / (b + 1.0) * c);
    EXPECT_EQ(k.count(), 1u);
    EXPECT_EQ(k.labels().at(0), "nabla::core::assign");
  }
  {
    auto x = nabla::eval(a * b);  // allocation without fill + one kernel
    nabla::tools::KernelCounter k;
    auto y = nabla::eval(x + a * b - c);
    EXPECT_EQ(k.count(), 1u);
  }
  {
    nabla::tools::KernelCounter k;
    nabla::assign(mo, m * a + 1.0);  // extrusion: strided path, still one kernel
    ASSERT_EQ(k.count(), 1u);
    EXPECT_EQ(k.labels().at(0).rfind("nabla::core::assign", 0), 0u);
  }
  {
    nabla::tools::KernelCounter k;
    nabla::assign(a, 2.0 * a + 1.0);  // same-index aliasing is free
    EXPECT_EQ(k.count(), 1u);
  }
}

TEST(Broadcast, UnaliasesADestinationReadUnderAnotherIndexing) {
  const std::size_t n = 17;
  nabla::Array<double, 2> m({n, n});
  fill_random(m.view(), -1, 1, 21);
  const auto before = host(nabla::copy(m));
  // The transpose of m, as a strided view of m's own memory.
  Kokkos::View<const double**, Kokkos::LayoutStride> mt(m.data(), Kokkos::LayoutStride(n, n, n, 1));
  nabla::assign(m, nabla::wrap(mt) + 1.0);
  auto after = host(m);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) ASSERT_EQ(after(i, j), before(j, i) + 1.0);

  // An extruded row of the destination itself.
  nabla::Array<double, 2> r({4, 6});
  fill_random(r.view(), -1, 1, 22);
  const auto rb = host(nabla::copy(r));
  auto row0 = nabla::slice(r, Kokkos::make_pair(0, 1), Kokkos::ALL);  // shape (1, 6)
  nabla::assign(r, r - row0);
  auto ra = host(r);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 6; ++j) ASSERT_EQ(ra(i, j), rb(i, j) - rb(0, j));
}

TEST(Broadcast, ScalarsAreWeak) {
  nabla::Array<float, 1> f({4});
  nabla::Array<int, 1> i({4});
  nabla::Array<double, 1> d({4});
  static_assert(std::is_same<decltype(nabla::eval(2.0 * f))::value_type, float>::value, "2.0 * float stays float");
  static_assert(std::is_same<decltype(nabla::eval(f + 1))::value_type, float>::value, "float + 1 stays float");
  static_assert(std::is_same<decltype(nabla::eval(i * 2))::value_type, int>::value, "int * 2 stays int");
  static_assert(std::is_same<decltype(nabla::eval(i * 2.5))::value_type, double>::value, "int * 2.5 is floating");
  static_assert(std::is_same<decltype(nabla::eval(f + d))::value_type, double>::value, "arrays promote by C++");
  static_assert(std::is_same<decltype(nabla::eval(i < 2))::value_type, bool>::value, "comparisons give bool");
  nabla::assign(i, 3);
  auto r = host(nabla::eval(i * 2.5));
  EXPECT_EQ(r(0), 7.5);
}

// A user element type with only arithmetic operators.
struct V2 {
  double x = 0, y = 0;
  KOKKOS_INLINE_FUNCTION V2() = default;
  KOKKOS_INLINE_FUNCTION V2(double a, double b) : x(a), y(b) {}
  KOKKOS_INLINE_FUNCTION friend V2 operator+(const V2& a, const V2& b) { return {a.x + b.x, a.y + b.y}; }
  KOKKOS_INLINE_FUNCTION friend V2 operator*(double s, const V2& a) { return {s * a.x, s * a.y}; }
};

struct Branchy {
  KOKKOS_INLINE_FUNCTION double operator()(double s, double t) const { return s > t ? s * t : s - t; }
};

struct MakeV2 {
  KOKKOS_INLINE_FUNCTION V2 operator()(double a, double b) const { return {a, b}; }
};

TEST(Broadcast, UserElementTypesAndFunctors) {
  const std::size_t n = 13;
  Vec a({n}), b({n});
  fill_random(a.view(), -1, 1, 31);
  fill_random(b.view(), -1, 1, 32);
  auto v = nabla::eval(nabla::map(MakeV2{}, a, b));
  auto w = host(nabla::eval(3.0 * v + v));
  const auto ha = host(a), hb = host(b);
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_EQ(w(i).x, 4 * ha(i));
    EXPECT_EQ(w(i).y, 4 * hb(i));
  }
  auto p = host(nabla::eval(nabla::map(Branchy{}, a, b)));
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(p(i), ha(i) > hb(i) ? ha(i) * hb(i) : ha(i) - hb(i));
}

TEST(Broadcast, IntegerAndBoolElements) {
  auto r = nabla::arange<int>(0, 10);
  auto even = host(nabla::eval(r / 2 * 2 == r));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(bool(even(i)), i % 2 == 0);
  auto casted = host(nabla::eval(nabla::cast<int>(nabla::cast<double>(r) * 1.5)));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(casted(i), int(i * 1.5));
}

TEST(Broadcast, AssignBroadcastsIntoAHigherRankDestination) {
  nabla::Array<double, 3> dst({2, 3, 4});
  Vec v({2});
  fill_random(v.view(), -1, 1, 41);
  nabla::assign(dst, v * 2.0);
  const auto hd = host(dst);
  const auto hv = host(v);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(hd(i, j, k), hv(i) * 2.0);
  EXPECT_THROW(nabla::assign(dst, Vec({4}) * 2.0), nabla::ShapeError);
  nabla::assign(dst, 5.0);
  EXPECT_EQ(nabla::sum(dst), 5.0 * 24);
}

}  // namespace
