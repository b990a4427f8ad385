//! Lead scoring: one pure function from what is known about a visit to a score 0–100 and the reasons for
//! it. The sessionizer scores every session update with it; the call-matcher is to use the same function, so a
//! score means the same everywhere. The model and its weights are explained in `docs/lead-score.md`.

/// What the score is computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals {
    /// The visit came from a paid click (gclid, gbraid or wbraid).
    pub paid_click: bool,
    /// `utm_medium` names paid traffic (cpc, ppc, paid…) without a click id.
    pub paid_medium: bool,
    /// Seconds between the first and the last activity of the session.
    pub engaged_secs: i64,
    pub pageviews: i64,
    /// Conversion actions in the session (phone, WhatsApp or form clicks, `ec = conversion`).
    pub conversions: i64,
    /// The visitor had an earlier session.
    pub returning: bool,
}

/// A score and its components, e.g. `["paid_click:+30", "engagement:+10"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    pub value: i32,
    pub reasons: Vec<String>,
}

pub const PAID_CLICK: i32 = 30;
pub const PAID_MEDIUM: i32 = 10;
pub const ENGAGEMENT_MAX: i32 = 20;
pub const PAGEVIEWS_MAX: i32 = 15;
pub const CONVERSION: i32 = 25;
pub const RETURNING: i32 = 10;

/// Scores `s`. Monotone: more of any signal never lowers the score; capped at 100.
pub fn score(s: &Signals) -> Score {
    let mut parts: Vec<(&str, i32)> = Vec::new();
    if s.paid_click {
        parts.push(("paid_click", PAID_CLICK));
    } else if s.paid_medium {
        parts.push(("paid_medium", PAID_MEDIUM));
    }
    // 2 points per engaged half-minute, up to 20 (5 minutes).
    let engagement = i32::try_from((s.engaged_secs.max(0) / 30).min(10)).unwrap_or(0) * 2;
    if engagement > 0 {
        parts.push(("engagement", engagement));
    }
    // 5 points per page view after the first, up to 15.
    let pages = i32::try_from((s.pageviews - 1).clamp(0, 3)).unwrap_or(0) * 5;
    if pages > 0 {
        parts.push(("pageviews", pages));
    }
    if s.conversions > 0 {
        parts.push(("conversion_action", CONVERSION));
    }
    if s.returning {
        parts.push(("returning_visitor", RETURNING));
    }
    let value = parts.iter().map(|(_, p)| p).sum::<i32>().min(100);
    Score {
        value,
        reasons: parts.iter().map(|(n, p)| format!("{n}:+{p}")).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cold_single_page_visit_scores_zero() {
        assert_eq!(
            score(&Signals {
                pageviews: 1,
                ..Signals::default()
            }),
            Score {
                value: 0,
                reasons: vec![]
            }
        );
    }

    #[test]
    fn components_add_up_with_reasons() {
        let s = score(&Signals {
            paid_click: true,
            engaged_secs: 95,
            pageviews: 3,
            conversions: 1,
            returning: true,
            paid_medium: true,
        });
        assert_eq!(s.value, 30 + 6 + 10 + 25 + 10);
        assert_eq!(
            s.reasons,
            [
                "paid_click:+30",
                "engagement:+6",
                "pageviews:+10",
                "conversion_action:+25",
                "returning_visitor:+10"
            ]
        );
    }

    #[test]
    fn capped_and_monotone() {
        let max = score(&Signals {
            paid_click: true,
            engaged_secs: 10_000,
            pageviews: 50,
            conversions: 9,
            returning: true,
            paid_medium: false,
        });
        assert_eq!(
            max.value, 100,
            "every component at its cap: 30 + 20 + 15 + 25 + 10"
        );
        let mut prev = 0;
        for secs in (0..1000).step_by(7) {
            let v = score(&Signals {
                engaged_secs: secs,
                ..Signals::default()
            })
            .value;
            assert!(v >= prev);
            prev = v;
        }
        assert_eq!(
            score(&Signals {
                paid_medium: true,
                ..Signals::default()
            })
            .value,
            10
        );
    }
}
