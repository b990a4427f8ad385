//! Ids several components must derive alike.

/// The call id of a click the tracker stamped (`intent_stamp`): the OpsMantik tracker reports one click twice —
/// a conversion hit on `/api/sync` and a signed call event — with the same stamp, so both converge on one call.
pub fn click_id(site: &str, intent_stamp: &str) -> String {
    let name = format!("click:{site}:{intent_stamp}");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
}

/// A clicked target in one spelling: `+<digits>` for phones (`tel:` links, spaces and dashes dropped),
/// `whatsapp:+<digits>` for WhatsApp numbers (`wa.me/…`, `api.whatsapp.com/send?phone=…`, `whatsapp:<digits>`),
/// `whatsapp:joinchat/<code>` for group invites (`chat.whatsapp.com/<code>`); anything else as sent.
pub fn click_target(raw: &str) -> String {
    let t = raw.trim();
    let digits = |s: &str| -> Option<String> {
        let d: String = s
            .chars()
            .take_while(|c| !matches!(c, '?' | '&' | '/' | '#'))
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
            .collect();
        let d = d.strip_prefix('+').unwrap_or(&d).to_string();
        (!d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())).then(|| format!("+{d}"))
    };
    let lower = t.to_ascii_lowercase();
    let after = |prefixes: &[&str]| {
        prefixes
            .iter()
            .find_map(|p| lower.find(p).map(|i| &t[i + p.len()..]))
    };
    if let Some(code) = after(&["chat.whatsapp.com/", "whatsapp:joinchat/"]) {
        let code: String = code
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        return format!("whatsapp:joinchat/{code}");
    }
    if let Some(rest) = after(&["wa.me/", "api.whatsapp.com/send?phone=", "whatsapp:"]) {
        if let Some(d) = digits(rest) {
            return format!("whatsapp:{d}");
        }
    }
    if let Some(d) = digits(lower.strip_prefix("tel:").map_or(t, |_| &t[4..])) {
        return d;
    }
    t.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn click_targets_have_one_spelling() {
        use super::click_target;
        for (raw, want) in [
            ("+90 532 123 45 67", "+905321234567"),
            ("tel:+90-532-123-4567", "+905321234567"),
            (
                "https://wa.me/905321234567?text=Merhaba",
                "whatsapp:+905321234567",
            ),
            (
                "https://api.whatsapp.com/send?phone=905321234567&text=x",
                "whatsapp:+905321234567",
            ),
            ("whatsapp:905321234567", "whatsapp:+905321234567"),
            ("whatsapp:+905321234567", "whatsapp:+905321234567"),
            (
                "https://chat.whatsapp.com/AbCdEf123?x=1",
                "whatsapp:joinchat/AbCdEf123",
            ),
            ("whatsapp:joinchat/AbCdEf123", "whatsapp:joinchat/AbCdEf123"),
            ("contact form", "contact form"),
        ] {
            assert_eq!(click_target(raw), want, "{raw}");
        }
    }

    #[test]
    fn one_stamp_one_id_per_site() {
        use super::click_id;
        assert_eq!(
            click_id("s", "1795-kv9x-tel"),
            click_id("s", "1795-kv9x-tel")
        );
        assert_ne!(
            click_id("s", "1795-kv9x-tel"),
            click_id("t", "1795-kv9x-tel")
        );
        assert_ne!(
            click_id("s", "1795-kv9x-tel"),
            click_id("s", "1795-kv9x-wa")
        );
    }
}
