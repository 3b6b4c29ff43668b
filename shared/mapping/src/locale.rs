//! Okta `locale` (`en_US`, `pt-BR`, …) → one of the account's `language`
//! codes (Freshservice's own codes, `docs/architecture.md` §6), by the steps
//! listed on [`locale_to_language`].

/// The account's language code for a locale, spelled as the account spells
/// it, or `None` when nothing fits (the caller leaves `language` out).
///
/// Steps: `_` → `-`; an exact case-insensitive match; the special cases
/// (Spanish variants, Portuguese, Chinese scripts, Norwegian, languages whose
/// only code carries a region, `iw` → `he`); the base language; else none.
pub fn locale_to_language(locale: &str, choices: &[String]) -> Option<String> {
    let tag = locale.trim().replace('_', "-");
    if tag.is_empty() {
        return None;
    }
    if let Some(hit) = find(&tag, choices) {
        return Some(hit);
    }
    let lower = tag.to_ascii_lowercase();
    let mut subtags = lower.split('-');
    let base = subtags.next().unwrap_or_default();
    let rest: Vec<&str> = subtags.collect();
    if let Some(hit) = special_cases(base, &rest)
        .iter()
        .find_map(|c| find(c, choices))
    {
        return Some(hit);
    }
    find(base, choices)
}

/// Candidate codes, best first, for tags the plain rules get wrong.
fn special_cases(base: &str, rest: &[&str]) -> Vec<&'static str> {
    let first = rest.first().copied();
    match base {
        "es" => match first {
            None | Some("es") => vec!["es"],
            // es-MX, es-AR, es-419, …: Latin American Spanish.
            Some(_) => vec!["es-LA"],
        },
        "pt" => match first {
            Some("br") => vec!["pt-BR"],
            None | Some("pt") => vec!["pt-PT", "pt"],
            Some(_) => vec![],
        },
        "zh" => {
            // Traditional script or a region that writes it.
            let traditional = rest
                .iter()
                .any(|s| matches!(*s, "hant" | "tw" | "hk" | "mo"));
            if traditional {
                vec!["zh-TW"]
            } else {
                vec!["zh-CN"]
            }
        }
        "nb" | "no" | "nn" => vec!["nb-NO"],
        "sv" => vec!["sv-SE"],
        "ru" => vec!["ru-RU"],
        "ja" => vec!["ja-JP"],
        "cy" => vec!["cy-GB"],
        // Java and older systems still emit the withdrawn code for Hebrew.
        "iw" => vec!["he"],
        _ => vec![],
    }
}

fn find(code: &str, choices: &[String]) -> Option<String> {
    choices
        .iter()
        .find(|c| c.eq_ignore_ascii_case(code))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::DEFAULT_LANGUAGES;

    fn reference() -> Vec<String> {
        DEFAULT_LANGUAGES.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The documented list plus n8n's extra codes (`he`, `pt`, `zh-TW`, `UK`, `LV`).
    fn extended() -> Vec<String> {
        let mut c = reference();
        c.extend(["he", "pt", "zh-TW", "UK", "LV", "sk-SK"].map(String::from));
        c
    }

    #[test]
    fn table() {
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            // (locale, with reference list, with extended list)
            // 1–2: normalisation and exact matches, account's own spelling.
            ("pt_BR", Some("pt-BR"), Some("pt-BR")),
            ("ja_JP", Some("ja-JP"), Some("ja-JP")),
            ("sv-se", Some("sv-SE"), Some("sv-SE")),
            ("NB_no", Some("nb-NO"), Some("nb-NO")),
            ("ru_RU", Some("ru-RU"), Some("ru-RU")),
            ("cy_GB", Some("cy-GB"), Some("cy-GB")),
            ("zh_CN", Some("zh-CN"), Some("zh-CN")),
            ("zh_TW", None, Some("zh-TW")),
            ("fr", Some("fr"), Some("fr")),
            ("uk", None, Some("UK")),
            (" de_DE ", Some("de"), Some("de")),
            // 3: Spanish.
            ("es", Some("es"), Some("es")),
            ("es_ES", Some("es"), Some("es")),
            ("es_MX", Some("es-LA"), Some("es-LA")),
            ("es_AR", Some("es-LA"), Some("es-LA")),
            ("es-419", Some("es-LA"), Some("es-LA")),
            // Portuguese.
            ("pt", Some("pt-PT"), Some("pt")),
            ("pt_PT", Some("pt-PT"), Some("pt-PT")),
            ("pt_BR", Some("pt-BR"), Some("pt-BR")),
            ("pt_AO", None, Some("pt")),
            // Chinese.
            ("zh", Some("zh-CN"), Some("zh-CN")),
            ("zh_SG", Some("zh-CN"), Some("zh-CN")),
            ("zh-Hans", Some("zh-CN"), Some("zh-CN")),
            ("zh-Hans-CN", Some("zh-CN"), Some("zh-CN")),
            ("zh_HK", None, Some("zh-TW")),
            ("zh-Hant", None, Some("zh-TW")),
            ("zh-Hant-HK", None, Some("zh-TW")),
            ("zh_MO", None, Some("zh-TW")),
            // Norwegian, and the languages whose only code has a region.
            ("nb", Some("nb-NO"), Some("nb-NO")),
            ("no", Some("nb-NO"), Some("nb-NO")),
            ("nn", Some("nb-NO"), Some("nb-NO")),
            ("nn_NO", Some("nb-NO"), Some("nb-NO")),
            ("sv", Some("sv-SE"), Some("sv-SE")),
            ("sv_FI", Some("sv-SE"), Some("sv-SE")),
            ("ru", Some("ru-RU"), Some("ru-RU")),
            ("ja", Some("ja-JP"), Some("ja-JP")),
            ("cy", Some("cy-GB"), Some("cy-GB")),
            ("iw", None, Some("he")),
            ("iw_IL", None, Some("he")),
            ("he_IL", None, Some("he")),
            // 4: base language.
            ("en_US", Some("en"), Some("en")),
            ("en_GB", Some("en"), Some("en")),
            ("fr_CA", Some("fr"), Some("fr")),
            ("de_AT", Some("de"), Some("de")),
            ("sk_SK", Some("sk"), Some("sk-SK")),
            // 5: nothing fits.
            ("xx_YY", None, None),
            ("", None, None),
            ("  ", None, None),
        ];
        let (r, e) = (reference(), extended());
        for (locale, want_r, want_e) in cases {
            assert_eq!(
                locale_to_language(locale, &r).as_deref(),
                *want_r,
                "{locale:?} reference"
            );
            assert_eq!(
                locale_to_language(locale, &e).as_deref(),
                *want_e,
                "{locale:?} extended"
            );
        }
    }

    #[test]
    fn special_cases_fall_back_to_the_base_language() {
        // An account without es-LA still gets Spanish.
        let c = vec!["en".to_owned(), "es".to_owned()];
        assert_eq!(locale_to_language("es_MX", &c).as_deref(), Some("es"));
        // No choices at all: nothing.
        assert_eq!(locale_to_language("en_US", &[]), None);
    }
}
