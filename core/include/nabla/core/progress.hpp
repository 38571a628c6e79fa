/// \file progress.hpp
/// \brief The progress bar of long runs (a Trainer's epochs, a sampler's steps): one line redrawn in place.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>

namespace nabla {

/// \brief "<prefix>[#####     ] done/total<suffix>", redrawn after a carriage return.
///
/// Redraws at most `updates` times over a run, plus at the end, so a terminal or a log file sees a bounded
/// number of lines whatever the number of steps. Callers build a costly suffix only when due().
class ProgressBar {
 public:
  /// \param os [in] where to draw (kept by reference); \param total [in] steps in the run;
  /// \param width [in] characters between the brackets; \param updates [in] the most redraws before the end
  ProgressBar(std::ostream& os, std::size_t total, int width = 40, std::size_t updates = 100);
  /// Whether step `done` (1-based) is one to draw: every total/updates-th step, and the last.
  bool due(std::size_t done) const { return done == m_total || done % m_every == 0; }
  /// Draws the bar at `done` steps of the total.
  void draw(std::size_t done, const std::string& prefix = "", const std::string& suffix = "") const;
  /// Steps `done` on: draws when due() and, at the last step, ends the line (keeping the bar).
  void update(std::size_t done) const;
  /// Ends the line: a newline that keeps the bar, or (keep = false) a carriage return so that the next line
  /// overwrites it.
  void end(bool keep) const;

 private:
  std::ostream& m_os;
  std::size_t m_total, m_every;
  int m_width;
};

}  // namespace nabla
