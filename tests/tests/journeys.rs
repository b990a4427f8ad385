//! Scripted visitor journeys through the real pipeline, with the sessions each must produce written next to
//! it. Times are scripted with the tracker's `ts`/`st` pair (event time = receive time − (st − ts)).

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::time::Duration;

use opsmantik_e2e::{hit, wait_for, Env, Pipeline};

const MIN: i64 = 60_000;

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct Session {
    visitor: String,
    session_id: String,
    client_session_id: String,
    events: i64,
    duration_sec: i64,
}

#[tokio::test(flavor = "multi_thread")]
async fn scripted_journeys_make_the_expected_sessions() -> anyhow::Result<()> {
    let env = Env::new("journeys").await?;
    let site = env.create_site("journeys", &[]).await?.public_id;
    let s = site.as_str();
    let p = Pipeline::start(&env).await?;
    let url = "https://shop.example/";
    let mut journey = Vec::new();

    // Two tabs of one visitor, each with its own sid, interleaved: one session (the visitor's), 4 events.
    for (i, sid) in ["T1", "T2", "T1", "T2"].iter().enumerate() {
        journey.push(hit(s, "tabs", sid, url, (20 - i as i64) * MIN, "tab"));
    }
    // A 25-hour visit, a page every 20 minutes: capped at 24 hours → 72 events, then 4 in a second session.
    for i in 0..76 {
        journey.push(hit(s, "long", "L", url, (75 - i) * 20 * MIN, "long"));
    }
    // Two visitors behind one IP (the test client): two sessions.
    journey.push(hit(s, "ip-1", "P1", url, 5 * MIN, "ip"));
    journey.push(hit(s, "ip-2", "P2", url, 5 * MIN, "ip"));
    // Late events: one inside the window moves the start back; one older than start − 30 min goes to the DLQ.
    journey.push(hit(s, "late", "Z", url, 10 * MIN, "z1"));
    journey.push(hit(s, "late", "Z", url, 25 * MIN, "z2"));
    journey.push(hit(s, "late", "Z", url, 100 * MIN, "z3"));
    let sending = std::time::Instant::now();
    for h in &journey {
        let (status, body) = p.post("/api/sync", h).await?;
        assert_eq!(status, 200, "{body}");
    }
    // Event time = receive time − (st − ts): the hits' scripted gaps plus how long sending them took.
    let send_spread = sending.elapsed().as_secs() as i64 + 1;

    let expected_sessions = 1 + 2 + 2 + 1;
    let sessions: Vec<Session> = wait_for(
        "the journeys' sessions",
        Duration::from_secs(90),
        || async {
            let rows: Vec<Session> = env
                .ch()
                .query("SELECT ?fields FROM sessions FINAL ORDER BY visitor, started_at")
                .fetch_all()
                .await
                .map_err(|e| e.to_string())?;
            let events: i64 = rows.iter().map(|r| r.events).sum();
            let late = env
                .count("SELECT count() FROM dead_letters FINAL WHERE reason = 'late_event'")
                .await
                .map_err(|e| e.to_string())?;
            if rows.len() == expected_sessions && events == 4 + 76 + 2 + 2 && late == 1 {
                Ok(rows)
            } else {
                Err(format!(
                    "{} sessions, {events} events, {late} late",
                    rows.len()
                ))
            }
        },
    )
    .await?;
    let of = |v: &str| {
        sessions
            .iter()
            .filter(|s| s.visitor == v)
            .collect::<Vec<_>>()
    };

    let tabs = of("tabs");
    assert_eq!(
        (tabs.len(), tabs[0].session_id.as_str(), tabs[0].events),
        (1, "T1", 4)
    );

    let long = of("long");
    assert_eq!(long.len(), 2);
    assert_eq!((long[0].session_id.as_str(), long[0].events), ("L", 72));
    let scripted = 71 * 20 * 60;
    assert!(
        (scripted..=scripted + send_spread).contains(&long[0].duration_sec),
        "the first session stops short of 24 hours: {} s, scripted {scripted} s (+ up to {send_spread} s of sending)",
        long[0].duration_sec
    );
    assert_ne!(
        long[1].session_id, "L",
        "the continuation gets a derived id"
    );
    assert_eq!(
        (long[1].client_session_id.as_str(), long[1].events),
        ("L", 4)
    );

    assert_eq!((of("ip-1").len(), of("ip-2").len()), (1, 1));

    let late = of("late");
    assert_eq!(late.len(), 1);
    assert_eq!(
        late[0].events, 2,
        "z1 and the in-window z2; z3 went to the DLQ"
    );
    assert!(
        (899..=901).contains(&late[0].duration_sec),
        "start moved back to z2: {}",
        late[0].duration_sec
    );

    drop(p);
    env.cleanup().await
}
