//! How the bridge tells people apart by name: the one place that decides
//! when two userNames or two emails are the same person, and which
//! characters an identifier may not hold.
//!
//! - Stored and sent to Freshservice in Unicode NFC, so `josé` typed with a
//!   combining accent (NFD) and with a precomposed `é` is one string.
//! - Compared through [`fold`]: NFKC, then lower case. Compatibility forms
//!   (fullwidth `ｉvan`, ligatures, superscripts) fold onto their plain
//!   letters, so a look-alike is the same key and gets a uniqueness error
//!   instead of a second requester.
//! - Refused by [`check`]: control characters (`\u{0}` would reach
//!   Freshservice as part of an email), invisible format characters
//!   (zero-width space and joiners, bidi overrides, soft hyphen) that make
//!   two different keys print the same, and a word that mixes Latin with
//!   Cyrillic or Greek letters (`іvan` with a Cyrillic `і`), which no real
//!   address does and every homograph attack does (UTS #39's
//!   "single script" rule for identifiers).

use std::borrow::Cow;

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// `s` in NFC (borrowed when it already is, which ASCII always is).
pub fn nfc(s: &str) -> Cow<'_, str> {
    if s.is_ascii() || is_nfc_quick(s.chars()) == IsNormalized::Yes {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.nfc().collect())
    }
}

/// The comparison key of a userName or email: NFKC, lower-cased.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.nfkc().collect::<String>().to_lowercase()
}

/// Why an identifier was refused (the caller names the attribute).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("contains the control character U+{0:04X}")]
    Control(u32),
    #[error("contains the invisible character U+{0:04X}, which makes look-alike names")]
    Invisible(u32),
    #[error("mixes Latin and {script} letters in \"{word}\" (a look-alike of another name)")]
    MixedScript { script: &'static str, word: String },
}

/// Checks one userName or email value (see the module docs).
pub fn check(s: &str) -> Result<(), Refused> {
    if s.is_ascii() {
        return match s.chars().find(char::is_ascii_control) {
            Some(c) => Err(Refused::Control(c as u32)),
            None => Ok(()),
        };
    }
    for c in s.chars() {
        if c.is_control() {
            return Err(Refused::Control(c as u32));
        }
        if is_invisible(c) {
            return Err(Refused::Invisible(c as u32));
        }
    }
    let folded: String = s.nfkc().collect();
    for word in folded.split(|c: char| !c.is_alphabetic()) {
        let latin = word.chars().any(|c| script(c) == Some(Script::Latin));
        let other = word
            .chars()
            .filter_map(script)
            .find(|s| *s != Script::Latin);
        if let (true, Some(other)) = (latin, other) {
            return Err(Refused::MixedScript {
                script: other.name(),
                word: word.to_owned(),
            });
        }
    }
    Ok(())
}

/// Format characters (Unicode category Cf) that render as nothing.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Cyrillic,
    Greek,
}

impl Script {
    fn name(self) -> &'static str {
        match self {
            Script::Latin => "Latin",
            Script::Cyrillic => "Cyrillic",
            Script::Greek => "Greek",
        }
    }
}

/// The scripts whose letters pass for Latin ones; other scripts (CJK,
/// Arabic…) cannot be mistaken for Latin and are not checked.
fn script(c: char) -> Option<Script> {
    match c {
        'A'..='Z' | 'a'..='z' | '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' => {
            Some(Script::Latin)
        }
        '\u{0400}'..='\u{052F}' | '\u{1C80}'..='\u{1C8F}' | '\u{A640}'..='\u{A69F}' => {
            Some(Script::Cyrillic)
        }
        '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}' => Some(Script::Greek),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfd_and_nfc_are_one_string() {
        let nfd = "jose\u{0301}@acme.com";
        assert_eq!(nfc(nfd), "jos\u{00E9}@acme.com");
        assert_eq!(fold(nfd), fold("JOS\u{00C9}@ACME.COM"));
        assert!(matches!(nfc("plain@acme.com"), Cow::Borrowed(_)));
    }

    #[test]
    fn compatibility_forms_fold_onto_plain_letters() {
        assert_eq!(fold("\u{FF49}van@acme.com"), "ivan@acme.com");
        assert_eq!(fold("Ivan@Acme.com"), "ivan@acme.com");
    }

    #[test]
    fn invisible_and_control_characters_are_refused() {
        assert_eq!(
            check("i\u{200B}van@acme.com"),
            Err(Refused::Invisible(0x200B))
        );
        assert_eq!(check("ivan\u{0}@acme.com"), Err(Refused::Control(0)));
        assert_eq!(check("ivan\u{7F}@acme.com"), Err(Refused::Control(0x7F)));
        assert_eq!(check("a\u{202E}moc.x@y"), Err(Refused::Invisible(0x202E)));
    }

    #[test]
    fn mixed_scripts_in_one_word_are_refused_single_scripts_pass() {
        let e = check("\u{0456}van@acme.com").unwrap_err();
        assert!(
            matches!(
                e,
                Refused::MixedScript {
                    script: "Cyrillic",
                    ..
                }
            ),
            "{e}"
        );
        assert!(check("\u{0438}\u{0432}\u{0430}\u{043D}@\u{043F}\u{0440}\u{0438}\u{043C}\u{0435}\u{0440}.\u{0440}\u{0444}").is_ok());
        assert!(check("ivan.\u{0438}\u{0432}\u{0430}\u{043D}@acme.com").is_ok());
        assert!(check("Zo\u{00EB}.M\u{00FC}ller@acme.de").is_ok());
        assert!(check("\u{5F20}\u{4F1F}@acme.cn").is_ok());
        assert!(check("\u{03B1}lpha@acme.com").is_err());
    }
}
