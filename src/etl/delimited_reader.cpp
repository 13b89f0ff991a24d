#include "seqrec/etl/delimited_reader.h"

#include <algorithm>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"

namespace seqrec::etl {

std::string row_excerpt(std::string_view text) {
  return text.size() > 200 ? std::string(text.substr(0, 200)) + "..." : std::string(text);
}

std::string delimiter_name(char d) {
  switch (d) {
    case ',': return "comma";
    case ';': return "semicolon";
    case '\t': return "tab";
    case '|': return "pipe";
    default: return std::string("'") + d + "'";
  }
}

DelimitedReader::DelimitedReader(std::string path, char delimiter)
    : path_(std::move(path)), data_(read_text_file(path_)), delimiter_(delimiter) {
  SEQREC_CHECK(next_line(), path_, ": the file is empty; expected a header row and events");
  if (delimiter_ == 0) {
    const char candidates[] = {',', ';', '\t', '|'};
    size_t best = 0;
    delimiter_ = ',';
    for (char c : candidates) {
      size_t n = std::count(line_.begin(), line_.end(), c);
      if (n > best) best = n, delimiter_ = c;
    }
  }
  split(header_);
  for (auto& h : header_) {
    // A UTF-8 byte-order mark would otherwise become part of the first column's name.
    if (h.size() >= 3 && h.compare(0, 3, "\xEF\xBB\xBF") == 0) h.erase(0, 3);
  }
}

int DelimitedReader::column_index(const std::string& name) const {
  for (size_t i = 0; i < header_.size(); ++i)
    if (header_[i] == name) return static_cast<int>(i);
  std::string have;
  for (const auto& h : header_) have += (have.empty() ? "'" : ", '") + h + "'";
  throw InvalidInput(path_ + ":1: no column named '" + name + "' in the header (" + delimiter_name(delimiter_) +
                     "-separated); columns are: " + have);
}

bool DelimitedReader::next_line() {
  while (pos_ < data_.size()) {
    size_t end = data_.find('\n', pos_);
    if (end == std::string::npos) end = data_.size();
    line_ = std::string_view(data_).substr(pos_, end - pos_);
    if (!line_.empty() && line_.back() == '\r') line_.remove_suffix(1);
    pos_ = end + 1;
    ++line_number_;
    if (!line_.empty()) return true;
  }
  return false;
}

bool DelimitedReader::next(std::vector<std::string>& fields) {
  if (!next_line()) return false;
  split(fields);
  return true;
}

void DelimitedReader::split(std::vector<std::string>& fields) const {
  fields.clear();
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line_.size(); ++i) {
    char c = line_[i];
    if (quoted) {
      if (c == '"' && i + 1 < line_.size() && line_[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && field.empty()) {
      quoted = true;
    } else if (c == delimiter_) {
      fields.push_back(std::move(field));
      field.clear();
    } else {
      field += c;
    }
  }
  SEQREC_CHECK(!quoted, path_, ":", line_number_, ": unterminated quoted field in row '", line_.substr(0, 200), "'");
  fields.push_back(std::move(field));
}

}  // namespace seqrec::etl
