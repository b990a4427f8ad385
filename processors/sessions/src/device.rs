//! Device class, browser and OS from a User-Agent (the `woothee` parser). Unknown parts stay empty.

/// What a User-Agent says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Device {
    /// desktop | mobile | other | bot
    pub class: Option<String>,
    pub browser: Option<String>,
    pub os: Option<String>,
}

fn known(s: &str) -> Option<String> {
    (!s.is_empty() && s != "UNKNOWN").then(|| s.to_string())
}

/// Parses `user_agent`.
pub fn parse(user_agent: &str) -> Device {
    let Some(r) = woothee::parser::Parser::new().parse(user_agent) else {
        return Device::default();
    };
    let class = match r.category {
        "pc" => Some("desktop"),
        "smartphone" | "mobilephone" => Some("mobile"),
        "crawler" => Some("bot"),
        "appliance" => Some("other"),
        _ => None,
    };
    Device {
        class: class.map(String::from),
        browser: known(r.name),
        os: known(r.os),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_agents() {
        let android = parse("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36");
        assert_eq!(android.class.as_deref(), Some("mobile"));
        assert_eq!(android.browser.as_deref(), Some("Chrome"));
        assert_eq!(android.os.as_deref(), Some("Android"));
        let mac = parse("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15");
        assert_eq!(
            (mac.class.as_deref(), mac.browser.as_deref()),
            (Some("desktop"), Some("Safari"))
        );
        assert_eq!(
            parse("Googlebot/2.1 (+http://www.google.com/bot.html)")
                .class
                .as_deref(),
            Some("bot")
        );
        assert_eq!(parse(""), Device::default());
    }
}
