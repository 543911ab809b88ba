//! The one error type every operation returns. Each variant says what a user
//! can do about it; `exit_code` maps them onto the CLI's contract.

use crate::db::DbError;

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

    pub fn kind(&self) -> &'static str {
        match self {
            OpError::Invalid { .. } => "invalid",
            OpError::Duplicate { .. } => "duplicate",
            OpError::Denied(_) => "denied",
            OpError::NotFound { .. } => "not_found",
            OpError::Conflict(_) => "conflict",
            OpError::Auth => "auth",
            OpError::Db(_) => "database",
            OpError::Io(_) => "io",
            OpError::Secret(_) => "secret",
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
