//! Parsing shared by every stage's settings.

/// A true/false setting (`true`/`false`, `1`/`0`, `yes`/`no`; empty is false).
pub fn parse_flag(name: &str, raw: &str, origin: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        _ => Err(format!(
            "{name} ({origin}) must be true or false, not `{raw}`"
        )),
    }
}
