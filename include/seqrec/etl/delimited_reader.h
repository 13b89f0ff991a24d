#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace seqrec::etl {

/// A delimited text file (CSV, TSV, semicolon, pipe) with a header row, read fully into memory.
/// Fields may be double-quoted ("a,b" and "" escapes), lines may end in CRLF.
class DelimitedReader {
 public:
  /// `delimiter` 0 = detect from the header line (the most frequent of , ; tab |).
  explicit DelimitedReader(std::string path, char delimiter = 0);

  const std::string& path() const { return path_; }
  char delimiter() const { return delimiter_; }
  const std::vector<std::string>& header() const { return header_; }
  /// 0-based index of `name` in the header; throws InvalidInput naming the file and the columns it has.
  int column_index(const std::string& name) const;
  /// Reads the next data row into `fields`; false at end of file. Blank lines are skipped.
  bool next(std::vector<std::string>& fields);
  /// 1-based line number of the row `next` returned last (the header is line 1).
  int64_t line_number() const { return line_number_; }
  /// The raw text of that row, for error messages.
  std::string_view line_text() const { return line_; }

 private:
  bool next_line();
  void split(std::vector<std::string>& fields) const;

  std::string path_;
  std::string data_;
  size_t pos_ = 0;
  char delimiter_;
  std::vector<std::string> header_;
  std::string_view line_;
  int64_t line_number_ = 0;
};

/// Human name of a delimiter for messages: "comma", "tab", ...
std::string delimiter_name(char delimiter);

/// A row (or field) as error messages quote it: at most 200 characters, then "...".
std::string row_excerpt(std::string_view text);
/// How many skip reasons a read keeps for its summary (the count covers them all).
constexpr size_t kMaxSkipReasonsKept = 5;

}  // namespace seqrec::etl
