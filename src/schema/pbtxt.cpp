#include "seqrec/schema/pbtxt.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"

namespace seqrec::schema {

namespace {

/// One field of a text-format protobuf message: a scalar (`name: value`) or a nested message.
struct Node {
  std::string name;
  std::string value;
  bool message = false;
  std::vector<Node> children;

  const Node* child(const std::string& n) const {
    for (const auto& c : children)
      if (c.name == n) return &c;
    return nullptr;
  }
  std::string text(const std::string& n, const std::string& fallback = "") const {
    const Node* c = child(n);
    return c && !c->message ? c->value : fallback;
  }
};

class Parser {
 public:
  Parser(const std::string& text, std::string origin) : s_(text), origin_(std::move(origin)) {}

  std::vector<Node> parse_all() {
    auto nodes = parse_fields('\0');
    return nodes;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    int line = 1, col = 1;
    for (size_t i = 0; i < pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') ++line, col = 1;
      else ++col;
    }
    throw InvalidInput(origin_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + what);
  }
  void skip() {
    while (pos_ < s_.size()) {
      if (std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      else if (s_[pos_] == '#')
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      else break;
    }
  }
  std::string ident() {
    skip();
    size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' || s_[pos_] == '.' ||
                                s_[pos_] == '-' || s_[pos_] == '+'))
      ++pos_;
    if (start == pos_) fail(std::string("expected a field name or value, found '") + (pos_ < s_.size() ? s_[pos_] : ' ') + "'");
    return s_.substr(start, pos_ - start);
  }
  std::string quoted() {
    const char q = s_[pos_++];
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string");
      char c = s_[pos_++];
      if (c == q) break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated string");
      char e = s_[pos_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'x': {
          int v = 0, k = 0;
          while (k < 2 && pos_ < s_.size() && std::isxdigit(static_cast<unsigned char>(s_[pos_])))
            v = v * 16 + std::stoi(std::string(1, s_[pos_++]), nullptr, 16), ++k;
          out += static_cast<char>(v);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            // Octal escapes (\001, \022, ...) carry the packed Struct bytes NVTabular writes.
            int v = e - '0', k = 1;
            while (k < 3 && pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '7') v = v * 8 + (s_[pos_++] - '0'), ++k;
            out += static_cast<char>(v);
          } else {
            out += e;
          }
      }
    }
    return out;
  }
  std::string value() {
    skip();
    if (pos_ < s_.size() && (s_[pos_] == '"' || s_[pos_] == '\'')) {
      std::string out;
      while (pos_ < s_.size() && (s_[pos_] == '"' || s_[pos_] == '\'')) {
        out += quoted();
        skip();
      }
      return out;
    }
    return ident();
  }
  std::vector<Node> parse_fields(char close) {
    std::vector<Node> nodes;
    while (true) {
      skip();
      if (pos_ >= s_.size()) {
        if (close != '\0') fail(std::string("missing '") + close + "'");
        return nodes;
      }
      if (s_[pos_] == close) {
        ++pos_;
        return nodes;
      }
      Node n;
      n.name = ident();
      skip();
      if (pos_ < s_.size() && s_[pos_] == ':') {
        ++pos_;
        skip();
      }
      if (pos_ < s_.size() && (s_[pos_] == '{' || s_[pos_] == '<')) {
        const char end = s_[pos_] == '{' ? '}' : '>';
        ++pos_;
        n.message = true;
        n.children = parse_fields(end);
      } else if (pos_ < s_.size() && s_[pos_] == '[') {
        ++pos_;
        while (true) {
          skip();
          if (pos_ < s_.size() && s_[pos_] == ']') {
            ++pos_;
            break;
          }
          Node e;
          e.name = n.name;
          e.value = value();
          nodes.push_back(e);
          skip();
          if (pos_ < s_.size() && s_[pos_] == ',') ++pos_;
        }
        skip();
        if (pos_ < s_.size() && (s_[pos_] == ';' || s_[pos_] == ',')) ++pos_;
        continue;
      } else {
        n.value = value();
      }
      skip();
      if (pos_ < s_.size() && (s_[pos_] == ';' || s_[pos_] == ',')) ++pos_;
      nodes.push_back(std::move(n));
    }
  }

  const std::string& s_;
  std::string origin_;
  size_t pos_ = 0;
};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

void add_tag(std::vector<std::string>& tags, const std::string& t) {
  if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
}

int64_t to_int(const std::string& v, const std::string& what, const std::string& origin) {
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  SEQREC_CHECK(end && *end == '\0' && !v.empty(), origin, ": ", what, " '", v, "' is not an integer");
  return x;
}

}  // namespace

std::string to_pbtxt(const Schema& schema) {
  std::string out;
  for (const auto& c : schema.columns) {
    out += "feature {\n  name: \"" + escape(c.name) + "\"\n";
    if (c.is_list) out += "  value_count {\n    min: " + std::to_string(c.min_length) + "\n    max: " + std::to_string(c.max_length) + "\n  }\n";
    const std::string type = c.dtype == "string" ? "BYTES" : c.dtype.rfind("float", 0) == 0 ? "FLOAT" : "INT";
    out += "  type: " + type + "\n";
    if (c.cardinality > 0)
      out += "  int_domain {\n    name: \"" + escape(c.name) + "\"\n    min: 0\n    max: " + std::to_string(c.cardinality - 1) +
             "\n    is_categorical: true\n  }\n";
    std::vector<std::string> tags = c.tags;
    // Merlin names the item and session id columns with one compound tag.
    if (c.has_tag("item") && c.has_tag("id")) add_tag(tags, "item_id");
    if (c.has_tag("session") && c.has_tag("id")) add_tag(tags, "session_id");
    if (c.has_tag("user") && c.has_tag("id")) add_tag(tags, "user_id");
    out += "  annotation {\n";
    for (const auto& t : tags) out += "    tag: \"" + escape(t) + "\"\n";
    out += "  }\n}\n";
  }
  return out;
}

Schema from_pbtxt(const std::string& text, const std::string& origin) {
  Parser parser(text, origin);
  Schema s;
  for (const auto& node : parser.parse_all()) {
    if (node.name != "feature") continue;
    SEQREC_CHECK(node.message, origin, ": 'feature' must be a message { ... }");
    ColumnSchema c;
    c.name = node.text("name");
    SEQREC_CHECK(!c.name.empty(), origin, ": a feature without a name");
    const std::string type = node.text("type", "INT");
    c.dtype = type == "FLOAT" ? "float32" : type == "BYTES" ? "string" : "int64";
    if (const Node* vc = node.child("value_count")) {
      c.is_list = true;
      c.min_length = to_int(vc->text("min", "0"), "value_count.min of '" + c.name + "'", origin);
      c.max_length = to_int(vc->text("max", "0"), "value_count.max of '" + c.name + "'", origin);
    }
    if (const Node* shape = node.child("shape")) {
      int dims = 0;
      for (const auto& d : shape->children) dims += d.name == "dim";
      if (dims >= 2) c.is_list = true;
    }
    bool categorical = false;
    if (const Node* dom = node.child("int_domain")) {
      categorical = dom->text("is_categorical") == "true";
      const std::string max = dom->text("max");
      if (!max.empty()) c.cardinality = to_int(max, "int_domain.max of '" + c.name + "'", origin) + 1;
    }
    if (const Node* ann = node.child("annotation"))
      for (const auto& t : ann->children)
        if (t.name == "tag" && !t.message) {
          if (t.value == "item_id") add_tag(c.tags, "item"), add_tag(c.tags, "id");
          else if (t.value == "session_id") add_tag(c.tags, "session"), add_tag(c.tags, "id");
          else if (t.value == "user_id") add_tag(c.tags, "user"), add_tag(c.tags, "id");
          else add_tag(c.tags, t.value);
        }
    if (c.has_tag("list")) c.is_list = true;
    if (!categorical && !c.has_tag("categorical")) c.cardinality = 0;
    if (categorical) add_tag(c.tags, "categorical");
    s.columns.push_back(std::move(c));
  }
  SEQREC_CHECK(!s.columns.empty(), origin, ": no 'feature { ... }' entries; is this a Merlin schema.pbtxt?");
  return s;
}

void save_pbtxt(const Schema& schema, const std::filesystem::path& path) { write_text_file_atomic(path, to_pbtxt(schema)); }

Schema load_pbtxt(const std::filesystem::path& path) { return from_pbtxt(read_text_file(path), path.string()); }

}  // namespace seqrec::schema
