//! The call-matcher as an operator: visitors' visits and held clicks as keyed state (`v:<site>:<visitor>`,
//! `c:<click id>`), hits driving the watermark, clicks released by an event-time timer at their own event
//! time or a wall-time timer after the wait (see the crate docs).

use opsmantik_runtime::kafka::Incoming;
use opsmantik_runtime::operator::{Context, Decoded, Operator, TimerKind};
use opsmantik_schemas::dlq::Reason;
use opsmantik_schemas::{decode, encode, CallIntent, Topic, TrackingHit};
use opsmantik_sessions::{place, Visit};

use crate::matcher::call_record;

/// One input of the call-matcher.
#[derive(Debug)]
pub enum Input {
    Hit(Box<TrackingHit>),
    Click(Box<CallIntent>),
}

/// What the call-matcher keeps per key.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Held {
    Visitor(Box<Visit>),
    Click(Box<CallIntent>),
}

/// Clicks + hits → call records.
#[derive(Debug, Clone, Copy)]
pub struct MatchOperator {
    /// Longest a click is held for the hits input (wall-clock milliseconds).
    pub max_wait_ms: i64,
}

fn visitor_key(site: &str, visitor: &str) -> String {
    format!("v:{site}:{visitor}")
}

impl MatchOperator {
    fn follow(cx: &mut Context<'_, Held>, hit: &TrackingHit) {
        let key = visitor_key(&hit.site, &hit.visitor);
        let current = match cx.state.get_mut(&key) {
            Some(Held::Visitor(v)) => Some(v.as_mut()),
            _ => None,
        };
        // The outcome (event, state or late) matters to the sessionizer; here only the visit does.
        let (_, fresh) = place(current, hit);
        if let Some(v) = fresh {
            cx.state.insert(&key, Held::Visitor(Box::new(v)));
        }
        if let Some(Held::Visitor(v)) = cx.state.get(&key) {
            let at = v.next_deadline();
            cx.state.set_timer(&key, TimerKind::Event, at);
        }
    }

    fn hold(&self, cx: &mut Context<'_, Held>, click: CallIntent) {
        let key = format!("c:{}", click.event_id);
        if let Some(Held::Click(held)) = cx.state.get_mut(&key) {
            // The same click again (a retry, or its report on the other route): one call, with what
            // either report knew about it.
            held.signed |= click.signed;
            match (&mut held.context, &click.context) {
                (Some(mine), Some(theirs)) => mine.fill_from(theirs),
                (mine @ None, theirs) => mine.clone_from(theirs),
                (Some(_), None) => {}
            }
            return;
        }
        let (at, wait_until) = (click.event_time, cx.now_ms() + self.max_wait_ms);
        cx.state.insert(&key, Held::Click(Box::new(click)));
        cx.state.set_timer(&key, TimerKind::Event, at);
        cx.state.set_timer(&key, TimerKind::Wall, wait_until);
    }

    fn release(cx: &mut Context<'_, Held>, click: &CallIntent) {
        let session = match cx.state.get(&visitor_key(&click.site, &click.visitor)) {
            Some(Held::Visitor(v)) => v.state(),
            _ => None,
        };
        let record = call_record(click, session);
        match encode(&record) {
            Ok(payload) => cx.emit(Topic::Calls, record.call_id.as_bytes(), payload),
            Err(e) => {
                tracing::error!(error = %e, call = %record.call_id, "call record does not encode")
            }
        }
    }
}

impl Operator for MatchOperator {
    type Input = Input;
    type State = Held;

    fn decode(&self, topic: Topic, record: &Incoming) -> Decoded<Input> {
        if topic == Topic::Tracking {
            // An undecodable hit is the sessionizer's to dead-letter; here it is only skipped.
            return Ok(decode(record.payload())
                .ok()
                .map(|h| Input::Hit(Box::new(h))));
        }
        decode(record.payload())
            .map(|c| Some(Input::Click(Box::new(c))))
            .map_err(|e| (Reason::from(&e), e.to_string()))
    }

    fn event_time(&self, input: &Input) -> Option<i64> {
        match input {
            Input::Hit(h) => Some(h.event_time),
            Input::Click(_) => None,
        }
    }

    fn on_record(&mut self, cx: &mut Context<'_, Held>, input: Input) {
        match input {
            Input::Hit(hit) => Self::follow(cx, &hit),
            Input::Click(click) => self.hold(cx, *click),
        }
    }

    fn on_timer(&mut self, cx: &mut Context<'_, Held>, key: &str, _kind: TimerKind, at: i64) {
        // A visit's deadline: its session closes (and shrinks), or the visitor is forgotten.
        if let Some(Held::Visitor(v)) = cx.state.get_mut(key) {
            match v.expire(at) {
                Some(next) => cx.state.set_timer(key, TimerKind::Event, next),
                None => drop(cx.state.remove(key)),
            }
            return;
        }
        if let Some(Held::Click(click)) = cx.state.remove(key) {
            Self::release(cx, &click);
        }
    }
}

#[cfg(test)]
#[path = "operator_tests.rs"]
mod tests;
