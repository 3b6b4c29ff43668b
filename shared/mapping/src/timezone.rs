//! IANA time zone (Okta's `timezone`) → Freshservice `time_zone` name.
//!
//! Freshservice takes Rails `ActiveSupport::TimeZone` names
//! (`docs/architecture.md` §6), so the table is Rails' full `MAPPING` inverted, with one deterministic
//! name where several share an IANA id. IANA zones Rails does not list get an
//! alias to a Rails name with the same offset and DST rules, and IANA links
//! (old or backward names) are resolved first.

/// `ActiveSupport::TimeZone::MAPPING`, complete and in Rails' order
/// (rails/rails main, `activesupport/lib/active_support/values/time_zone.rb`).
pub const RAILS_MAPPING: &[(&str, &str)] = &[
    ("International Date Line West", "Pacific/Midway"),
    ("Midway Island", "Pacific/Midway"),
    ("American Samoa", "Pacific/Pago_Pago"),
    ("Hawaii", "Pacific/Honolulu"),
    ("Alaska", "America/Juneau"),
    ("Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("Tijuana", "America/Tijuana"),
    ("Mountain Time (US & Canada)", "America/Denver"),
    ("Arizona", "America/Phoenix"),
    ("Chihuahua", "America/Chihuahua"),
    ("Mazatlan", "America/Mazatlan"),
    ("Central Time (US & Canada)", "America/Chicago"),
    ("Saskatchewan", "America/Regina"),
    ("Guadalajara", "America/Mexico_City"),
    ("Mexico City", "America/Mexico_City"),
    ("Monterrey", "America/Monterrey"),
    ("Central America", "America/Guatemala"),
    ("Eastern Time (US & Canada)", "America/New_York"),
    ("Indiana (East)", "America/Indiana/Indianapolis"),
    ("Bogota", "America/Bogota"),
    ("Lima", "America/Lima"),
    ("Quito", "America/Lima"),
    ("Atlantic Time (Canada)", "America/Halifax"),
    ("Caracas", "America/Caracas"),
    ("La Paz", "America/La_Paz"),
    ("Santiago", "America/Santiago"),
    ("Newfoundland", "America/St_Johns"),
    ("Brasilia", "America/Sao_Paulo"),
    ("Buenos Aires", "America/Argentina/Buenos_Aires"),
    ("Montevideo", "America/Montevideo"),
    ("Georgetown", "America/Guyana"),
    ("Puerto Rico", "America/Puerto_Rico"),
    ("Greenland", "America/Godthab"),
    ("Mid-Atlantic", "Atlantic/South_Georgia"),
    ("Azores", "Atlantic/Azores"),
    ("Cape Verde Is.", "Atlantic/Cape_Verde"),
    ("Dublin", "Europe/Dublin"),
    ("Edinburgh", "Europe/London"),
    ("Lisbon", "Europe/Lisbon"),
    ("London", "Europe/London"),
    ("Casablanca", "Africa/Casablanca"),
    ("Monrovia", "Africa/Monrovia"),
    ("UTC", "Etc/UTC"),
    ("Belgrade", "Europe/Belgrade"),
    ("Bratislava", "Europe/Bratislava"),
    ("Budapest", "Europe/Budapest"),
    ("Ljubljana", "Europe/Ljubljana"),
    ("Prague", "Europe/Prague"),
    ("Sarajevo", "Europe/Sarajevo"),
    ("Skopje", "Europe/Skopje"),
    ("Warsaw", "Europe/Warsaw"),
    ("Zagreb", "Europe/Zagreb"),
    ("Brussels", "Europe/Brussels"),
    ("Copenhagen", "Europe/Copenhagen"),
    ("Madrid", "Europe/Madrid"),
    ("Paris", "Europe/Paris"),
    ("Amsterdam", "Europe/Amsterdam"),
    ("Berlin", "Europe/Berlin"),
    ("Bern", "Europe/Zurich"),
    ("Zurich", "Europe/Zurich"),
    ("Rome", "Europe/Rome"),
    ("Stockholm", "Europe/Stockholm"),
    ("Vienna", "Europe/Vienna"),
    ("West Central Africa", "Africa/Algiers"),
    ("Bucharest", "Europe/Bucharest"),
    ("Cairo", "Africa/Cairo"),
    ("Helsinki", "Europe/Helsinki"),
    ("Kyiv", "Europe/Kiev"),
    ("Riga", "Europe/Riga"),
    ("Sofia", "Europe/Sofia"),
    ("Tallinn", "Europe/Tallinn"),
    ("Vilnius", "Europe/Vilnius"),
    ("Athens", "Europe/Athens"),
    ("Istanbul", "Europe/Istanbul"),
    ("Minsk", "Europe/Minsk"),
    ("Jerusalem", "Asia/Jerusalem"),
    ("Harare", "Africa/Harare"),
    ("Pretoria", "Africa/Johannesburg"),
    ("Kaliningrad", "Europe/Kaliningrad"),
    ("Moscow", "Europe/Moscow"),
    ("St. Petersburg", "Europe/Moscow"),
    ("Volgograd", "Europe/Volgograd"),
    ("Samara", "Europe/Samara"),
    ("Kuwait", "Asia/Kuwait"),
    ("Riyadh", "Asia/Riyadh"),
    ("Nairobi", "Africa/Nairobi"),
    ("Baghdad", "Asia/Baghdad"),
    ("Tehran", "Asia/Tehran"),
    ("Abu Dhabi", "Asia/Muscat"),
    ("Muscat", "Asia/Muscat"),
    ("Baku", "Asia/Baku"),
    ("Tbilisi", "Asia/Tbilisi"),
    ("Yerevan", "Asia/Yerevan"),
    ("Kabul", "Asia/Kabul"),
    ("Ekaterinburg", "Asia/Yekaterinburg"),
    ("Islamabad", "Asia/Karachi"),
    ("Karachi", "Asia/Karachi"),
    ("Tashkent", "Asia/Tashkent"),
    ("Chennai", "Asia/Kolkata"),
    ("Kolkata", "Asia/Kolkata"),
    ("Mumbai", "Asia/Kolkata"),
    ("New Delhi", "Asia/Kolkata"),
    ("Kathmandu", "Asia/Kathmandu"),
    ("Astana", "Asia/Dhaka"),
    ("Dhaka", "Asia/Dhaka"),
    ("Sri Jayawardenepura", "Asia/Colombo"),
    ("Almaty", "Asia/Almaty"),
    ("Novosibirsk", "Asia/Novosibirsk"),
    ("Rangoon", "Asia/Rangoon"),
    ("Bangkok", "Asia/Bangkok"),
    ("Hanoi", "Asia/Bangkok"),
    ("Jakarta", "Asia/Jakarta"),
    ("Krasnoyarsk", "Asia/Krasnoyarsk"),
    ("Beijing", "Asia/Shanghai"),
    ("Chongqing", "Asia/Chongqing"),
    ("Hong Kong", "Asia/Hong_Kong"),
    ("Urumqi", "Asia/Urumqi"),
    ("Kuala Lumpur", "Asia/Kuala_Lumpur"),
    ("Singapore", "Asia/Singapore"),
    ("Taipei", "Asia/Taipei"),
    ("Perth", "Australia/Perth"),
    ("Irkutsk", "Asia/Irkutsk"),
    ("Ulaanbaatar", "Asia/Ulaanbaatar"),
    ("Seoul", "Asia/Seoul"),
    ("Osaka", "Asia/Tokyo"),
    ("Sapporo", "Asia/Tokyo"),
    ("Tokyo", "Asia/Tokyo"),
    ("Yakutsk", "Asia/Yakutsk"),
    ("Darwin", "Australia/Darwin"),
    ("Adelaide", "Australia/Adelaide"),
    ("Canberra", "Australia/Melbourne"),
    ("Melbourne", "Australia/Melbourne"),
    ("Sydney", "Australia/Sydney"),
    ("Brisbane", "Australia/Brisbane"),
    ("Hobart", "Australia/Hobart"),
    ("Vladivostok", "Asia/Vladivostok"),
    ("Guam", "Pacific/Guam"),
    ("Port Moresby", "Pacific/Port_Moresby"),
    ("Magadan", "Asia/Magadan"),
    ("Srednekolymsk", "Asia/Srednekolymsk"),
    ("Solomon Is.", "Pacific/Guadalcanal"),
    ("New Caledonia", "Pacific/Noumea"),
    ("Fiji", "Pacific/Fiji"),
    ("Kamchatka", "Asia/Kamchatka"),
    ("Marshall Is.", "Pacific/Majuro"),
    ("Auckland", "Pacific/Auckland"),
    ("Wellington", "Pacific/Auckland"),
    ("Nuku'alofa", "Pacific/Tongatapu"),
    ("Tokelau Is.", "Pacific/Fakaofo"),
    ("Chatham Is.", "Pacific/Chatham"),
    ("Samoa", "Pacific/Apia"),
];

/// Where several Rails names share one IANA id, the name we send
/// (`docs/architecture.md` §6). Every shared id must be listed here (tested).
pub const PREFERRED: &[(&str, &str)] = &[
    ("Europe/London", "London"),
    ("Asia/Kolkata", "Kolkata"),
    ("America/Mexico_City", "Mexico City"),
    ("Asia/Tokyo", "Tokyo"),
    ("Pacific/Auckland", "Auckland"),
    ("Europe/Zurich", "Zurich"),
    ("Europe/Moscow", "Moscow"),
    ("Asia/Muscat", "Muscat"),
    ("Asia/Bangkok", "Bangkok"),
    ("America/Lima", "Lima"),
    ("Asia/Dhaka", "Dhaka"),
    ("Australia/Melbourne", "Melbourne"),
    ("Asia/Karachi", "Karachi"),
    ("Pacific/Midway", "Midway Island"),
];

/// IANA zones Rails does not list → the Rails name with the same UTC offset
/// and the same DST rules today. Zones with their own DST rules (e.g.
/// America/Havana, Asia/Beirut) are left out on purpose: a wrong clock is
/// worse than the account default.
pub const ALIASES: &[(&str, &str)] = &[
    // North America.
    ("America/Toronto", "Eastern Time (US & Canada)"),
    ("America/Detroit", "Eastern Time (US & Canada)"),
    ("America/Kentucky/Louisville", "Eastern Time (US & Canada)"),
    ("America/Nassau", "Eastern Time (US & Canada)"),
    ("America/Winnipeg", "Central Time (US & Canada)"),
    ("America/Edmonton", "Mountain Time (US & Canada)"),
    ("America/Boise", "Mountain Time (US & Canada)"),
    ("America/Vancouver", "Pacific Time (US & Canada)"),
    ("America/Anchorage", "Alaska"),
    ("America/Sitka", "Alaska"),
    ("America/Nome", "Alaska"),
    ("America/Yakutat", "Alaska"),
    ("America/Moncton", "Atlantic Time (Canada)"),
    ("America/Glace_Bay", "Atlantic Time (Canada)"),
    ("Atlantic/Bermuda", "Atlantic Time (Canada)"),
    ("America/Hermosillo", "Arizona"),
    ("America/Merida", "Mexico City"),
    ("America/Costa_Rica", "Central America"),
    ("America/El_Salvador", "Central America"),
    ("America/Tegucigalpa", "Central America"),
    ("America/Managua", "Central America"),
    ("America/Belize", "Central America"),
    ("America/Panama", "Bogota"),
    ("America/Jamaica", "Bogota"),
    ("America/Cancun", "Bogota"),
    ("America/Santo_Domingo", "Puerto Rico"),
    ("America/Barbados", "Puerto Rico"),
    ("America/Port_of_Spain", "Puerto Rico"),
    ("America/Nuuk", "Greenland"),
    // South America.
    ("America/Guayaquil", "Quito"),
    ("America/Manaus", "La Paz"),
    ("America/Fortaleza", "Brasilia"),
    ("America/Recife", "Brasilia"),
    ("America/Bahia", "Brasilia"),
    ("America/Belem", "Brasilia"),
    ("America/Argentina/Cordoba", "Buenos Aires"),
    ("America/Argentina/Mendoza", "Buenos Aires"),
    // Europe.
    ("Europe/Kyiv", "Kyiv"),
    ("Europe/Oslo", "Stockholm"),
    ("Europe/Luxembourg", "Brussels"),
    ("Europe/Monaco", "Paris"),
    ("Europe/Andorra", "Madrid"),
    ("Europe/Gibraltar", "Madrid"),
    ("Europe/Malta", "Rome"),
    ("Europe/Vatican", "Rome"),
    ("Europe/San_Marino", "Rome"),
    ("Europe/Tirane", "Belgrade"),
    ("Europe/Podgorica", "Belgrade"),
    ("Europe/Vaduz", "Zurich"),
    ("Europe/Busingen", "Zurich"),
    ("Europe/Mariehamn", "Helsinki"),
    ("Europe/Jersey", "London"),
    ("Europe/Guernsey", "London"),
    ("Europe/Isle_of_Man", "London"),
    ("Atlantic/Canary", "Lisbon"),
    ("Atlantic/Madeira", "Lisbon"),
    ("Atlantic/Faroe", "Lisbon"),
    ("Atlantic/Reykjavik", "Monrovia"),
    // Africa.
    ("Africa/Lagos", "West Central Africa"),
    ("Africa/Tunis", "West Central Africa"),
    ("Africa/Kinshasa", "West Central Africa"),
    ("Africa/Douala", "West Central Africa"),
    ("Africa/Luanda", "West Central Africa"),
    ("Africa/Abidjan", "Monrovia"),
    ("Africa/Accra", "Monrovia"),
    ("Africa/Dakar", "Monrovia"),
    ("Africa/Addis_Ababa", "Nairobi"),
    ("Africa/Dar_es_Salaam", "Nairobi"),
    ("Africa/Kampala", "Nairobi"),
    ("Africa/Mogadishu", "Nairobi"),
    ("Africa/Maputo", "Harare"),
    ("Africa/Lusaka", "Harare"),
    ("Africa/Kigali", "Harare"),
    ("Africa/Gaborone", "Harare"),
    ("Africa/Lubumbashi", "Harare"),
    ("Africa/Maseru", "Pretoria"),
    ("Africa/Mbabane", "Pretoria"),
    ("Africa/El_Aaiun", "Casablanca"),
    // Asia.
    ("Asia/Dubai", "Abu Dhabi"),
    ("Asia/Qatar", "Kuwait"),
    ("Asia/Bahrain", "Kuwait"),
    ("Asia/Aden", "Riyadh"),
    ("Asia/Ho_Chi_Minh", "Hanoi"),
    ("Asia/Phnom_Penh", "Bangkok"),
    ("Asia/Vientiane", "Bangkok"),
    ("Asia/Yangon", "Rangoon"),
    ("Asia/Manila", "Singapore"),
    ("Asia/Kuching", "Kuala Lumpur"),
    ("Asia/Macau", "Hong Kong"),
    ("Asia/Samarkand", "Tashkent"),
    // Oceania.
    ("Australia/Lindeman", "Brisbane"),
    ("Australia/Broken_Hill", "Adelaide"),
    ("Pacific/Saipan", "Guam"),
    ("Pacific/Tarawa", "Marshall Is."),
    ("Pacific/Kwajalein", "Marshall Is."),
];

/// IANA links (backward and renamed ids) → an id in [`RAILS_MAPPING`] or
/// [`ALIASES`].
pub const LINKS: &[(&str, &str)] = &[
    ("US/Eastern", "America/New_York"),
    ("US/Central", "America/Chicago"),
    ("US/Mountain", "America/Denver"),
    ("US/Pacific", "America/Los_Angeles"),
    ("US/Alaska", "America/Anchorage"),
    ("US/Hawaii", "Pacific/Honolulu"),
    ("US/Arizona", "America/Phoenix"),
    ("US/East-Indiana", "America/Indiana/Indianapolis"),
    ("US/Michigan", "America/Detroit"),
    ("US/Samoa", "Pacific/Pago_Pago"),
    ("America/Indianapolis", "America/Indiana/Indianapolis"),
    ("America/Fort_Wayne", "America/Indiana/Indianapolis"),
    ("America/Louisville", "America/Kentucky/Louisville"),
    ("America/Montreal", "America/Toronto"),
    ("America/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ("America/Cordoba", "America/Argentina/Cordoba"),
    ("America/Mendoza", "America/Argentina/Mendoza"),
    ("America/Ensenada", "America/Tijuana"),
    ("America/Santa_Isabel", "America/Tijuana"),
    ("Canada/Eastern", "America/Toronto"),
    ("Canada/Central", "America/Winnipeg"),
    ("Canada/Mountain", "America/Edmonton"),
    ("Canada/Pacific", "America/Vancouver"),
    ("Canada/Atlantic", "America/Halifax"),
    ("Canada/Newfoundland", "America/St_Johns"),
    ("Canada/Saskatchewan", "America/Regina"),
    ("Mexico/General", "America/Mexico_City"),
    ("Mexico/BajaNorte", "America/Tijuana"),
    ("Brazil/East", "America/Sao_Paulo"),
    ("Chile/Continental", "America/Santiago"),
    ("Asia/Calcutta", "Asia/Kolkata"),
    ("Asia/Katmandu", "Asia/Kathmandu"),
    ("Asia/Dacca", "Asia/Dhaka"),
    ("Asia/Saigon", "Asia/Ho_Chi_Minh"),
    ("Asia/Ulan_Bator", "Asia/Ulaanbaatar"),
    ("Asia/Tel_Aviv", "Asia/Jerusalem"),
    ("Asia/Chungking", "Asia/Chongqing"),
    ("Asia/Harbin", "Asia/Shanghai"),
    ("Asia/Kashgar", "Asia/Urumqi"),
    ("Asia/Macao", "Asia/Macau"),
    ("Asia/Istanbul", "Europe/Istanbul"),
    ("Europe/Belfast", "Europe/London"),
    ("Europe/Uzhgorod", "Europe/Kyiv"),
    ("Europe/Zaporozhye", "Europe/Kyiv"),
    ("Atlantic/Faeroe", "Atlantic/Faroe"),
    ("Pacific/Samoa", "Pacific/Pago_Pago"),
    ("Pacific/Johnston", "Pacific/Honolulu"),
    ("Australia/ACT", "Australia/Sydney"),
    ("Australia/Canberra", "Australia/Sydney"),
    ("Australia/NSW", "Australia/Sydney"),
    ("Australia/Victoria", "Australia/Melbourne"),
    ("Australia/Queensland", "Australia/Brisbane"),
    ("Australia/West", "Australia/Perth"),
    ("Australia/South", "Australia/Adelaide"),
    ("Australia/North", "Australia/Darwin"),
    ("Australia/Tasmania", "Australia/Hobart"),
    ("Australia/Currie", "Australia/Hobart"),
    ("Australia/Yancowinna", "Australia/Broken_Hill"),
    ("GB", "Europe/London"),
    ("GB-Eire", "Europe/London"),
    ("Eire", "Europe/Dublin"),
    ("Portugal", "Europe/Lisbon"),
    ("Poland", "Europe/Warsaw"),
    ("W-SU", "Europe/Moscow"),
    ("Turkey", "Europe/Istanbul"),
    ("Egypt", "Africa/Cairo"),
    ("Israel", "Asia/Jerusalem"),
    ("Iran", "Asia/Tehran"),
    ("PRC", "Asia/Shanghai"),
    ("ROC", "Asia/Taipei"),
    ("ROK", "Asia/Seoul"),
    ("Japan", "Asia/Tokyo"),
    ("Hongkong", "Asia/Hong_Kong"),
    ("Singapore", "Asia/Singapore"),
    ("NZ", "Pacific/Auckland"),
    ("NZ-CHAT", "Pacific/Chatham"),
    ("UTC", "Etc/UTC"),
    ("UCT", "Etc/UTC"),
    ("Etc/UCT", "Etc/UTC"),
    ("Universal", "Etc/UTC"),
    ("Etc/Universal", "Etc/UTC"),
    ("Zulu", "Etc/UTC"),
    ("Etc/Zulu", "Etc/UTC"),
    ("GMT", "Etc/UTC"),
    ("Etc/GMT", "Etc/UTC"),
    ("GMT0", "Etc/UTC"),
    ("Etc/GMT0", "Etc/UTC"),
    ("GMT+0", "Etc/UTC"),
    ("Etc/GMT+0", "Etc/UTC"),
    ("GMT-0", "Etc/UTC"),
    ("Etc/GMT-0", "Etc/UTC"),
    ("Greenwich", "Etc/UTC"),
    ("Etc/Greenwich", "Etc/UTC"),
];

/// Older spellings of Rails names that a Freshservice account's list may
/// still carry (Rails renamed them; Freshservice's list is unconfirmed).
const LEGACY_NAMES: &[(&str, &str)] = &[("Kyiv", "Kyev"), ("Ulaanbaatar", "Ulaan Bataar")];

/// The Freshservice (Rails) name for an IANA zone, or `None` when nothing
/// with the same rules is known. IANA names are case-sensitive; surrounding
/// whitespace is ignored.
pub fn iana_to_freshservice(iana: &str) -> Option<&'static str> {
    let iana = iana.trim();
    // Links resolve in one step: every target is a Rails id or an alias
    // (tested), e.g. Europe/Uzhgorod → Europe/Kyiv → "Kyiv".
    let id = LINKS
        .iter()
        .find(|(from, _)| *from == iana)
        .map_or(iana, |(_, to)| *to);
    direct(id).or_else(|| lookup(ALIASES, id))
}

/// Like [`iana_to_freshservice`], but when the account lists its time-zone
/// choices the result is always one of them: the preferred name, else
/// another Rails name for the same zone (e.g. `Edinburgh` for London), else
/// an older spelling (`Kyev`). Matching is exact first, then
/// case-insensitive, returning the account's own spelling. `None` or an
/// empty list means the account did not say, so any Rails name goes.
pub fn map_time_zone(iana: &str, choices: Option<&[String]>) -> Option<String> {
    let name = iana_to_freshservice(iana)?;
    let choices = match choices {
        Some(c) if !c.is_empty() => c,
        _ => return Some(name.to_owned()),
    };
    let zone_id = lookup(RAILS_MAPPING, name)?;
    let mut candidates = vec![name];
    candidates.extend(
        RAILS_MAPPING
            .iter()
            .filter(|(n, id)| *id == zone_id && *n != name)
            .map(|(n, _)| *n),
    );
    let legacy: Vec<&str> = candidates
        .iter()
        .filter_map(|c| lookup(LEGACY_NAMES, c))
        .collect();
    candidates.extend(legacy);
    candidates.iter().find_map(|c| {
        choices
            .iter()
            .find(|choice| choice.as_str() == *c)
            .or_else(|| choices.iter().find(|choice| choice.eq_ignore_ascii_case(c)))
            .cloned()
    })
}

/// The inverted Rails mapping for an id Rails lists itself.
fn direct(id: &str) -> Option<&'static str> {
    if let Some(name) = lookup(PREFERRED, id) {
        return Some(name);
    }
    RAILS_MAPPING
        .iter()
        .find(|(_, zone)| *zone == id)
        .map(|(name, _)| *name)
}

fn lookup(table: &'static [(&'static str, &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashSet};

    fn is_rails_name(name: &str) -> bool {
        RAILS_MAPPING.iter().any(|(n, _)| *n == name)
    }

    #[test]
    fn mapping_is_complete_and_unique() {
        // Rails main lists 151 names; a shorter table means a transcription slip.
        assert_eq!(RAILS_MAPPING.len(), 151);
        let names: HashSet<_> = RAILS_MAPPING.iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), RAILS_MAPPING.len(), "duplicate Rails name");
    }

    #[test]
    fn every_rails_zone_maps_back_to_a_name_for_the_same_zone() {
        for (name, id) in RAILS_MAPPING {
            let got = iana_to_freshservice(id).unwrap_or_else(|| panic!("{id} unmapped"));
            assert!(is_rails_name(got), "{id} → {got}");
            assert_eq!(
                lookup(RAILS_MAPPING, got),
                Some(*id),
                "{name}: {id} → {got}"
            );
        }
    }

    #[test]
    fn unique_ids_map_to_their_only_name() {
        let mut by_id: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, id) in RAILS_MAPPING {
            by_id.entry(id).or_default().push(name);
        }
        for (id, names) in &by_id {
            if names.len() == 1 {
                assert_eq!(iana_to_freshservice(id), Some(names[0]), "{id}");
            } else {
                // Every shared id has a deliberate choice, one of its names.
                let chosen =
                    lookup(PREFERRED, id).unwrap_or_else(|| panic!("{id} has no PREFERRED"));
                assert!(names.contains(&chosen), "{id}: {chosen} not in {names:?}");
            }
        }
        for (id, _) in PREFERRED {
            assert!(
                by_id.get(id).is_some_and(|n| n.len() > 1),
                "needless PREFERRED {id}"
            );
        }
    }

    #[test]
    fn shared_ids_resolve_to_the_reference_choice() {
        let cases = [
            ("Europe/London", "London"),
            ("Asia/Kolkata", "Kolkata"),
            ("America/Mexico_City", "Mexico City"),
            ("Asia/Tokyo", "Tokyo"),
            ("Pacific/Auckland", "Auckland"),
            ("Europe/Zurich", "Zurich"),
            ("Europe/Moscow", "Moscow"),
            ("Asia/Muscat", "Muscat"),
            ("Asia/Bangkok", "Bangkok"),
            ("America/Lima", "Lima"),
            ("Asia/Dhaka", "Dhaka"),
            ("Australia/Melbourne", "Melbourne"),
            ("Asia/Karachi", "Karachi"),
            ("Pacific/Midway", "Midway Island"),
            ("Etc/UTC", "UTC"),
        ];
        for (id, name) in cases {
            assert_eq!(iana_to_freshservice(id), Some(name), "{id}");
        }
    }

    #[test]
    fn reference_direct_pairs() {
        let cases = [
            ("America/New_York", "Eastern Time (US & Canada)"),
            ("America/Chicago", "Central Time (US & Canada)"),
            ("America/Denver", "Mountain Time (US & Canada)"),
            ("America/Los_Angeles", "Pacific Time (US & Canada)"),
            ("America/Phoenix", "Arizona"),
            ("America/Juneau", "Alaska"),
            ("Pacific/Honolulu", "Hawaii"),
            ("America/Halifax", "Atlantic Time (Canada)"),
            ("America/St_Johns", "Newfoundland"),
            ("America/Regina", "Saskatchewan"),
            ("America/Indiana/Indianapolis", "Indiana (East)"),
            ("America/Sao_Paulo", "Brasilia"),
            ("America/Argentina/Buenos_Aires", "Buenos Aires"),
            ("America/Bogota", "Bogota"),
            ("America/Santiago", "Santiago"),
            ("Europe/Dublin", "Dublin"),
            ("Europe/Lisbon", "Lisbon"),
            ("Europe/Paris", "Paris"),
            ("Europe/Berlin", "Berlin"),
            ("Europe/Amsterdam", "Amsterdam"),
            ("Europe/Madrid", "Madrid"),
            ("Europe/Rome", "Rome"),
            ("Europe/Stockholm", "Stockholm"),
            ("Europe/Copenhagen", "Copenhagen"),
            ("Europe/Warsaw", "Warsaw"),
            ("Europe/Helsinki", "Helsinki"),
            ("Europe/Kiev", "Kyiv"),
            ("Europe/Istanbul", "Istanbul"),
            ("Asia/Jerusalem", "Jerusalem"),
            ("Africa/Johannesburg", "Pretoria"),
            ("Africa/Cairo", "Cairo"),
            ("Africa/Nairobi", "Nairobi"),
            ("Asia/Riyadh", "Riyadh"),
            ("Asia/Shanghai", "Beijing"),
            ("Asia/Hong_Kong", "Hong Kong"),
            ("Asia/Singapore", "Singapore"),
            ("Asia/Seoul", "Seoul"),
            ("Asia/Taipei", "Taipei"),
            ("Asia/Jakarta", "Jakarta"),
            ("Australia/Sydney", "Sydney"),
            ("Australia/Brisbane", "Brisbane"),
            ("Australia/Perth", "Perth"),
            ("Australia/Adelaide", "Adelaide"),
        ];
        for (id, name) in cases {
            assert_eq!(iana_to_freshservice(id), Some(name), "{id}");
        }
    }

    #[test]
    fn every_alias_is_a_rails_name_for_a_zone_rails_lacks() {
        let mut seen = HashSet::new();
        for (id, name) in ALIASES {
            assert!(seen.insert(id), "duplicate alias {id}");
            assert!(is_rails_name(name), "{id} → {name} is not a Rails name");
            assert!(
                !RAILS_MAPPING.iter().any(|(_, z)| z == id),
                "{id} is in Rails' MAPPING; no alias needed"
            );
            assert_eq!(iana_to_freshservice(id), Some(*name), "{id}");
        }
    }

    #[test]
    fn reference_aliases() {
        let cases = [
            ("America/Toronto", "Eastern Time (US & Canada)"),
            ("America/Vancouver", "Pacific Time (US & Canada)"),
            ("Europe/Oslo", "Stockholm"),
            ("Asia/Dubai", "Abu Dhabi"),
            ("Asia/Manila", "Singapore"),
            ("Africa/Lagos", "West Central Africa"),
            ("America/Nuuk", "Greenland"),
            ("Europe/Kyiv", "Kyiv"),
            ("Asia/Calcutta", "Kolkata"),
        ];
        for (id, name) in cases {
            assert_eq!(iana_to_freshservice(id), Some(name), "{id}");
        }
    }

    #[test]
    fn every_link_resolves() {
        let mut seen = HashSet::new();
        for (from, to) in LINKS {
            assert!(seen.insert(from), "duplicate link {from}");
            let via_target = direct(to).or_else(|| lookup(ALIASES, to));
            assert!(via_target.is_some(), "{from} → {to}: target unmapped");
            let got = iana_to_freshservice(from).unwrap_or_else(|| panic!("{from} unmapped"));
            assert_eq!(Some(got), via_target, "{from} → {to}");
            assert!(is_rails_name(got));
        }
        let cases = [
            ("US/Eastern", "Eastern Time (US & Canada)"),
            ("US/Pacific", "Pacific Time (US & Canada)"),
            ("US/Alaska", "Alaska"),
            ("America/Montreal", "Eastern Time (US & Canada)"),
            ("Asia/Saigon", "Hanoi"),
            ("Europe/Uzhgorod", "Kyiv"),
            ("GMT", "UTC"),
            ("UTC", "UTC"),
            ("Australia/ACT", "Sydney"),
        ];
        for (id, name) in cases {
            assert_eq!(iana_to_freshservice(id), Some(name), "{id}");
        }
    }

    #[test]
    fn names_are_trimmed_and_case_sensitive() {
        assert_eq!(iana_to_freshservice("  Europe/Paris \n"), Some("Paris"));
        assert_eq!(iana_to_freshservice("europe/paris"), None);
        assert_eq!(iana_to_freshservice(""), None);
        assert_eq!(iana_to_freshservice("Mars/Olympus_Mons"), None);
        assert_eq!(iana_to_freshservice("America/Havana"), None);
        // A Rails name is not an IANA id.
        assert_eq!(iana_to_freshservice("London"), None);
    }

    #[test]
    fn choices_constrain_the_result() {
        let list = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        // No list, or an empty one: any Rails name.
        assert_eq!(map_time_zone("Europe/London", None), Some("London".into()));
        assert_eq!(
            map_time_zone("Europe/London", Some(&[])),
            Some("London".into())
        );
        // Preferred name present.
        let c = list(&["London", "Edinburgh"]);
        assert_eq!(
            map_time_zone("Europe/London", Some(&c)),
            Some("London".into())
        );
        // Only a sibling name for the same zone.
        let c = list(&["Edinburgh", "Paris"]);
        assert_eq!(
            map_time_zone("Europe/London", Some(&c)),
            Some("Edinburgh".into())
        );
        let c = list(&["New Delhi"]);
        assert_eq!(
            map_time_zone("Asia/Calcutta", Some(&c)),
            Some("New Delhi".into())
        );
        // Aliases follow the same rule: Asia/Dubai → Abu Dhabi, else Muscat.
        let c = list(&["Muscat"]);
        assert_eq!(map_time_zone("Asia/Dubai", Some(&c)), Some("Muscat".into()));
        // Older Rails spelling.
        let c = list(&["Kyev"]);
        assert_eq!(map_time_zone("Europe/Kyiv", Some(&c)), Some("Kyev".into()));
        let c = list(&["Ulaan Bataar"]);
        assert_eq!(
            map_time_zone("Asia/Ulaanbaatar", Some(&c)),
            Some("Ulaan Bataar".into())
        );
        // Case-insensitive, returning the account's spelling.
        let c = list(&["eastern time (us & canada)"]);
        assert_eq!(
            map_time_zone("America/New_York", Some(&c)),
            Some("eastern time (us & canada)".into())
        );
        // Not offered by the account.
        let c = list(&["Paris"]);
        assert_eq!(map_time_zone("Europe/London", Some(&c)), None);
        assert_eq!(map_time_zone("Nowhere/Zone", None), None);
    }
}
