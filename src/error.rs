//! The one error type every operation returns. Each variant says what a user
//! can do about it; `exit_code` maps them onto the CLI's contract.

use crate::db::DbError;

/// What kind of failure, as the front ends act on it: the TUI decides by it
/// (a conflict reloads the form, an auth failure counts toward the login
/// wait) and the CLI's JSON names it. An enum, not a string, so a typo in a
/// comparison is a compile error instead of a branch that never runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Invalid,
    Duplicate,
    Denied,
    NotFound,
    Conflict,
    Auth,
    Database,
    Io,
    Secret,
    /// Too many failed logins in this session: the wait is running.
    Throttled,
    /// The password was right; a second-factor code must follow.
    CodeRequired,
    /// A bug or a broken invariant in this program, not the user's input.
    Internal,
}

impl ErrorKind {
    /// The name scripts see in `--json` errors (stable: part of the CLI's
    /// contract).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "invalid",
            ErrorKind::Duplicate => "duplicate",
            ErrorKind::Denied => "denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Auth => "auth",
            ErrorKind::Database => "database",
            ErrorKind::Io => "io",
            ErrorKind::Secret => "secret",
            ErrorKind::Throttled => "throttled",
            ErrorKind::CodeRequired => "code_required",
            ErrorKind::Internal => "internal",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// Bad input: names the field and the rule it broke.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{field}: {message}")]
    Duplicate { field: String, message: String },
    #[error("permission denied: {0}")]
    Denied(String),
    /// `field`: the input that named the missing row (an alias domain's
    /// target), so a form can show the message beside it.
    #[error("{kind} {key:?} not found")]
    NotFound {
        kind: &'static str,
        key: String,
        field: Option<String>,
    },
    /// The row changed since the caller read it (optimistic locking).
    #[error("conflict: {0}")]
    Conflict(String),
    /// One message for unknown user, wrong password and disabled account, so a
    /// login prompt never tells which names exist.
    #[error("login failed: unknown user, wrong password, or account not active")]
    Auth,
    /// The password was right and the user has a second factor: log in
    /// again with the one-time code (`ops::auth::login_code`).
    #[error(
        "a one-time code is required: the code from your authenticator app, or a recovery code"
    )]
    CodeRequired,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Io(String),
    /// The secrets key is missing or unsafe, or a stored secret does not
    /// decrypt (wrong key, tampered or moved ciphertext).
    #[error("{0}")]
    Secret(String),
}

impl OpError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        OpError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn duplicate(field: impl Into<String>, message: impl Into<String>) -> Self {
        OpError::Duplicate {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(kind: &'static str, key: impl Into<String>) -> Self {
        OpError::NotFound {
            kind,
            key: key.into(),
            field: None,
        }
    }

    /// Not found, where `field` is the input that named it.
    pub fn not_found_in(
        field: impl Into<String>,
        kind: &'static str,
        key: impl Into<String>,
    ) -> Self {
        OpError::NotFound {
            kind,
            key: key.into(),
            field: Some(field.into()),
        }
    }

    /// A refusal is the user's request being turned down (as opposed to the
    /// database failing); refusals are audited and change nothing else.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            OpError::Invalid { .. }
                | OpError::Duplicate { .. }
                | OpError::Denied(_)
                | OpError::NotFound { .. }
                | OpError::Conflict(_)
        )
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            OpError::Invalid { .. } => ErrorKind::Invalid,
            OpError::Duplicate { .. } => ErrorKind::Duplicate,
            OpError::Denied(_) => ErrorKind::Denied,
            OpError::NotFound { .. } => ErrorKind::NotFound,
            OpError::Conflict(_) => ErrorKind::Conflict,
            OpError::Auth => ErrorKind::Auth,
            OpError::CodeRequired => ErrorKind::CodeRequired,
            OpError::Db(_) => ErrorKind::Database,
            OpError::Io(_) => ErrorKind::Io,
            OpError::Secret(_) => ErrorKind::Secret,
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            OpError::Invalid { field, .. } | OpError::Duplicate { field, .. } => Some(field),
            OpError::NotFound { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

impl From<diesel::result::Error> for OpError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            // The pre-checks in ops name the field; this catches the race where
            // another session inserted the same key between check and insert.
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => OpError::Duplicate {
                field: info.column_name().unwrap_or("name").to_string(),
                message: format!("already exists ({})", info.message()),
            },
            other => OpError::Db(DbError::Query(other)),
        }
    }
}

impl From<crate::secrets::SecretError> for OpError {
    fn from(e: crate::secrets::SecretError) -> Self {
        OpError::Secret(e.to_string())
    }
}

pub type OpResult<T> = Result<T, OpError>;

#[cfg(test)]
mod kind_tests {
    use super::ErrorKind;

    /// Scripts match on these names in `--json` errors: renaming one breaks
    /// them, so the list is pinned here.
    #[test]
    fn the_json_names_of_error_kinds_are_stable() {
        let all = [
            (ErrorKind::Invalid, "invalid"),
            (ErrorKind::Duplicate, "duplicate"),
            (ErrorKind::Denied, "denied"),
            (ErrorKind::NotFound, "not_found"),
            (ErrorKind::Conflict, "conflict"),
            (ErrorKind::Auth, "auth"),
            (ErrorKind::Database, "database"),
            (ErrorKind::Io, "io"),
            (ErrorKind::Secret, "secret"),
            (ErrorKind::Throttled, "throttled"),
            (ErrorKind::CodeRequired, "code_required"),
            (ErrorKind::Internal, "internal"),
        ];
        for (k, name) in all {
            assert_eq!(k.as_str(), name);
        }
    }
}
