//! What to do when an insert fails: a data error (ClickHouse refused the rows) is isolated by bisecting and
//! the offending rows go to the DLQ; anything else is a transport error, retried with backoff.

/// Why an insert failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriteError {
    /// ClickHouse refused the data itself: retrying the same rows cannot succeed.
    #[error("data rejected: {0}")]
    Data(String),
    /// ClickHouse unreachable, overloaded or misconfigured: retry later.
    #[error("transport: {0}")]
    Transport(String),
}

impl WriteError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, WriteError::Transport(_))
    }
}

/// ClickHouse error codes that mean "this data is bad" (parse and type errors, values out of range).
const DATA_ERROR_CODES: &[u32] = &[
    6,   // CANNOT_PARSE_TEXT
    26,  // CANNOT_PARSE_QUOTED_STRING
    27,  // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    33,  // CANNOT_READ_ALL_DATA
    38,  // CANNOT_PARSE_DATE
    41,  // CANNOT_PARSE_DATETIME
    53,  // TYPE_MISMATCH
    69,  // ARGUMENT_OUT_OF_BOUND
    70,  // CANNOT_CONVERT_TYPE
    72,  // CANNOT_PARSE_NUMBER
    117, // INCORRECT_DATA
    131, // TOO_LARGE_STRING_SIZE
    321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
];

/// The `Code: N` of a ClickHouse error message.
pub fn error_code(message: &str) -> Option<u32> {
    let rest = &message[message.find("Code: ")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Classifies a server message.
pub fn classify(message: String) -> WriteError {
    match error_code(&message) {
        Some(code) if DATA_ERROR_CODES.contains(&code) => WriteError::Data(message),
        _ => WriteError::Transport(message),
    }
}

impl From<clickhouse::error::Error> for WriteError {
    fn from(e: clickhouse::error::Error) -> Self {
        use clickhouse::error::Error as E;
        match e {
            E::BadResponse(m) => classify(m),
            // Our own row could not be serialized: bad data, not a transport problem.
            E::Custom(m) => WriteError::Data(m),
            E::SequenceMustHaveLength | E::InvalidUtf8Encoding(_) => {
                WriteError::Data(e.to_string())
            }
            other => WriteError::Transport(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_codes_are_data_errors_and_the_rest_transport() {
        let data = "Code: 117, e.displayText() = DB::Exception: Incorrect data";
        assert!(matches!(classify(data.into()), WriteError::Data(_)));
        let missing = "Code: 60, e.displayText() = DB::Exception: Table x doesn't exist";
        assert!(classify(missing.into()).is_retryable());
        assert!(classify("connection reset".into()).is_retryable());
        assert_eq!(
            error_code("bad response: Code: 27. DB::Exception"),
            Some(27)
        );
    }
}
