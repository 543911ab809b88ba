//! Tokens for scripts: the row type and its reads. Only the token's
//! SHA-256 is stored, and it is never serialized.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{api_tokens, users};
use crate::db::AnyConnection;

#[derive(Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: i32,
    pub user_id: i32,
    pub name: String,
    #[serde(skip)]
    pub token_hash: String,
    pub role: String,
    pub domain_ids: Option<String>,
    pub allowed_from: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiToken")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("domain_ids", &self.domain_ids)
            .field("allowed_from", &self.allowed_from)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

impl ApiToken {
    /// The domain ids a scoped token is limited to; None: not scoped.
    pub fn scope(&self) -> Option<Vec<i32>> {
        self.domain_ids.as_deref().map(|s| {
            s.split(',')
                .filter_map(|id| id.trim().parse().ok())
                .collect()
        })
    }
}

/// One indexed probe: the hash is unique.
pub fn by_hash(conn: &mut AnyConnection, hash: &str) -> QueryResult<Option<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::token_hash.eq(hash))
        .select(ApiToken::as_select())
        .first(conn)
        .optional()
}

pub fn by_id(conn: &mut AnyConnection, id: i32) -> QueryResult<Option<ApiToken>> {
    api_tokens::table
        .find(id)
        .select(ApiToken::as_select())
        .first(conn)
        .optional()
}

pub fn by_owner_and_name(
    conn: &mut AnyConnection,
    user_id: i32,
    name: &str,
) -> QueryResult<Option<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .filter(api_tokens::name.eq(name))
        .select(ApiToken::as_select())
        .first(conn)
        .optional()
}

/// Tokens with their owner's name, by owner then name; `owner` None: all.
pub fn list(conn: &mut AnyConnection, owner: Option<i32>) -> QueryResult<Vec<(ApiToken, String)>> {
    let mut q = api_tokens::table
        .inner_join(users::table)
        .select((ApiToken::as_select(), users::username))
        .order((users::username.asc(), api_tokens::name.asc()))
        .into_boxed();
    if let Some(id) = owner {
        q = q.filter(api_tokens::user_id.eq(id));
    }
    q.load(conn)
}
