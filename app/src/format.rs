//! Small formatting helpers shared by server rendering and hydration (so both render alike).

pub use domain::calendar::utc_datetime;

/// A short name for the browser a user agent string describes.
pub fn device_name(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else {
        return "Unknown device".into();
    };
    let browser =
        ["Edg/", "Firefox/", "Chrome/", "Safari/"].into_iter().find(|marker| ua.contains(marker)).map(|marker| {
            match marker {
                "Edg/" => "Edge",
                "Firefox/" => "Firefox",
                "Chrome/" => {
                    if ua.contains("HeadlessChrome") {
                        "Headless Chrome"
                    } else {
                        "Chrome"
                    }
                }
                _ => "Safari",
            }
        });
    let system = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_string(),
        (None, Some(s)) => s.to_string(),
        (None, None) => ua.chars().take(40).collect(),
    }
}

/// How long ago `at` was, as a person says it ("just now", "5 minutes ago", "yesterday"), and
/// the exact UTC time beyond a week.
pub fn time_ago(at: i64, now: i64) -> String {
    let seconds = (now - at).max(0) / 1000;
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit} ago") } else { format!("{n} {unit}s ago") };
    match seconds {
        0..=59 => "just now".into(),
        60..=3_599 => plural(seconds / 60, "minute"),
        3_600..=86_399 => plural(seconds / 3_600, "hour"),
        86_400..=172_799 => "yesterday".into(),
        172_800..=604_799 => plural(seconds / 86_400, "day"),
        _ => utc_datetime(at),
    }
}

/// Device names, numbered where two sessions would read the same ("Chrome on Linux (2)").
pub fn distinct_names(names: Vec<String>) -> Vec<String> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let total = |name: &str| names.iter().filter(|n| n.as_str() == name).count();
    names
        .iter()
        .map(|name| {
            let n = seen.entry(name.clone()).or_insert(0);
            *n += 1;
            if total(name) > 1 {
                format!("{name} ({n})")
            } else {
                name.clone()
            }
        })
        .collect()
}

/// Initials for an avatar placeholder.
pub fn initials(name: &str) -> String {
    name.split_whitespace().filter_map(|w| w.chars().next()).take(2).flat_map(char::to_uppercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_devices_and_initials() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        assert_eq!(device_name(Some(chrome)), "Chrome on Linux");
        assert_eq!(device_name(None), "Unknown device");
        assert_eq!(initials("Ada Lovelace"), "AL");
        assert_eq!(initials("émile zola du"), "ÉZ");
    }

    #[test]
    fn times_read_as_people_say_them() {
        let now = 1_800_000_000_000;
        assert_eq!(time_ago(now - 5_000, now), "just now");
        assert_eq!(time_ago(now - 60_000, now), "1 minute ago");
        assert_eq!(time_ago(now - 5 * 3_600_000, now), "5 hours ago");
        assert_eq!(time_ago(now - 30 * 3_600_000, now), "yesterday");
        assert_eq!(time_ago(now - 3 * 86_400_000, now), "3 days ago");
        assert_eq!(time_ago(now - 30 * 86_400_000, now), utc_datetime(now - 30 * 86_400_000));
        // A clock a little behind the database's never says "in the future".
        assert_eq!(time_ago(now + 2_000, now), "just now");
    }

    #[test]
    fn two_sessions_of_one_browser_read_differently() {
        let names = distinct_names(vec!["Chrome on Linux".into(), "Safari".into(), "Chrome on Linux".into()]);
        assert_eq!(names, ["Chrome on Linux (1)", "Safari", "Chrome on Linux (2)"]);
    }
}
