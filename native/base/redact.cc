#include "base/redact.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>

namespace streamcoder {

namespace {

constexpr const char* kMask = "***";

// Secrets shorter than this are not masked where they appear outside their URL. A 1-3 character
// stream name or token ("cam", "1", "abc") turns up in ordinary log text by accident (codec
// names, numbers, timestamps), and masking every occurrence would garble FFmpeg's log for no
// protection: a key that short is guessed in a moment anyway. Inside a URL every secret is
// masked, whatever its length.
constexpr size_t kMinSecretLength = 4;

// Options whose values are secrets wherever they appear: the RTMP stream name given as an option
// rather than in the URL, SRT's stream id and passphrase, HTTP headers and cookies (which carry
// tokens), SRTP and decryption keys.
const char* const kSecretOptions[] = {
    "rtmp_playpath", "rtmp_conn", "streamid", "passphrase", "headers", "cookies",
    "srtp_in_params", "srtp_out_params", "decryption_key", "encryption_key", "cryptokey",
};

bool IsSchemeChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '.' || c == '-';
}

// Where a URL ends inside a sentence: whitespace, control characters, quotes, angle brackets.
bool EndsUrl(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f || c == '\'' || c == '"' || c == '`' || c == '<' || c == '>';
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return text;
}

bool IsRtmpFamily(const std::string& scheme) {
  return scheme == "rtmp" || scheme == "rtmps" || scheme == "rtmpt" || scheme == "rtmpe" || scheme == "rtmpte" ||
         scheme == "rtmpts";
}

// "a=1&b=&c" -> "a=***&b=&***": every value masked; a parameter without '=' may be a bare token.
std::string MaskQuery(const std::string& query) {
  std::string out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find_first_of("&;", start);
    if (end == std::string::npos) end = query.size();
    std::string param = query.substr(start, end - start);
    size_t eq = param.find('=');
    if (eq == std::string::npos) out += param.empty() ? "" : kMask;
    else out += param.substr(0, eq + 1) + (eq + 1 < param.size() ? kMask : "");
    if (end < query.size()) out += query[end];
    start = end + 1;
  }
  return out;
}

// The parts of one URL: scheme://[userinfo@]host[/path][?query][#fragment].
struct UrlParts {
  std::string scheme;     // lower case
  std::string userinfo;   // without the '@'
  bool hasUserinfo = false;
  std::string host;
  std::string path;       // with its leading '/'
  std::string query;      // without the '?'
  bool hasQuery = false;
  std::string fragment;   // without the '#'
  bool hasFragment = false;
};

UrlParts Split(const std::string& scheme, const std::string& rest) {
  UrlParts parts;
  parts.scheme = Lower(scheme);
  size_t hostEnd = rest.find_first_of("/?#");
  if (hostEnd == std::string::npos) hostEnd = rest.size();
  std::string authority = rest.substr(0, hostEnd);
  // The last '@': a password may hold an unencoded '@' (FFmpeg splits at the last one too).
  size_t at = authority.rfind('@');
  if (at != std::string::npos) {
    parts.hasUserinfo = true;
    parts.userinfo = authority.substr(0, at);
    parts.host = authority.substr(at + 1);
  } else {
    parts.host = authority;
  }
  size_t queryAt = rest.find('?', hostEnd);
  size_t fragmentAt = rest.find('#', hostEnd);
  if (queryAt != std::string::npos && fragmentAt != std::string::npos && fragmentAt < queryAt) queryAt = std::string::npos;
  size_t pathEnd = std::min(queryAt, fragmentAt);
  if (pathEnd == std::string::npos) pathEnd = rest.size();
  parts.path = rest.substr(hostEnd, pathEnd - hostEnd);
  if (queryAt != std::string::npos) {
    parts.hasQuery = true;
    size_t end = fragmentAt == std::string::npos ? rest.size() : fragmentAt;
    parts.query = rest.substr(queryAt + 1, end - queryAt - 1);
  }
  if (fragmentAt != std::string::npos) {
    parts.hasFragment = true;
    parts.fragment = rest.substr(fragmentAt + 1);
  }
  return parts;
}

// For the RTMP family, the path after the application ("/live/key/more" -> "key/more"); the
// application is the first segment. npos when there is nothing after it.
size_t StreamNameStart(const std::string& path) {
  if (path.empty() || path[0] != '/') return std::string::npos;
  size_t slash = path.find('/', 1);
  if (slash == std::string::npos || slash + 1 >= path.size()) return std::string::npos;
  return slash + 1;
}

std::string RedactOne(const std::string& scheme, const std::string& rest) {
  UrlParts parts = Split(scheme, rest);
  std::string out = scheme + "://";
  if (parts.hasUserinfo) out += std::string(kMask) + "@";
  out += parts.host;
  size_t name = IsRtmpFamily(parts.scheme) ? StreamNameStart(parts.path) : std::string::npos;
  out += name == std::string::npos ? parts.path : parts.path.substr(0, name) + kMask;
  if (parts.hasQuery) out += "?" + MaskQuery(parts.query);
  if (parts.hasFragment) out += "#" + std::string(parts.fragment.empty() ? "" : kMask);
  return out;
}

// librtmp's form of options, after the URL and a space each: "rtmp://host/app/key pubUser=bob
// pubPasswd=x token=y live=1". Any of them may carry a credential, so every value is masked.
// Appends them (masked) to `out` from `end`, where the URL ended; returns where they end.
size_t MaskLibrtmpOptions(const std::string& text, size_t end, std::string& out) {
  while (end + 1 < text.size() && text[end] == ' ') {
    size_t key = end + 1;
    size_t eq = key;
    while (eq < text.size() && (std::isalnum(static_cast<unsigned char>(text[eq])) || text[eq] == '_')) ++eq;
    if (eq == key || eq >= text.size() || text[eq] != '=') break;
    size_t value = eq + 1;
    size_t next = value;
    while (next < text.size() && !EndsUrl(text[next])) ++next;
    out += text.substr(end, value - end);
    if (next > value) out += kMask;
    end = next;
  }
  return end;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0) {
      out += char(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string Base64(const std::string& text) {
  static const char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < text.size(); i += 3) {
    uint32_t chunk = uint32_t(uint8_t(text[i])) << 16;
    if (i + 1 < text.size()) chunk |= uint32_t(uint8_t(text[i + 1])) << 8;
    if (i + 2 < text.size()) chunk |= uint32_t(uint8_t(text[i + 2]));
    out += kDigits[(chunk >> 18) & 63];
    out += kDigits[(chunk >> 12) & 63];
    out += i + 1 < text.size() ? kDigits[(chunk >> 6) & 63] : '=';
    out += i + 2 < text.size() ? kDigits[chunk & 63] : '=';
  }
  return out;
}

void AddSecret(std::vector<std::string>& secrets, const std::string& secret) {
  for (const std::string& form : {secret, PercentDecode(secret)}) {
    if (form.size() >= kMinSecretLength && std::find(secrets.begin(), secrets.end(), form) == secrets.end()) {
      secrets.push_back(form);
    }
  }
}

// The registry of the secrets of the URLs open now. Allocated once and never freed: a thread still
// logging or closing a connection while exit() runs static destructors must not find it freed.
struct Secrets {
  std::mutex mutex;
  std::map<std::string, int> counted;  // two writers may share a URL
  std::vector<std::string> ordered;    // the same, longest first, so a secret inside another is masked whole
};

Secrets& TheSecrets() {
  static Secrets* secrets = new Secrets();
  return *secrets;
}

void Reorder(Secrets& registry) {
  registry.ordered.clear();
  for (const auto& [secret, count] : registry.counted) registry.ordered.push_back(secret);
  std::stable_sort(registry.ordered.begin(), registry.ordered.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

}  // namespace

std::string RedactUrl(const std::string& text) {
  std::string out;
  size_t done = 0;  // text[0, done) is in `out`
  size_t search = 0;
  for (;;) {
    size_t sep = text.find("://", search);
    if (sep == std::string::npos) break;
    // The scheme: the letters, digits, '+', '.', '-' before "://", starting with a letter.
    size_t start = sep;
    while (start > done && IsSchemeChar(text[start - 1])) --start;
    while (start < sep && !std::isalpha(static_cast<unsigned char>(text[start]))) ++start;
    if (start == sep) {
      search = sep + 3;
      continue;
    }
    size_t end = sep + 3;
    while (end < text.size() && !EndsUrl(text[end])) ++end;
    // "(... tcp://host:1?x=1)": a closing parenthesis the URL did not open closes the sentence
    // (FFmpeg's detail is quoted that way); at most that one character of a URL is left out.
    if (end > sep + 3 && text[end - 1] == ')' && text.find('(', start) >= end - 1) --end;
    out.append(text, done, start - done);
    const std::string scheme = text.substr(start, sep - start);
    out += RedactOne(scheme, text.substr(sep + 3, end - sep - 3));
    if (IsRtmpFamily(Lower(scheme))) end = MaskLibrtmpOptions(text, end, out);
    done = search = end;
  }
  out.append(text, done, std::string::npos);
  return out;
}

std::vector<std::string> SecretsOf(const std::string& url, const OptionList& options) {
  std::vector<std::string> secrets;
  for (const auto& [key, value] : options) {
    if (std::find_if(std::begin(kSecretOptions), std::end(kSecretOptions),
                     [&](const char* name) { return key == name; }) != std::end(kSecretOptions)) {
      AddSecret(secrets, value);
    }
  }
  size_t sep = url.find("://");
  if (sep == std::string::npos) return secrets;
  // librtmp-style options after a space ("... pubPasswd=x token=y"): each value is a secret.
  size_t space = IsRtmpFamily(Lower(url.substr(0, sep))) ? url.find(' ', sep) : std::string::npos;
  if (space != std::string::npos) {
    for (size_t begin = space + 1; begin < url.size();) {
      size_t stop = url.find(' ', begin);
      if (stop == std::string::npos) stop = url.size();
      std::string option = url.substr(begin, stop - begin);
      size_t eq = option.find('=');
      if (eq != std::string::npos) AddSecret(secrets, option.substr(eq + 1));
      begin = stop + 1;
    }
  }
  UrlParts parts = Split(url.substr(0, sep), url.substr(sep + 3, (space == std::string::npos ? url.size() : space) - sep - 3));
  if (parts.hasUserinfo) {
    AddSecret(secrets, parts.userinfo);
    size_t colon = parts.userinfo.find(':');
    if (colon != std::string::npos) AddSecret(secrets, parts.userinfo.substr(colon + 1));
    // HTTP and RTSP Basic authentication sends the decoded userinfo in base64, and FFmpeg's
    // debug log prints the request headers.
    AddSecret(secrets, Base64(PercentDecode(parts.userinfo)));
  }
  if (IsRtmpFamily(parts.scheme)) {
    size_t name = StreamNameStart(parts.path);
    if (name != std::string::npos) {
      // The whole stream name, and each of its segments ("mp4:folder/key" is logged in parts).
      std::string streamName = parts.path.substr(name);
      AddSecret(secrets, streamName);
      for (size_t begin = 0; begin <= streamName.size();) {
        size_t end = streamName.find('/', begin);
        if (end == std::string::npos) end = streamName.size();
        AddSecret(secrets, streamName.substr(begin, end - begin));
        begin = end + 1;
      }
    }
  }
  // The fragment is read as parameters too: srt's access-control stream id "#!::r=...,m=..." is
  // often written unencoded, so "?streamid=#!::...&passphrase=..." splits at its '#'.
  for (const std::string* params : {&parts.query, &parts.fragment}) {
    if (params->empty()) continue;
    AddSecret(secrets, *params);
    for (size_t begin = 0; begin <= params->size();) {
      size_t end = params->find_first_of("&;", begin);
      if (end == std::string::npos) end = params->size();
      std::string param = params->substr(begin, end - begin);
      size_t eq = param.find('=');
      AddSecret(secrets, eq == std::string::npos ? param : param.substr(eq + 1));
      begin = end + 1;
    }
  }
  return secrets;
}

namespace {

bool OpensPath(char c) { return c == ' ' || c == '\'' || c == '"' || c == '(' || c == '=' || c == '\t'; }
bool EndsPath(char c, char quote) {
  if (c == '?' || c == '#') return true;  // a query's values stay secret
  if (quote != 0) return c == quote;
  return c == ' ' || c == '\t' || c == ')' || c == ',' || c == '\'' || c == '"' || static_cast<unsigned char>(c) < 0x20;
}

// The spans of `text` that are local file paths: from a '/' at a word's start (or after a quote,
// '(' or '='), up to the end of the word (or the closing quote), without a query; at least two
// components ("/srv/cam1.mp4"), so that a bare "/key" still counts as text.
std::vector<std::pair<size_t, size_t>> LocalPaths(const std::string& text) {
  std::vector<std::pair<size_t, size_t>> spans;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '/') continue;
    // A file: URL is a local path too ("file:/srv/a.mp4", "file:///srv/a.mp4").
    size_t start = i;
    if (i >= 7 && text.compare(i - 7, 7, "file://") == 0) start = i - 7;
    else if (i >= 5 && text.compare(i - 5, 5, "file:") == 0) start = i - 5;
    if (start > 0 && !OpensPath(text[start - 1])) continue;
    const char quote = start > 0 && (text[start - 1] == '\'' || text[start - 1] == '"') ? text[start - 1] : 0;
    size_t end = i;
    int slashes = 0;
    while (end < text.size() && !EndsPath(text[end], quote)) {
      if (text[end] == '/' && end + 1 < text.size() && text[end + 1] != '/') ++slashes;
      ++end;
    }
    if (slashes >= 2) spans.emplace_back(i, end);
    i = end;
  }
  return spans;
}

void MaskSecrets(std::string& text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), kMask);
    }
  }
}

// "/live/KEY" -> "/live/***": a component that is a secret, whole.
std::string MaskComponents(const std::string& path, const std::vector<std::string>& secrets) {
  std::string out;
  size_t begin = 0;
  for (;;) {
    size_t end = path.find('/', begin);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(begin, end - begin);
    out += std::find(secrets.begin(), secrets.end(), part) != secrets.end() && !part.empty() ? kMask : part;
    if (end == path.size()) break;
    out += '/';
    begin = end + 1;
  }
  return out;
}

}  // namespace

std::string Redact(const std::string& text) {
  const std::string urlsMasked = RedactUrl(text);
  Secrets& registry = TheSecrets();
  std::lock_guard<std::mutex> lock(registry.mutex);
  if (registry.ordered.empty()) return urlsMasked;
  // The secrets of the open URLs are masked wherever they appear, but inside a path only as
  // whole components: a stream key "cam1" must not make "/srv/media/cam1.mp4" unreadable in an
  // error, while FFmpeg's "path = /live/cam1" still hides it.
  std::string out;
  size_t done = 0;
  for (const auto& [begin, end] : LocalPaths(urlsMasked)) {
    std::string between = urlsMasked.substr(done, begin - done);
    MaskSecrets(between, registry.ordered);
    out += between;
    out += MaskComponents(urlsMasked.substr(begin, end - begin), registry.ordered);
    done = end;
  }
  std::string rest = urlsMasked.substr(done);
  MaskSecrets(rest, registry.ordered);
  return out + rest;
}

SecretScope::SecretScope(const std::string& url, const OptionList& options) : secrets_(SecretsOf(url, options)) {
  if (secrets_.empty()) return;
  Secrets& registry = TheSecrets();
  std::lock_guard<std::mutex> lock(registry.mutex);
  for (const std::string& secret : secrets_) ++registry.counted[secret];
  Reorder(registry);
}

SecretScope::~SecretScope() {
  if (secrets_.empty()) return;
  Secrets& registry = TheSecrets();
  std::lock_guard<std::mutex> lock(registry.mutex);
  for (const std::string& secret : secrets_) {
    auto it = registry.counted.find(secret);
    if (it != registry.counted.end() && --it->second == 0) registry.counted.erase(it);
  }
  Reorder(registry);
}

}  // namespace streamcoder
