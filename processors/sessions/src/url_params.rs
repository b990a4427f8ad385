//! Campaign parameters (UTM, click ids) read from a landing URL's query string.

/// UTM fields and click ids found in a URL.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Campaign {
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub gclid: Option<String>,
    pub gbraid: Option<String>,
    pub wbraid: Option<String>,
}

/// Reads campaign parameters from `url`; an unparsable URL has none.
pub fn campaign(url: &str) -> Campaign {
    let mut c = Campaign::default();
    let Ok(parsed) = url::Url::parse(url) else {
        return c;
    };
    for (k, v) in parsed.query_pairs() {
        if v.is_empty() {
            continue;
        }
        let slot = match k.as_ref() {
            "utm_source" => &mut c.utm_source,
            "utm_medium" => &mut c.utm_medium,
            "utm_campaign" => &mut c.utm_campaign,
            "utm_term" => &mut c.utm_term,
            "utm_content" => &mut c.utm_content,
            "gclid" => &mut c.gclid,
            "gbraid" => &mut c.gbraid,
            "wbraid" => &mut c.wbraid,
            _ => continue,
        };
        slot.get_or_insert_with(|| v.into_owned());
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utm_and_click_ids() {
        let c = campaign(
            "https://x.com/p?utm_source=google&utm_medium=cpc&gclid=abc&utm_term=&other=1",
        );
        assert_eq!(c.utm_source.as_deref(), Some("google"));
        assert_eq!(c.utm_medium.as_deref(), Some("cpc"));
        assert_eq!(c.gclid.as_deref(), Some("abc"));
        assert_eq!(c.utm_term, None);
        assert_eq!(campaign("not a url"), Campaign::default());
    }
}
