#include <nabla/core/progress.hpp>

#include <algorithm>
#include <ostream>

namespace nabla {

ProgressBar::ProgressBar(std::ostream& os, std::size_t total, int width, std::size_t updates)
    : m_os(os), m_total(total), m_every(std::max<std::size_t>(1, total / std::max<std::size_t>(1, updates))),
      m_width(std::max(1, width)) {}

void ProgressBar::draw(std::size_t done, const std::string& prefix, const std::string& suffix) const {
  const std::size_t full =
      m_total == 0 ? std::size_t(m_width) : std::min<std::size_t>(m_width, m_width * std::min(done, m_total) / m_total);
  m_os << '\r' << prefix << '[' << std::string(full, '#') << std::string(std::size_t(m_width) - full, ' ') << "] "
       << done << '/' << m_total << suffix << std::flush;
}

void ProgressBar::update(std::size_t done) const {
  if (!due(done)) return;
  draw(done);
  if (done == m_total) end(true);
}

void ProgressBar::end(bool keep) const { m_os << (keep ? '\n' : '\r') << std::flush; }

}  // namespace nabla
