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
}
