#include "controlplane/ip_rules_hcl.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/net/ip_prefix.h"

namespace edgerouter::controlplane {
namespace {

enum class Tok { kIdent, kString, kLBrace, kRBrace, kLBracket, kRBracket, kEquals, kComma, kEnd };

struct Token {
  Tok kind;
  std::string text;  // identifier or unescaped string
  int line, column;
};

class Lexer {
 public:
  explicit Lexer(absl::string_view text) : text_(text) {}

  absl::StatusOr<Token> Next() {
    if (absl::Status s = SkipSpaceAndComments(); !s.ok()) return s;
    Token t{Tok::kEnd, "", line_, column_};
    if (pos_ >= text_.size()) return t;
    const char c = text_[pos_];
    switch (c) {
      case '{': t.kind = Tok::kLBrace; Advance(); return t;
      case '}': t.kind = Tok::kRBrace; Advance(); return t;
      case '[': t.kind = Tok::kLBracket; Advance(); return t;
      case ']': t.kind = Tok::kRBracket; Advance(); return t;
      case '=': t.kind = Tok::kEquals; Advance(); return t;
      case ',': t.kind = Tok::kComma; Advance(); return t;
      case '"': return String(t);
      default: break;
    }
    if (absl::ascii_isalpha(c) || c == '_') {
      t.kind = Tok::kIdent;
      while (pos_ < text_.size() && (absl::ascii_isalnum(text_[pos_]) || text_[pos_] == '_' || text_[pos_] == '-')) {
        t.text.push_back(text_[pos_]);
        Advance();
      }
      return t;
    }
    return Error(line_, column_, absl::StrCat("unexpected character '", absl::CHexEscape(absl::string_view(&c, 1)), "'"));
  }

  static absl::Status Error(int line, int column, absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(line, ":", column, ": ", what));
  }

 private:
  void Advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    ++pos_;
  }

  absl::Status SkipSpaceAndComments() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        Advance();
      } else if (c == '#' || (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/')) {
        while (pos_ < text_.size() && text_[pos_] != '\n') Advance();
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '*') {
        const int line = line_, column = column_;
        Advance();
        Advance();
        while (pos_ + 1 < text_.size() && !(text_[pos_] == '*' && text_[pos_ + 1] == '/')) Advance();
        if (pos_ + 1 >= text_.size()) return Error(line, column, "unterminated comment");
        Advance();
        Advance();
      } else {
        break;
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Token> String(Token t) {
    t.kind = Tok::kString;
    Advance();  // the opening quote
    while (true) {
      if (pos_ >= text_.size() || text_[pos_] == '\n') return Error(t.line, t.column, "unterminated string");
      const char c = text_[pos_];
      if (c == '"') {
        Advance();
        return t;
      }
      if (c == '\\') {
        const int line = line_, column = column_;
        Advance();
        if (pos_ >= text_.size()) return Error(t.line, t.column, "unterminated string");
        const char e = text_[pos_];
        if (e == '"' || e == '\\') {
          t.text.push_back(e);
        } else if (e == 'n') {
          t.text.push_back('\n');
        } else if (e == 't') {
          t.text.push_back('\t');
        } else {
          return Error(line, column, absl::StrCat("unknown escape \\", absl::string_view(&e, 1)));
        }
        Advance();
        continue;
      }
      t.text.push_back(c);
      Advance();
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
  int line_ = 1, column_ = 1;
};

class Parser {
 public:
  explicit Parser(absl::string_view text) : lexer_(text) {}

  absl::StatusOr<config::v1::IpRules> Parse() {
    std::vector<config::v1::IpRule> allow_all, allow_specified;
    while (true) {
      absl::StatusOr<Token> t = lexer_.Next();
      if (!t.ok()) return t.status();
      if (t->kind == Tok::kEnd) break;
      if (t->kind != Tok::kIdent) return Lexer::Error(t->line, t->column, "expected allow_all or allow_specified");
      const bool specified = t->text == "allow_specified";
      if (!specified && t->text != "allow_all") {
        return Lexer::Error(t->line, t->column,
                            absl::StrCat("unknown block \"", t->text, "\" (expected allow_all or allow_specified)"));
      }
      absl::StatusOr<config::v1::IpRule> rule = Block(*t, specified);
      if (!rule.ok()) return rule.status();
      (specified ? allow_specified : allow_all).push_back(*std::move(rule));
    }
    if (allow_all.empty() && allow_specified.empty()) return Lexer::Error(1, 1, "empty IP rules file");
    config::v1::IpRules rules;
    for (auto* list : {&allow_all, &allow_specified}) {
      for (config::v1::IpRule& r : *list) *rules.add_rules() = std::move(r);
    }
    return rules;
  }

 private:
  absl::StatusOr<Token> Expect(Tok kind, absl::string_view what) {
    absl::StatusOr<Token> t = lexer_.Next();
    if (!t.ok()) return t.status();
    if (t->kind != kind) return Lexer::Error(t->line, t->column, absl::StrCat("expected ", what));
    return t;
  }

  absl::StatusOr<config::v1::IpRule> Block(const Token& name, bool specified) {
    absl::StatusOr<Token> t = lexer_.Next();
    if (!t.ok()) return t.status();
    if (t->kind == Tok::kEquals) t = lexer_.Next();  // HCL1 also takes `allow_all = { ... }`
    if (!t.ok()) return t.status();
    if (t->kind != Tok::kLBrace) return Lexer::Error(t->line, t->column, "expected {");
    config::v1::IpRule rule;
    bool has_prefix = false, has_apps = false;
    while (true) {
      t = lexer_.Next();
      if (!t.ok()) return t.status();
      if (t->kind == Tok::kComma) continue;
      if (t->kind == Tok::kRBrace) break;
      if (t->kind != Tok::kIdent) return Lexer::Error(t->line, t->column, "expected a key or }");
      const Token key = *t;
      if (absl::StatusOr<Token> eq = Expect(Tok::kEquals, "="); !eq.ok()) return eq.status();
      if (key.text == "prefix" && !has_prefix) {
        absl::StatusOr<Token> value = Expect(Tok::kString, "a quoted CIDR prefix");
        if (!value.ok()) return value.status();
        absl::StatusOr<net::IpPrefix> prefix = net::IpPrefix::Parse(value->text);
        if (!prefix.ok()) {
          return Lexer::Error(value->line, value->column,
                              absl::StrCat("invalid prefix \"", value->text, "\": ", prefix.status().message()));
        }
        rule.set_prefix(value->text);
        has_prefix = true;
      } else if (key.text == "apps" && specified && !has_apps) {
        if (absl::Status s = Apps(&rule); !s.ok()) return s;
        has_apps = true;
      } else {
        const bool duplicate = (key.text == "prefix") || (key.text == "apps" && specified);
        return Lexer::Error(key.line, key.column,
                            absl::StrCat(duplicate ? "duplicate key \"" : "unknown key \"", key.text, "\" in ",
                                         name.text));
      }
    }
    if (!has_prefix) return Lexer::Error(name.line, name.column, absl::StrCat(name.text, ": prefix is required"));
    if (specified && rule.apps().empty()) {
      return Lexer::Error(name.line, name.column, "allow_specified: apps must list at least one app");
    }
    return rule;
  }

  absl::Status Apps(config::v1::IpRule* rule) {
    absl::StatusOr<Token> t = Expect(Tok::kLBracket, "[");
    if (!t.ok()) return t.status();
    while (true) {
      t = lexer_.Next();
      if (!t.ok()) return t.status();
      if (t->kind == Tok::kRBracket) return absl::OkStatus();
      if (t->kind != Tok::kString) return Lexer::Error(t->line, t->column, "expected a quoted app id or ]");
      if (t->text.empty()) return Lexer::Error(t->line, t->column, "empty app id");
      rule->add_apps(t->text);
      t = lexer_.Next();
      if (!t.ok()) return t.status();
      if (t->kind == Tok::kRBracket) return absl::OkStatus();
      if (t->kind != Tok::kComma) return Lexer::Error(t->line, t->column, "expected , or ]");
    }
  }

  Lexer lexer_;
};

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

}  // namespace

absl::StatusOr<config::v1::IpRules> ParseIpRulesHcl(absl::string_view text) { return Parser(text).Parse(); }

std::string FormatIpRulesHcl(const config::v1::IpRules& rules) {
  std::string out;
  for (const config::v1::IpRule& r : rules.rules()) {
    if (r.apps().empty()) {
      absl::StrAppend(&out, "allow_all { prefix = ", Quote(r.prefix()), " }\n");
    } else {
      std::vector<std::string> apps;
      for (const std::string& a : r.apps()) apps.push_back(Quote(a));
      absl::StrAppend(&out, "allow_specified {\n  prefix = ", Quote(r.prefix()), "\n  apps = [",
                      absl::StrJoin(apps, ", "), "]\n}\n");
    }
  }
  return out;
}

}  // namespace edgerouter::controlplane
