//! The filter tokenizer: words (attribute paths, operators, keywords),
//! JSON string and number literals, brackets; each token with its position
//! for error messages.

use serde_json::Value;

use crate::scim::ScimError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Word(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
    LBrack,
    RBrack,
    End,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    /// 1-based character position, for error messages.
    pub(super) pos: usize,
}

pub(super) fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("\"{w}\""),
        Tok::Str(s) => format!("string {}", Value::String(s.clone())),
        Tok::Num(n) => format!("number {n}"),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::LBrack => "\"[\"".into(),
        Tok::RBrack => "\"]\"".into(),
        Tok::End => "end of filter".into(),
    }
}

pub(super) fn err_at(pos: usize, msg: impl std::fmt::Display) -> ScimError {
    ScimError::invalid_filter(format!("invalid filter at position {pos}: {msg}"))
}

pub(super) fn tokenize(input: &str) -> Result<Vec<Token>, ScimError> {
    let chars: Vec<(usize, char)> = input.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (byte, ch) = chars[i];
        let pos = i + 1;
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        let simple = match ch {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBrack),
            ']' => Some(Tok::RBrack),
            _ => None,
        };
        if let Some(tok) = simple {
            out.push(Token { tok, pos });
            i += 1;
            continue;
        }
        if ch == '"' {
            // Find the closing quote, skipping escapes; JSON decodes the rest.
            let mut j = i + 1;
            let mut escaped = false;
            while j < chars.len() {
                let c = chars[j].1;
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    break;
                }
                j += 1;
            }
            if j >= chars.len() {
                return Err(err_at(pos, "unterminated string"));
            }
            let end = chars[j].0 + 1;
            let s: String = serde_json::from_str(&input[byte..end])
                .map_err(|e| err_at(pos, format!("invalid string literal ({e})")))?;
            out.push(Token {
                tok: Tok::Str(s),
                pos,
            });
            i = j + 1;
            continue;
        }
        if ch == '-' || ch.is_ascii_digit() {
            let mut j = i + 1;
            while j < chars.len() && matches!(chars[j].1, '0'..='9' | '.' | 'e' | 'E' | '+' | '-') {
                j += 1;
            }
            let end = chars.get(j).map_or(input.len(), |c| c.0);
            let text = &input[byte..end];
            let n: f64 = serde_json::from_str(text)
                .map_err(|_| err_at(pos, format!("invalid number \"{text}\"")))?;
            out.push(Token {
                tok: Tok::Num(n),
                pos,
            });
            i = j;
            continue;
        }
        // A word may start with `.` only so that `emails[…].value` gets a precise error.
        let dot_word = ch == '.' && chars.get(i + 1).is_some_and(|c| c.1.is_ascii_alphabetic());
        if ch.is_ascii_alphabetic() || ch == '$' || dot_word {
            let mut j = i + 1;
            while j < chars.len()
                && (chars[j].1.is_ascii_alphanumeric()
                    || matches!(chars[j].1, '_' | '-' | '.' | ':' | '$'))
            {
                j += 1;
            }
            let end = chars.get(j).map_or(input.len(), |c| c.0);
            out.push(Token {
                tok: Tok::Word(input[byte..end].to_owned()),
                pos,
            });
            i = j;
            continue;
        }
        return Err(err_at(pos, format!("unexpected character {ch:?}")));
    }
    out.push(Token {
        tok: Tok::End,
        pos: chars.len() + 1,
    });
    Ok(out)
}
