//! The tables the sink writes, declared once: each table's name, row type and id column. From that list
//! the macro derives [`Table`], [`Row`] (one row of any table) and [`Rows`] (a batch of one table's rows),
//! so adding a table is one line here plus its row type in `rows`.

use crate::rows::{
    AuditRow, CallRow, CallflowRow, DeadLetterRow, EventRow, ProductRow, SessionRow,
};

macro_rules! tables {
    ($($variant:ident => $name:literal, $row:ty, $id:ident;)*) => {
        /// A table the sink writes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Table {
            $($variant),*
        }

        impl Table {
            /// Every table, in declaration order.
            pub const ALL: &'static [Table] = &[$(Table::$variant),*];

            pub const fn name(self) -> &'static str {
                match self {
                    $(Table::$variant => $name),*
                }
            }
        }

        /// One row of any table.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Row {
            $($variant($row)),*
        }

        impl Row {
            pub fn table(&self) -> Table {
                match self {
                    $(Row::$variant(_) => Table::$variant),*
                }
            }
        }

        /// Rows of one table.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Rows {
            $($variant(Vec<$row>)),*
        }

        impl Rows {
            /// No rows of `table`.
            pub fn empty(table: Table) -> Self {
                match table {
                    $(Table::$variant => Rows::$variant(Vec::new())),*
                }
            }

            pub fn table(&self) -> Table {
                match self {
                    $(Rows::$variant(_) => Table::$variant),*
                }
            }

            pub fn len(&self) -> usize {
                match self {
                    $(Rows::$variant(r) => r.len()),*
                }
            }

            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// A copy of rows `range`.
            pub fn slice(&self, range: std::ops::Range<usize>) -> Rows {
                match self {
                    $(Rows::$variant(r) => Rows::$variant(r[range].to_vec())),*
                }
            }

            /// Adds `row`; `false` (and the row is not added) when it belongs to another table.
            pub fn push(&mut self, row: Row) -> bool {
                match (self, row) {
                    $((Rows::$variant(v), Row::$variant(r)) => {
                        v.push(r);
                        true
                    })*
                    #[allow(unreachable_patterns)]
                    _ => false,
                }
            }

            /// The id column of every row (for logs and tests).
            pub fn ids(&self) -> Vec<&str> {
                match self {
                    $(Rows::$variant(r) => r.iter().map(|x| x.$id.as_str()).collect()),*
                }
            }
        }
    };
}

tables! {
    Sessions => "sessions", SessionRow, session_id;
    Events => "events", EventRow, event_id;
    DeadLetters => "dead_letters", DeadLetterRow, source_topic;
    CallflowEvents => "callflow_events", CallflowRow, event_id;
    ProductEvents => "product_events", ProductRow, event_id;
    Calls => "calls", CallRow, call_id;
    Audit => "audit_log", AuditRow, audit_id;
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsmantik_schemas::samples;

    #[test]
    fn rows_keep_their_table() {
        let row = || Row::Events(EventRow::from(samples::session_event()));
        let mut rows = Rows::empty(Table::Events);
        for _ in 0..5 {
            assert!(rows.push(row()));
        }
        assert_eq!(rows.slice(1..3).len(), 2);
        assert_eq!(rows.slice(0..0).table(), Table::Events);
        assert_eq!(rows.ids(), vec!["e1"; 5]);
        let mut sessions = Rows::empty(Table::Sessions);
        assert!(!sessions.push(row()), "an event row is not a session row");
        assert!(sessions.is_empty());
        assert_eq!(Table::ALL.len(), 7);
    }
}
