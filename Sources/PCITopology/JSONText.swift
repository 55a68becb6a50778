/// A JSON string literal for `text`, with the escapes JSON requires (quote, backslash and
/// control characters). Shared by every hand-written JSON writer (tree, matrix, simulate,
/// scenario files) so they escape alike.
public func jsonStringLiteral(_ text: String) -> String {
  var out = "\""
  out.reserveCapacity(text.utf8.count + 2)
  for scalar in text.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\r": out += "\\r"
    case "\t": out += "\\t"
    case _ where scalar.value < 0x20: out += "\\u" + hex(scalar.value, width: 4)
    default: out.unicodeScalars.append(scalar)
    }
  }
  return out + "\""
}
